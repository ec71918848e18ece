"""Mark-to-market equity: closed P&L plus every open position valued at each 1-minute close.

At each minute close ``t`` from the window start to the last exit (or the window end, whichever is
later): equity = capital + net P&L of trades closed at or before ``t`` + for each position open at
``t`` (entry < t < exit) quantity x (close of the 1m candle ending at ``t`` - entry) x direction.
A position's fees and funding are booked when it closes, like the realized equity.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from engines.backtest.portfolio import Trade
from engines.execution import MINUTE_NS, MinuteBars


def mark_to_market(trades: Sequence[Trade], bars: Mapping[str, MinuteBars], capital: float, start: pd.Timestamp,
                   end: pd.Timestamp) -> pd.Series:
    """Equity at every minute close (UTC index), see module doc."""
    last = max([end, *(t.exit_time for t in trades)])
    grid = np.arange(start.value, last.value + 1, MINUTE_NS, dtype=np.int64)
    exits = np.array([t.exit_time.value for t in trades], dtype=np.int64)
    order = np.argsort(exits, kind="stable")
    realized_steps = np.concatenate([[0.0], np.cumsum(np.array([t.pnl for t in trades])[order])])
    equity = capital + realized_steps[np.searchsorted(exits[order], grid, side="right")]
    for t in trades:
        lo = np.searchsorted(grid, t.entry_time.value, side="right")
        hi = np.searchsorted(grid, t.exit_time.value, side="left")
        if hi <= lo:
            continue
        pair_bars = bars[t.pair]
        candle = np.searchsorted(pair_bars.times, grid[lo:hi] - MINUTE_NS, side="right") - 1
        direction = 1.0 if t.side == "LONG" else -1.0
        equity[lo:hi] += (t.size / t.entry) * (pair_bars.close[candle] - t.entry) * direction
    return pd.Series(equity, index=pd.to_datetime(grid, utc=True), name="equity")


def max_drawdown(equity: pd.Series) -> tuple[float, float]:
    """Largest fall from a running peak: (dollars, % of that peak)."""
    values = equity.to_numpy(dtype=float)
    peaks = np.maximum.accumulate(values)
    return float(np.max(peaks - values)), float(np.max((peaks - values) / peaks) * 100.0)
