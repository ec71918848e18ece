"""Random-entry baselines: the strategy's own trades moved to random times, through the same fill rules.

:func:`random_runs` builds the distribution the edge verdict compares against. Each of ``runs``
seeded runs keeps every trade of the strategy's run - its pair, engine, side, size (notional),
TP/SL distances relative to the decision close and time stop - and moves it to a random decision
time on the same pair inside the window, on the engine's own grid (15m closes for SCALP, 1h
closes for MACRO). The twin fills at the open of the 1m candle opening at that time, TP/SL are
placed at the same relative distances from the previous 1m close (rounded to the tick), and its
exit, fees and funding follow exactly the rules of the strategy's trades. So every run has the
same number of trades per pair, engine and side as the strategy, with the same sizes: only the
timing differs. The risk book is not re-applied (it would change the count).

All runs of a pair are drawn at once (one seeded generator, pairs in history order) and resolved
in one numba pass over the pair's 1m arrays; there is no Python loop over runs.

:func:`random_signals` (one random twin per signal, fed to the risk book) is what sweeps use.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from engines.backtest.edge import percentile_of
from engines.backtest.history import History, PairHistory
from engines.backtest.portfolio import Costs, Trade
from engines.execution import MINUTE_NS, resolve_exits
from engines.jit import compile_kernels, kernel
from engines.models import Signal
from engines.params import StrategyParams
from engines.ticks import round_to_tick, tick_decimals

GRID = {"SCALP": pd.Timedelta(minutes=15), "MACRO": pd.Timedelta(hours=1)}
RUNS = 200
BASELINE_SEED = 7
BAND = (5.0, 95.0)
BAND_POINTS = 1500  # equity of the runs is taken at about this many times


@dataclass(frozen=True)
class RandomRuns:
    """``runs`` random-entry twins of a run's trades.

    ``pnl[r, k]``: net P&L of run ``r``'s twin of trade ``k`` (trades in the order given);
    ``band``: the ``BAND`` percentiles over runs of the mark-to-market equity (columns ``low``/``high``)
    at 1m closes from the window start to the latest exit of any run, every k minutes and at the
    last, so that there are about ``BAND_POINTS`` points (a chart is 1,280 px wide);
    ``max_drawdown_pct[r]``: largest fall of run ``r``'s equity from its peak at those same times.
    """

    seed: int
    pnl: np.ndarray
    max_drawdown_pct: np.ndarray | None  # None when asked without equity
    band: pd.DataFrame | None

    @property
    def runs(self) -> int:
        return self.pnl.shape[0]

    @property
    def net_pnl(self) -> np.ndarray:
        return self.pnl.sum(axis=1)

    @property
    def profit_factor(self) -> np.ndarray:
        """Per run; ``inf`` for a run without losing trades (as ``None`` in the strategy's stats)."""
        wins = np.where(self.pnl > 0, self.pnl, 0.0).sum(axis=1)
        losses = -np.where(self.pnl < 0, self.pnl, 0.0).sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(losses > 0, wins / np.where(losses > 0, losses, 1.0), np.inf)

    @property
    def win_rate(self) -> np.ndarray:
        return 100.0 * (self.pnl > 0).mean(axis=1) if self.pnl.shape[1] else np.zeros(self.runs)


@dataclass(frozen=True)
class _Twins:
    """Resolved twins of one pair, flattened run-major: arrays of length runs x trades of the pair."""

    pair: PairHistory
    column: np.ndarray  # index of the original trade
    run: np.ndarray
    entry_ns: np.ndarray
    exit_ns: np.ndarray
    entry_price: np.ndarray
    quantity_signed: np.ndarray  # quantity x direction
    pnl: np.ndarray


def random_runs(history: History, trades: Sequence[Trade], params: StrategyParams, start: pd.Timestamp,
                end: pd.Timestamp, costs: Costs = Costs(), *, runs: int = RUNS, seed: int = 7,
                equity: bool = True) -> RandomRuns:
    """The random-entry distribution of ``trades`` (see module doc); seeded, reproducible.

    ``equity=False`` skips the equity paths (no band, no drawdowns): P&L only, for sweeps."""
    compile_kernels()
    rng = np.random.default_rng(seed)
    pnl = np.zeros((runs, len(trades)))
    twins = [_pair_twins(pair, trades, params, start, end, costs, runs, rng) for pair in history.pairs]
    twins = [t for t in twins if t is not None]
    for t in twins:
        pnl[t.run, t.column] = t.pnl
    if not equity:
        return RandomRuns(seed, pnl, None, None)
    grid = _sampled_grid(start.value, max([end.value, *(int(t.exit_ns.max()) for t in twins)]))
    paths, drawdown = run_equity(grid, twins, runs, costs.capital)
    low, high = np.percentile(paths, BAND, axis=0)
    band = pd.DataFrame({"low": low, "high": high}, index=pd.to_datetime(grid, utc=True))
    return RandomRuns(seed, pnl, drawdown, band)


def _sampled_grid(first: int, last: int) -> np.ndarray:
    """Minute closes from ``first`` to ``last`` (ns), every k minutes and the last one: about ``BAND_POINTS``."""
    minutes = (last - first) // MINUTE_NS + 1
    step = max(1, -(-minutes // BAND_POINTS))
    times = np.arange(first, last + 1, step * MINUTE_NS, dtype=np.int64)
    return np.unique(np.append(times, first + (minutes - 1) * MINUTE_NS))


def run_equity(grid: np.ndarray, twins: list[_Twins], runs: int, capital: float) -> tuple[np.ndarray, np.ndarray]:
    """Mark-to-market equity of every run at every grid time (rules of :mod:`engines.backtest.equity`),
    and each run's largest drawdown in % of its peak."""
    realized = np.zeros((runs, len(grid) + 1))
    equity = np.zeros((runs, len(grid)))
    for t in twins:
        np.add.at(realized, (t.run, np.searchsorted(grid, t.exit_ns, side="left")), t.pnl)
        candle = np.searchsorted(t.pair.bars.times, grid - MINUTE_NS, side="right") - 1
        _mark_open(equity, grid, candle, t.pair.bars.close, t.run, t.entry_ns, t.exit_ns, t.entry_price,
                   t.quantity_signed)
    return equity, _book_and_drawdown(equity, realized, capital)


def _pair_twins(pair: PairHistory, trades: Sequence[Trade], params: StrategyParams, start: pd.Timestamp,
                end: pd.Timestamp, costs: Costs, runs: int, rng: np.random.Generator) -> _Twins | None:
    columns = np.array([k for k, t in enumerate(trades) if t.pair == pair.pair], dtype=np.int64)
    if not len(columns):
        return None
    mine = [trades[k] for k in columns]
    when = np.empty((runs, len(mine)), dtype=np.int64)
    for engine, step in GRID.items():  # one draw per engine of the pair: all runs at once
        which = np.array([t.engine == engine for t in mine])
        if which.any():
            grid = _decision_grid(pair, start, end, step)
            if not len(grid):  # no decision time with both candles: the twins keep the strategy's times
                grid = np.array([t.signal_time.value for t in mine if t.engine == engine], dtype=np.int64)
            when[:, which] = grid[rng.integers(len(grid), size=(runs, int(which.sum())))]
    return twins_at(pair, mine, when, params, costs, columns)


def twins_at(pair: PairHistory, trades: Sequence[Trade], when: np.ndarray, params: StrategyParams, costs: Costs,
             columns: np.ndarray | None = None) -> _Twins:
    """Twins of ``trades`` (all on ``pair``) decided at ``when[r, k]`` (ns, on the 1m grid), resolved in one pass.

    A twin decided at a trade's own signal time is that trade again (same fill, exit, fees, funding).
    """
    runs, bars = when.shape[0], pair.bars
    entry_ns = when.ravel()
    entry_index = np.searchsorted(bars.times, entry_ns)
    reference = bars.close[entry_index - 1]
    decision_close = bars.close[np.searchsorted(bars.times, [t.signal_time.value - MINUTE_NS for t in trades])]
    tp = _on_tick(reference * np.tile([t.tp for t in trades] / decision_close, runs), pair.tick)
    sl = _on_tick(reference * np.tile([t.sl for t in trades] / decision_close, runs), pair.tick)
    is_long = np.tile([t.side == "LONG" for t in trades], runs)
    hold = np.tile([params.time_stop if t.engine == "SCALP" else params.macro_time_stop for t in trades], runs)
    exits = resolve_exits(bars, entry_index, is_long, tp, sl, hold)
    size = np.tile([t.size for t in trades], runs)
    direction = np.where(is_long, 1.0, -1.0)
    quantity = size / exits.entry_price
    gross = quantity * (exits.exit_price - exits.entry_price) * direction
    fees = costs.fee_rate * (size + quantity * exits.exit_price)
    funding = direction * pair.funding_schedule.rate_sum(entry_ns, exits.exit_time) * size
    columns = np.arange(len(trades)) if columns is None else columns
    return _Twins(pair, np.tile(columns, runs), np.repeat(np.arange(runs), len(trades)), entry_ns, exits.exit_time,
                  exits.entry_price, quantity * direction, gross - fees - funding)


def _on_tick(prices: np.ndarray, tick: float) -> np.ndarray:
    """``round_to_tick`` over an array."""
    return np.round(np.round(prices / tick) * tick, tick_decimals(tick))


@kernel
def _book_and_drawdown(equity, realized, capital):  # pragma: no cover - numba
    """Turn open P&L into equity in place (capital + net P&L booked so far + open P&L); each run's max drawdown %."""
    runs, n = equity.shape
    drawdown = np.zeros(runs)
    for r in range(runs):
        booked, peak = capital, -np.inf
        for g in range(n):
            booked += realized[r, g]
            value = booked + equity[r, g]
            equity[r, g] = value
            peak = max(peak, value)
            drawdown[r] = max(drawdown[r], (peak - value) / peak)
    return drawdown * 100.0


@kernel
def _mark_open(equity, grid, candle, close, run, entry_ns, exit_ns, entry_price, quantity_signed):  # pragma: no cover
    """Add each twin's open P&L to its run's equity at every minute close strictly inside its hold."""
    for j in range(len(run)):
        lo = np.searchsorted(grid, entry_ns[j], side="right")
        hi = np.searchsorted(grid, exit_ns[j], side="left")
        for g in range(lo, hi):
            equity[run[j], g] += quantity_signed[j] * (close[candle[g]] - entry_price[j])


def random_signals(history: PairHistory, signals: list[Signal], start: pd.Timestamp, end: pd.Timestamp,
                   rng: np.random.Generator) -> list[Signal]:
    """One random-time twin of each of ``signals`` (all of the same pair as ``history``), for the risk book."""
    grids = {kind: _decision_grid(history, start, end, step) for kind, step in GRID.items()}
    bars = history.bars
    out = []
    for signal in signals:
        grid = grids[signal.type]
        if len(grid) == 0:
            continue
        when = int(grid[int(rng.integers(len(grid)))])
        reference = float(bars.close[np.searchsorted(bars.times, when - MINUTE_NS)])
        tp = round_to_tick(reference * signal.tp / signal.entry, history.tick)
        sl = round_to_tick(reference * signal.sl / signal.entry, history.tick)
        at = pd.Timestamp(when, tz="UTC").to_pydatetime()
        out.append(signal.model_copy(update={"timestamp": at, "entry": reference, "tp": tp, "sl": sl}))
    return out


def _decision_grid(history: PairHistory, start: pd.Timestamp, end: pd.Timestamp, step: pd.Timedelta) -> np.ndarray:
    """Decision times (ns) in ``[start, end]`` on ``step`` where the previous 1m candle and the entry candle exist."""
    return history.decision_times(start, end, step)


def percentile_vs_random(history: History, trades: Sequence[Trade], params: StrategyParams, start: pd.Timestamp,
                         end: pd.Timestamp, costs: Costs = Costs(), *, runs: int = RUNS,
                         seed: int = BASELINE_SEED) -> float | None:
    """Where the net P&L of ``trades`` ranks among ``runs`` random-entry runs of the window, in %.

    The runs are the edge verdict's (:func:`engines.backtest.baseline.random_runs`: every trade moved
    to a seeded random decision time of its pair and engine grid, same size, exits, fees and funding);
    ties count half. ``None`` without trades.
    """
    if not trades or runs <= 0:
        return None
    distribution = random_runs(history, trades, params, start, end, costs, runs=runs, seed=seed, equity=False)
    return percentile_of(sum(t.pnl for t in trades), distribution.net_pnl)
