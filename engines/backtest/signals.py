"""The engines' decisions over history, through the same functions the live bot calls.

Signals come from :func:`engines.scan.scan_signals` (identical to calling ``evaluate_scalp`` /
``evaluate_macro`` on each closed candle). The MACRO bias rule needs MACRO's *decision* on every
closed 1h candle, signal or not: :func:`macro_views`.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from engines.backtest.history import PairHistory
from engines.candles import CandleArrays, timeframe_delta
from engines.models import Signal
from engines.params import StrategyParams
from engines.risk import MacroView, side_of_slope
from engines.trend import trend_from_fit

EngineChoice = Literal["micro", "macro", "all"]
HOUR = timeframe_delta("1h")


def pair_signals(history: PairHistory, params: StrategyParams, start: pd.Timestamp, end: pd.Timestamp,
                 engine: EngineChoice = "all") -> list[Signal]:
    """Every signal of ``history``'s pair whose decision candle closes in ``[start, end]``."""
    from engines.scan import scan_signals

    return scan_signals(history.m1, history.pair, params, engine=engine, start=start, end=end, tick=history.tick,
                        candles_15m=history.m15, candles_1h=history.h1)


def macro_views(history: PairHistory, params: StrategyParams, start: pd.Timestamp, end: pd.Timestamp) -> list[MacroView]:
    """MACRO's decision (side from the trend slope, confidence) at every 1h close in ``[start, end]``.

    Equal to ``evaluate_macro`` on the growing 1h frame (``MacroDecision.bias``, ``.confidence``);
    computed in one batch by the engine's own kernel.
    """
    from engines.macro import scan_arrays

    h1 = history.h1
    close_times = h1["timestamp"] + HOUR
    first = int(close_times.searchsorted(start, side="left"))
    last = int(close_times.searchsorted(end, side="right"))
    if last <= first:
        return []
    arrays = scan_arrays(CandleArrays.of(h1.iloc[:last]), params, max(0, first - 1))
    views = []
    for t in range(first, last):
        ready = t >= params.trend_lookback - 1 and np.isfinite(arrays.confidence[t])
        views.append(MacroView(pair=history.pair, side=side_of_slope(_hourly_slope(arrays, t, history.tick)) if ready else None,
                               confidence=int(arrays.confidence[t]) if ready else 0,
                               time=close_times.iloc[t].to_pydatetime()))
    return views


def _hourly_slope(arrays, t: int, tick: float) -> float:
    """The trend slope exactly as a MACRO signal/decision carries it (rounded per hour)."""
    return trend_from_fit(arrays.slope[t], arrays.value[t], 1.0, tick).slope
