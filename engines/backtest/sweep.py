"""Parameter sweeps that do not fool us: choose on in-sample time, report on out-of-sample time.

The window is split in time (default 70 % in-sample, then 30 % out-of-sample). Every grid
combination is simulated on each part separately (fresh $200k each), the best combination is
chosen on in-sample only, and its out-of-sample result is shown next to the base parameters'.

Objective: the highest in-sample profit factor among combinations with at least ``min_trades``
in-sample trades (no losing trade counts as infinitely high); ties go to the higher net P&L.

Walk-forward (``folds > 0``): the window is cut into a training span followed by ``folds`` test
spans of equal length L, with training length T = L x split / (1 - split) and T + folds x L =
window; fold i trains on [start + iL, start + iL + T) and tests on the next L.

Beside each out-of-sample result: the random-entry baseline (same count, sides, pairs and TP/SL
distances as that combination's out-of-sample signals, seeded), through the same rules. Each
combination's out-of-sample net P&L is also placed among ``runs`` (default 100) random-entry runs
of its own out-of-sample trades (:func:`engines.backtest.baseline.random_runs`): its percentile. With
independent combinations and no edge, 5 % of them would beat 95 % of their random runs by luck
alone; the report says how many did and how many luck alone would give.

Signals are cached per engine: MICRO signals (and their exits) depend on the non-MACRO parameters,
MACRO signals, exits and decisions only on ``trend_lookback`` and the ``macro_*`` parameters.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel

from engines.backtest.baseline import percentile_vs_random, random_signals
from engines.backtest.candidates import Candidate, candidates_of_sets, pair_candidates
from engines.backtest.edge import ALPHA
from engines.backtest.history import History
from engines.backtest.portfolio import Costs, simulate
from engines.backtest.run import BASELINE_SEED, Prepared, prepare, quick_run, window_candidates
from engines.backtest.signals import micro_signals_of_sets, pair_signals
from engines.backtest.stats import drawdown, profit_factor, win_rate
from engines.errors import InvalidInput
from engines.models import Signal
from engines.params import DEFAULT_PARAMS, StrategyParams
from engines.risk import MacroView

Executor = Literal["local", "ray"]
DEFAULT_GRID: dict[str, tuple[Any, ...]] = {
    "tolerance": (0.2, 0.25, 0.3),
    "volume_multiplier": (0.3, 0.4, 0.5),
    "sr_lookback": (100, 125, 150),
    "trend_lookback": (150, 200, 250),
}
SWEEP_RUNS = 100  # random-entry runs per combination: a 1 % resolution is enough to tell who beats 95 %
OBJECTIVE = "highest in-sample profit factor with >= {min_trades} in-sample trades; ties: higher net P&L"


def macro_keys() -> tuple[str, ...]:
    return ("trend_lookback", *(k for k in StrategyParams.model_fields if k.startswith("macro_")))


@dataclass(frozen=True)
class SweepRequest:
    history: History
    start: pd.Timestamp
    end: pd.Timestamp
    grid: dict[str, tuple[Any, ...]] = field(default_factory=lambda: dict(DEFAULT_GRID))
    base: StrategyParams = DEFAULT_PARAMS
    split: float = 0.7
    folds: int = 0
    min_trades: int = 10
    costs: Costs = field(default_factory=Costs)
    executor: Executor = "local"
    runs: int = SWEEP_RUNS
    seed: int = BASELINE_SEED
    address: str | None = None  # the Ray cluster to run on (executor "ray"); None: RAY_ADDRESS or a local one

    def __post_init__(self) -> None:
        self.history.check_window(self.start, self.end)
        if not 0.1 <= self.split <= 0.9:
            raise InvalidInput(f"--split: a fraction from 0.1 to 0.9, got {self.split}")
        if self.folds < 0 or self.folds > 20:
            raise InvalidInput(f"--walk-forward: a whole number of folds from 1 to 20, got {self.folds}")
        if not 1 <= self.runs <= 10_000:
            raise InvalidInput(f"--runs: a whole number from 1 to 10000, got {self.runs}")
        if self.executor not in ("local", "ray"):
            raise InvalidInput(f"--executor: local or ray, got {self.executor!r}")
        if self.address is not None and self.executor != "ray":
            raise InvalidInput("--address: only with --executor ray")
        for key, values in self.grid.items():
            if not values:
                raise InvalidInput(f"--grid {key}: needs at least one value")
            for value in values:
                self.base.with_changes(**{key: value})

    def combinations(self) -> list[dict[str, Any]]:
        keys = list(self.grid)
        return [dict(zip(keys, values)) for values in itertools.product(*(self.grid[k] for k in keys))]

    def split_time(self) -> pd.Timestamp:
        return (self.start + (self.end - self.start) * self.split).floor("15min")

    def fold_windows(self) -> list[tuple[tuple[pd.Timestamp, pd.Timestamp], tuple[pd.Timestamp, pd.Timestamp]]]:
        if not self.folds:
            return []
        total = self.end - self.start
        test = total / (self.folds + self.split / (1 - self.split))
        train = total - self.folds * test
        out = []
        for i in range(self.folds):
            begin, cut = (self.start + i * test).floor("min"), (self.start + train + i * test).floor("min")
            finish = self.end if i == self.folds - 1 else (self.start + train + (i + 1) * test).floor("min")
            out.append(((begin, cut), (cut, finish)))
        return out


class WindowStats(BaseModel):
    """One combination on one time span (fresh capital); drawdown on closed-trade equity."""

    start: str
    end: str
    trades: int
    win_rate: float
    profit_factor: float | None
    net_pnl: float
    avg_daily_pnl: float
    max_drawdown_pct: float


class ComboResult(BaseModel):
    changes: dict[str, Any]
    in_sample: WindowStats
    out_of_sample: WindowStats
    oos_percentile: float | None = None  # among random-entry runs of its out-of-sample trades; None without any
    folds: list[tuple[WindowStats, WindowStats]] = []


class FoldResult(BaseModel):
    train: tuple[str, str]
    test: tuple[str, str]
    best: dict[str, Any] | None
    best_test: WindowStats | None
    base_test: WindowStats


class SweepReport(BaseModel):
    objective: str
    split: float
    split_time: str
    grid: dict[str, list[Any]]
    combos: list[ComboResult]
    best: ComboResult | None
    base: ComboResult
    walk_forward: list[FoldResult]
    walk_forward_out_of_sample: dict[str, Any] | None
    baseline_out_of_sample: dict[str, WindowStats]
    random_runs: int = SWEEP_RUNS
    beat_95: int = 0  # combinations whose out-of-sample percentile is at least 95
    expected_by_luck: float = 0.0  # 5 % of the combinations with out-of-sample trades

    def to_json_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    def to_text(self) -> str:
        from engines.backtest.text import render_sweep

        return render_sweep(self)


class SignalCache:
    """Signals, resolved candidates and MACRO decisions of a window, per engine-relevant parameters."""

    def __init__(self, history: History, start: pd.Timestamp, end: pd.Timestamp) -> None:
        self.history, self.start, self.end = history, start, end
        self._parts: dict[tuple, Prepared] = {}
        self.percentiles: dict[tuple, float] = {}  # out-of-sample percentile by trades (combinations often share them)

    def prepared(self, params: StrategyParams) -> Prepared:
        """Everything ``prepare`` would return for ``params``, reusing each engine's part when it can."""
        micro, macro = self._part(params, "micro"), self._part(params, "macro")
        signals = {pair: sorted(micro.signals[pair] + macro.signals[pair], key=lambda s: (s.timestamp, s.type))
                   for pair in micro.signals}
        return Prepared(signals, micro.candidates + macro.candidates, macro.views,
                        micro.no_entry_candle + macro.no_entry_candle, macro.funding_sources, macro.view_index)

    def get(self, params: StrategyParams) -> tuple[dict[str, list[Signal]], list[MacroView]]:
        prepared = self.prepared(params)
        return prepared.signals, prepared.views

    def warm(self, params_list: list[StrategyParams], progress: Callable[[str], None] | None = None) -> None:
        """Compute the MICRO part of every parameter set of ``params_list`` not cached yet, pair by pair.

        Pair by pair, all parameter sets in turn (:func:`engines.backtest.signals.micro_signals_of_sets`): the
        engine's tagged-level cache (a few entries per candle series) then still holds a pair's level scan when
        the next set with the same level parameters asks for it; set by set, 100 pairs later, it would long
        have been evicted and the scan redone.
        """
        todo: dict[tuple, StrategyParams] = {}
        for params in params_list:
            todo.setdefault(self._key(params, "micro"), params)
        todo = {key: params for key, params in todo.items() if key not in self._parts}
        if not todo:
            return
        sets = list(todo.values())
        signals: list[dict[str, list[Signal]]] = [{} for _ in sets]
        candidates: list[list[Candidate]] = [[] for _ in sets]
        dropped = [0] * len(sets)
        for n, pair in enumerate(self.history.pairs, 1):
            found = micro_signals_of_sets(pair, sets, self.start, self.end)
            resolved = candidates_of_sets(pair, found, sets, pair.funding_schedule)
            for k, (pair_found, (pair_resolved, missing)) in enumerate(zip(found, resolved)):
                signals[k][pair.pair] = pair_found
                candidates[k] += pair_resolved
                dropped[k] += missing
            if progress:
                progress(f"{pair.pair}: MICRO signals of {len(sets)} parameter sets ({n}/{len(self.history.pairs)} pairs)")
        sources = {pair.pair: pair.funding_schedule.source for pair in self.history.pairs}
        for k, key in enumerate(todo):
            self._parts[key] = Prepared(signals[k], candidates[k], [], dropped[k], sources)

    @staticmethod
    def _key(params: StrategyParams, engine: str) -> tuple:
        """What ``engine``'s part depends on: the MACRO parameters for MACRO, all the others for MICRO."""
        keys = macro_keys()
        return (engine, *((k, v) for k, v in params.model_dump().items() if (k in keys) == (engine == "macro")))

    def _part(self, params: StrategyParams, engine: str) -> Prepared:
        key = self._key(params, engine)
        if key not in self._parts:
            signals = {p.pair: pair_signals(p, params, self.start, self.end, engine) for p in self.history.pairs}
            views = None if engine == "macro" else []
            self._parts[key] = prepare(self.history, params, self.start, self.end, engine, signals=signals, views=views)
        return self._parts[key]


def window_stats(prepared: Prepared, params: StrategyParams, start: pd.Timestamp, end: pd.Timestamp,
                 costs: Costs) -> WindowStats:
    return trade_stats(quick_run(prepared, params, start, end, costs).trades, start, end, costs)


def trade_stats(trades, start: pd.Timestamp, end: pd.Timestamp, costs: Costs) -> WindowStats:
    pnls = [t.pnl for t in trades]
    days = (end - start) / pd.Timedelta(days=1)
    return WindowStats(start=start.isoformat(), end=end.isoformat(), trades=len(trades), win_rate=win_rate(pnls),
                       profit_factor=profit_factor(pnls), net_pnl=sum(pnls), avg_daily_pnl=sum(pnls) / days,
                       max_drawdown_pct=drawdown(pnls, costs.capital)[1])


def baseline_stats(request: SweepRequest, changes: dict[str, Any], cache: SignalCache,
                   seed: int = BASELINE_SEED) -> WindowStats:
    """Random-entry twins of a combination's out-of-sample signals, through the same rules."""
    params = request.base.with_changes(**changes)
    prepared = cache.prepared(params)
    signals = prepared.signals
    cut, end = request.split_time(), request.end
    rng = np.random.default_rng(seed)
    candidates = []
    for pair in request.history.pairs:
        inside = [s for s in signals[pair.pair] if cut <= pd.Timestamp(s.timestamp) < end]
        twins = sorted(random_signals(pair, inside, cut, end, rng), key=lambda s: s.timestamp)
        candidates += pair_candidates(pair, twins, params, pair.funding_schedule)[0]
    trades = simulate(window_candidates(candidates, cut, end), prepared.view_index, params, request.costs).trades
    return trade_stats(trades, cut, end, request.costs)


def evaluate_combo(request: SweepRequest, changes: dict[str, Any], cache: SignalCache) -> ComboResult:
    params = request.base.with_changes(**changes)
    prepared = cache.prepared(params)
    cut = request.split_time()
    folds = [(window_stats(prepared, params, *train, request.costs), window_stats(prepared, params, *test, request.costs))
             for train, test in request.fold_windows()]
    oos = quick_run(prepared, params, cut, request.end, request.costs).trades
    return ComboResult(changes=changes, in_sample=window_stats(prepared, params, request.start, cut, request.costs),
                       out_of_sample=trade_stats(oos, cut, request.end, request.costs), folds=folds,
                       oos_percentile=oos_percentile(request, params, oos, cache.percentiles))


def evaluate_combos(request: SweepRequest, combos: list[dict[str, Any]], cache: SignalCache,
                    progress: Callable[[str], None] | None = None) -> list[ComboResult]:
    """:func:`evaluate_combo` of each of ``combos``, in order, their signals computed first (see ``SignalCache.warm``)."""
    cache.warm([request.base.with_changes(**changes) for changes in combos], progress)
    results = []
    for n, changes in enumerate(combos, 1):
        results.append(evaluate_combo(request, changes, cache))
        if progress:
            progress(f"combination {n}/{len(combos)}: {changes}")
    return results


def oos_percentile(request: SweepRequest, params: StrategyParams, trades, known: dict[tuple, float]) -> float | None:
    """Where the out-of-sample net P&L sits among ``request.runs`` random-entry runs of the same trades.

    ``known``: percentiles already computed, by everything the random runs depend on (the same trades
    and time stops give the same runs, so they are computed once)."""
    if not trades:
        return None
    key = (params.time_stop, params.macro_time_stop,
           *((t.pair, t.engine, t.side, t.signal_time.value, t.tp, t.sl, t.size, t.pnl) for t in trades))
    if key not in known:
        known[key] = percentile_vs_random(request.history, list(trades), params, request.split_time(), request.end,
                                          request.costs, runs=request.runs, seed=request.seed)
    return known[key]


def score(stats: WindowStats, min_trades: int) -> tuple[float, float] | None:
    if stats.trades < min_trades:
        return None
    return (math.inf if stats.profit_factor is None else stats.profit_factor), stats.net_pnl


def choose(results: list[ComboResult], pick: Callable[[ComboResult], WindowStats], min_trades: int) -> ComboResult | None:
    scored = [(score(pick(r), min_trades), i) for i, r in enumerate(results)]
    eligible = [(s, i) for s, i in scored if s is not None]
    return results[max(eligible)[1]] if eligible else None


def run_sweep(request: SweepRequest, progress: Callable[[str], None] | None = None) -> SweepReport:
    combos = request.combinations()
    cache = SignalCache(request.history, request.start, request.end)
    if request.executor == "ray":
        from engines.backtest.ray_executor import evaluate_all

        results = evaluate_all(request, combos)
    else:
        cache.warm([request.base.with_changes(**changes) for changes in [*combos, {}]], progress)  # base too
        results = evaluate_combos(request, combos, cache, progress)
    base = evaluate_combo(request, {}, cache)
    folds = walk_forward(request, results, base)
    best = choose(results, lambda r: r.in_sample, request.min_trades)
    baselines = {"base": baseline_stats(request, {}, cache)}
    if best is not None:
        baselines["best"] = baseline_stats(request, best.changes, cache)
    return SweepReport(
        objective=OBJECTIVE.format(min_trades=request.min_trades), split=request.split,
        split_time=request.split_time().isoformat(), grid={k: list(v) for k, v in request.grid.items()},
        combos=results, best=best, base=base, walk_forward=folds, walk_forward_out_of_sample=pooled(folds),
        baseline_out_of_sample=baselines, random_runs=request.runs,
        beat_95=sum(1 for c in results if c.oos_percentile is not None and c.oos_percentile >= 100 * (1 - ALPHA)),
        expected_by_luck=ALPHA * sum(1 for c in results if c.oos_percentile is not None))


def walk_forward(request: SweepRequest, results: list[ComboResult], base: ComboResult) -> list[FoldResult]:
    out = []
    for i, (train, test) in enumerate(request.fold_windows()):
        best = choose(results, lambda r: r.folds[i][0], request.min_trades)
        out.append(FoldResult(train=(train[0].isoformat(), train[1].isoformat()),
                              test=(test[0].isoformat(), test[1].isoformat()),
                              best=best.changes if best else None, best_test=best.folds[i][1] if best else None,
                              base_test=base.folds[i][1]))
    return out


def pooled(folds: list[FoldResult]) -> dict[str, Any] | None:
    """Walk-forward out-of-sample totals: chosen combinations vs base parameters."""
    if not folds:
        return None
    chosen = [f.best_test for f in folds if f.best_test is not None]
    return {"chosen_trades": sum(s.trades for s in chosen), "chosen_net_pnl": sum(s.net_pnl for s in chosen),
            "base_trades": sum(f.base_test.trades for f in folds), "base_net_pnl": sum(f.base_test.net_pnl for f in folds),
            "folds_without_choice": len(folds) - len(chosen)}
