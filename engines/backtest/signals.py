"""The engines' decisions over history, through the same functions the live bot calls.

Signals are those of :func:`engines.scan.scan_signals` (identical to calling ``evaluate_scalp`` /
``evaluate_macro`` on each closed candle; both equalities are tested). The MACRO bias rule needs
MACRO's *decision* on every closed 1h candle, signal or not: :func:`macro_views`.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from engines.backtest.history import PairHistory
from engines.candles import CandleArrays, timeframe_delta
from engines.macro import macro_signals, scan_arrays
from engines.micro import scalp_signals
from engines.models import Signal
from engines.params import StrategyParams
from engines.risk import MacroView, side_of_slope
from engines.trend import trend_from_fit

EngineChoice = Literal["micro", "macro", "all"]
HOUR = timeframe_delta("1h")


def pair_signals(history: PairHistory, params: StrategyParams, start: pd.Timestamp, end: pd.Timestamp,
                 engine: EngineChoice = "all") -> list[Signal]:
    """Every signal of ``history``'s pair whose decision candle closes in ``[start, end]``.

    Equal to ``scan_signals(history.m1, pair, params, engine=engine, start=start, end=end, tick=history.tick,
    candles_15m=history.m15, candles_1h=history.h1)`` (tested), calling the same engine functions directly on
    the history's frames, which were validated once when the history was built (sweeps call this a lot).
    """
    signals: list[Signal] = []
    closes = history.close_times
    if engine in ("micro", "all"):
        m15 = history.m15.iloc[: _count_until(closes["15m"], end)]
        if len(m15):
            signals += scalp_signals(m15, history.pair, params, history.tick, _count_until(closes["15m"], start, True))
    if engine in ("macro", "all"):
        h1 = history.h1.iloc[: _count_until(closes["1h"], end)]
        if len(h1):
            signals += macro_signals(h1, history.pair, params, history.tick, _count_until(closes["1h"], start, True))
    return sorted(signals, key=lambda s: (s.timestamp, s.type))


def _count_until(close_ns: np.ndarray, time: pd.Timestamp, before: bool = False) -> int:
    """How many candles close at or before ``time`` (strictly before it with ``before``)."""
    return int(np.searchsorted(close_ns, time.value, side="left" if before else "right"))


def macro_views(history: PairHistory, params: StrategyParams, start: pd.Timestamp, end: pd.Timestamp) -> list[MacroView]:
    """MACRO's decision (side from the trend slope, confidence) at every 1h close in ``[start, end]``.

    Equal to ``evaluate_macro`` on the growing 1h frame (``MacroDecision.bias``, ``.confidence``);
    computed in one batch by the engine's own kernel.
    """
    h1 = history.h1
    close_times = h1["timestamp"] + HOUR
    first = int(close_times.searchsorted(start, side="left"))
    last = int(close_times.searchsorted(end, side="right"))
    if last <= first:
        return []
    arrays = scan_arrays(CandleArrays.of(h1.iloc[:last]), params, max(0, first - 1))
    times = close_times.iloc[first:last].dt.to_pydatetime()
    views = []
    for t, time in zip(range(first, last), times):
        ready = t >= params.trend_lookback - 1 and np.isfinite(arrays.confidence[t])
        side = side_of_slope(_hourly_slope(arrays, t, history.tick)) if ready else None
        views.append(MacroView.model_construct(pair=history.pair, side=side,
                                               confidence=int(arrays.confidence[t]) if ready else 0, time=time))
    return views


def _hourly_slope(arrays, t: int, tick: float) -> float:
    """The trend slope exactly as a MACRO signal/decision carries it (rounded per hour)."""
    return trend_from_fit(arrays.slope[t], arrays.value[t], 1.0, tick).slope
