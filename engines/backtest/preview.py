"""What a parameter change would have done: old vs new parameters on the last two weeks.

    impact = tune_impact(history, old_params, new_params, end)   # end = the bot's "now"
    impact.rows  # old/new x (previous 7 days, last 7 days): trades, win %, PF, net P&L, percentile vs random

Both weeks are decided by the same code as the backtester: the signals of ``[end - 2w, end]`` come
from the sweep's :class:`~engines.backtest.sweep.SignalCache` (each engine's signals and exits are
computed once and shared between the old and new parameters when the change does not touch that
engine; indicators are memoised by :mod:`engines.indicators`), and each week is one portfolio pass
on fresh capital with the candidates decided inside it.

"Percentile vs random" is the week's net P&L ranked among the edge verdict's 200 seeded random-entry
runs of that week's trades (:func:`engines.backtest.baseline.random_runs`), in
:func:`percentile_vs_random`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import pandas as pd

from engines.backtest.baseline import RUNS as RANDOM_RUNS, percentile_vs_random
from engines.backtest.history import History
from engines.backtest.portfolio import Costs
from engines.backtest.run import BASELINE_SEED, Prepared, quick_run
from engines.backtest.stats import profit_factor, win_rate
from engines.backtest.sweep import SignalCache
from engines.errors import InvalidInput
from engines.params import StrategyParams

@dataclass(frozen=True)
class ImpactRow:
    """One parameter set on one week (fresh capital)."""

    params: str  # "old" or "new"
    window: str  # "previous" or "last"
    start: pd.Timestamp
    end: pd.Timestamp
    trades: int
    win_rate: float
    profit_factor: float | None
    net_pnl: float
    percentile: float | None  # % of random-entry runs with a lower net P&L (ties count half); None without trades

    def as_json(self) -> dict[str, object]:
        return {"params": self.params, "window": self.window, "start": self.start.isoformat(),
                "end": self.end.isoformat(), "trades": self.trades, "win_rate": round(self.win_rate, 2),
                "profit_factor": None if self.profit_factor is None else round(self.profit_factor, 3),
                "net_pnl": round(self.net_pnl, 2),
                "percentile": None if self.percentile is None else round(self.percentile, 1)}


@dataclass(frozen=True)
class TuneImpact:
    """Old and new parameters on the previous and the last week, and how many random runs ranked them."""

    rows: tuple[ImpactRow, ...]
    random_runs: int
    pairs: int

    def row(self, params: str, window: str) -> ImpactRow:
        return next(r for r in self.rows if r.params == params and r.window == window)

    def as_json(self) -> dict[str, object]:
        return {"random_runs": self.random_runs, "pairs": self.pairs, "rows": [r.as_json() for r in self.rows]}


def tune_impact(history: History, old: StrategyParams, new: StrategyParams, end: pd.Timestamp, *,
                days: float = 7, costs: Costs = Costs(), runs: int = RANDOM_RUNS, seed: int = BASELINE_SEED,
                cache: SignalCache | None = None, rows: dict[tuple, ImpactRow] | None = None) -> TuneImpact:
    """``old`` and ``new`` on ``[end - 2 days, end - days)`` and ``[end - days, end)``.

    ``cache``: a :class:`SignalCache` of exactly ``[end - 2 days, end]`` on ``history`` kept by the
    caller, so that a second preview reuses the signals of parameters seen before; ``rows``: a dict
    kept with it, in which each parameter set's rows are remembered.
    """
    if days <= 0:
        raise InvalidInput(f"days must be > 0, got {days}")
    span = pd.Timedelta(days=days)
    start, middle = end - 2 * span, end - span
    history.check_window(start, end)
    if cache is None:
        cache = SignalCache(history, start, end)
    elif cache.history is not history or (cache.start, cache.end) != (start, end):
        raise InvalidInput("the signal cache was built for another history or window")
    memo = {} if rows is None else rows
    out = []
    for label, params in (("old", old), ("new", new)):
        for window, (begin, finish) in (("previous", (start, middle)), ("last", (middle, end))):
            key = (params.model_dump_json(), begin, finish, costs, runs, seed)
            if key not in memo:
                memo[key] = _row(history, cache.prepared(params), params, label, window, begin, finish, costs,
                                 runs, seed)
            out.append(dataclasses.replace(memo[key], params=label))
    return TuneImpact(tuple(out), runs, len(history.pairs))


def _row(history: History, prepared: Prepared, params: StrategyParams, label: str, window: str,
         start: pd.Timestamp, end: pd.Timestamp, costs: Costs, runs: int, seed: int) -> ImpactRow:
    trades = quick_run(prepared, params, start, end, costs).trades
    pnls = [t.pnl for t in trades]
    percentile = percentile_vs_random(history, trades, params, start, end, costs, runs=runs, seed=seed)
    return ImpactRow(label, window, start, end, len(pnls), win_rate(pnls), profit_factor(pnls), sum(pnls),
                     percentile)


__all__ = ["ImpactRow", "TuneImpact", "percentile_vs_random", "tune_impact"]
