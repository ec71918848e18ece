"""``run_backtest``: signals -> candidate exits -> portfolio pass -> report, as a library call.

    report = run_backtest(BacktestRequest(history, params, start, end), progress=print)
    report.to_text(); report.to_json_dict(); report.trades_csv()

Besides the main run, the report carries the same candidates without the MACRO conflict rule
(through the same rules) and ``baseline_runs`` seeded random-entry runs of the main run's trades
(:func:`engines.backtest.baseline.random_runs`), which the edge verdict compares against.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

from engines.backtest.baseline import BASELINE_SEED, RUNS, random_runs
from engines.backtest.candidates import Candidate, pair_candidates
from engines.backtest.funding import FundingSource
from engines.backtest.history import History
from engines.backtest.portfolio import Costs, MacroViews, PortfolioRun, simulate
from engines.backtest.report import BacktestReport, build_report
from engines.backtest.signals import EngineChoice, macro_views, pair_signals
from engines.errors import InvalidInput
from engines.models import Signal
from engines.params import DEFAULT_PARAMS, StrategyParams
from engines.risk import MacroView

log = logging.getLogger(__name__)
Progress = Callable[[str], None]


@dataclass(frozen=True)
class BacktestRequest:
    """What to backtest: the history, the window of decision times, parameters and costs."""

    history: History
    start: pd.Timestamp
    end: pd.Timestamp
    params: StrategyParams = DEFAULT_PARAMS
    engine: EngineChoice = "all"
    costs: Costs = field(default_factory=Costs)
    baseline_seed: int = BASELINE_SEED
    baseline_runs: int = RUNS

    def __post_init__(self) -> None:
        self.history.check_window(self.start, self.end)
        if not 1 <= self.baseline_runs <= 10_000:
            raise InvalidInput(f"random-entry runs: a whole number from 1 to 10000, got {self.baseline_runs}")
        if self.engine not in ("micro", "macro", "all"):
            raise InvalidInput(f"engine must be micro, macro or all, got {self.engine!r}")


@dataclass(frozen=True)
class Prepared:
    """Signals of a window turned into candidates (reusable across portfolio passes)."""

    signals: dict[str, list[Signal]]
    candidates: list[Candidate]
    views: list[MacroView]
    no_entry_candle: int
    funding_sources: dict[str, FundingSource]
    view_index: MacroViews = None  # type: ignore[assignment]  # ``views`` indexed for the passes; built unless given

    def __post_init__(self) -> None:
        if self.view_index is None:
            object.__setattr__(self, "view_index", MacroViews(self.views))


def prepare(history: History, params: StrategyParams, start: pd.Timestamp, end: pd.Timestamp,
            engine: EngineChoice = "all", progress: Progress | None = None,
            signals: dict[str, list[Signal]] | None = None, views: list[MacroView] | None = None) -> Prepared:
    """Run the engines over ``[start, end]`` (unless ``signals``/``views`` are given) and resolve every exit."""
    found: dict[str, list[Signal]] = {}
    candidates: list[Candidate] = []
    given_views, views = views, []
    sources: dict[str, FundingSource] = {}
    dropped = 0
    for n, pair in enumerate(history.pairs, 1):
        found[pair.pair] = signals[pair.pair] if signals is not None else pair_signals(pair, params, start, end, engine)
        schedule = pair.funding_schedule
        sources[pair.pair] = schedule.source
        resolved, missing = pair_candidates(pair, found[pair.pair], params, schedule)
        candidates += resolved
        dropped += missing
        if given_views is None:
            views += macro_views(pair, params, start, end)
        if progress:
            progress(f"{pair.pair}: {len(found[pair.pair])} signals ({n}/{len(history.pairs)} pairs)")
    return Prepared(found, candidates, views if given_views is None else given_views, dropped, sources)


def run_backtest(request: BacktestRequest, progress: Progress | None = None) -> BacktestReport:
    """The full backtest of ``request``: main run, run without the MACRO conflict rule, random-entry runs."""
    history, params, start, end = request.history, request.params, request.start, request.end
    prepared = prepare(history, params, start, end, request.engine, progress)
    if progress:
        progress(f"simulating {len(prepared.candidates)} candidate trades")
    main = simulate(prepared.candidates, prepared.view_index, params, request.costs)
    no_rule = simulate(prepared.candidates, prepared.view_index, params, request.costs, macro_conflict_rule=False)
    baseline = random_runs(history, main.trades, params, start, end, request.costs, runs=request.baseline_runs,
                           seed=request.baseline_seed)
    log.info("backtest %s..%s: %d trades", start, end, len(main.trades))
    return build_report(request, prepared, main, no_rule, baseline)


def window_candidates(candidates: list[Candidate], start: pd.Timestamp, end: pd.Timestamp) -> list[Candidate]:
    """Candidates decided inside ``[start, end)``."""
    first, stop = start.value, end.value  # ns: cheaper to compare than Timestamps, for every sweep pass
    return [c for c in candidates if first <= c.entry_time.value < stop]


def quick_run(prepared: Prepared, params: StrategyParams, start: pd.Timestamp, end: pd.Timestamp,
              costs: Costs = Costs()) -> PortfolioRun:
    """Only the main pass, on the candidates decided in ``[start, end)`` (for sweeps)."""
    return simulate(window_candidates(prepared.candidates, start, end), prepared.view_index, params, costs)


__all__ = ["BacktestRequest", "Prepared", "prepare", "run_backtest", "quick_run"]
