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
from engines.jit import compile_kernels
from engines.macro import macro_signals, scan_arrays
from engines.micro import scalp_signals
from engines.models import Signal
from engines.params import StrategyParams
from engines.risk import MacroView, side_of_slope
from engines.trend import hourly_slope

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
    compile_kernels()
    h1 = history.h1
    close_times = h1["timestamp"] + HOUR
    first = int(close_times.searchsorted(start, side="left"))
    last = int(close_times.searchsorted(end, side="right"))
    if last <= first:
        return []
    arrays = scan_arrays(CandleArrays.of(h1.iloc[:last]), params, max(0, first - 1))
    times = close_times.iloc[first:last].dt.to_pydatetime()
    index = np.arange(first, last)
    ready = (index >= params.trend_lookback - 1) & np.isfinite(arrays.confidence[first:last])
    sides = _sides(arrays.slope[first:last], history.tick)
    confidence = np.where(ready, np.nan_to_num(arrays.confidence[first:last]), 0).astype(int).tolist()
    return [MacroView.model_construct(pair=history.pair, side=side if ok else None, confidence=c, time=time)
            for side, ok, c, time in zip(sides, ready.tolist(), confidence, times)]


def _sides(slopes: np.ndarray, tick: float) -> list:
    """The side of each trend slope exactly as a MACRO decision carries it: the sign of the slope rounded per
    hour (:func:`engines.trend.hourly_slope`); only slopes within one rounding unit of zero need the rounding."""
    unit = 10.0 ** -max(0, int(round(-np.log10(tick))) + 2)
    return [side_of_slope(slope if abs(slope) >= unit or not np.isfinite(slope) else hourly_slope(slope, 1.0, tick))
            for slope in slopes.tolist()]
