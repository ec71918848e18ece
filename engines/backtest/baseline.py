"""The random-entry baseline: the same signals moved to random times, through the same rules.

For every real signal we draw (seeded) a random decision time on the same pair inside the window,
on the engine's own grid (15m closes for SCALP, 1h closes for MACRO), keep its side and engine,
and place TP/SL at the same relative distances from that time's decision close. The result shows
what the rules, sizing and costs earn without the engines' timing.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from engines.backtest.history import PairHistory
from engines.execution import MINUTE_NS
from engines.models import Signal
from engines.ticks import round_to_tick

GRID = {"SCALP": pd.Timedelta(minutes=15), "MACRO": pd.Timedelta(hours=1)}


def random_signals(history: PairHistory, signals: list[Signal], start: pd.Timestamp, end: pd.Timestamp,
                   rng: np.random.Generator) -> list[Signal]:
    """One random-time twin of each of ``signals`` (all of the same pair as ``history``)."""
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
    grid = pd.date_range(start.ceil(step), end, freq=step).as_unit("ns").asi8
    times = history.bars.times
    return grid[np.isin(grid, times) & np.isin(grid - MINUTE_NS, times)]
