"""The engines' decisions over history, through the same functions the live bot calls.

Signals are those of :func:`engines.scan.scan_signals` (identical to calling ``evaluate_scalp`` /
``evaluate_macro`` on each closed candle; both equalities are tested). The MACRO bias rule needs
MACRO's *decision* on every closed 1h candle, signal or not: :func:`macro_views`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd

from engines import indicators, micro
from engines.backtest.history import PairHistory
from engines.candles import CandleArrays
from engines.jit import compile_kernels
from engines.macro import macro_signals, scan_arrays
from engines.micro import SideArrays, build_signal, scalp_decisions, scalp_signals
from engines.models import Signal
from engines.params import StrategyParams
from engines.risk import MacroView, side_of_slope
from engines.trend import hourly_slope

EngineChoice = Literal["micro", "macro", "all"]


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


def micro_signals_of_sets(history: PairHistory, params_sets: Sequence[StrategyParams], start: pd.Timestamp,
                          end: pd.Timestamp) -> list[list[Signal]]:
    """``pair_signals(history, params, start, end, "micro")`` of each of ``params_sets`` (tested), sharing their work.

    The sets share the candles as arrays, the volume EWMA and the RSI of each period (so the engine's level
    scan, cached by it per candle arrays, is done once per set of level parameters), and each built signal:
    a set whose signal at a candle has the same side and checks as one already built, with parameters equal
    but for ``volume_multiplier`` (which reaches a signal only through its volume_drop check), gets that one.
    """
    compile_kernels()
    closes = history.close_times["15m"]
    m15 = history.m15.iloc[: _count_until(closes, end)]
    if not len(m15):
        return [[] for _ in params_sets]
    first = _count_until(closes, start, True)
    arrays = CandleArrays.of(m15)
    volume_ewma = indicators.volume_ewma(arrays.volume)
    rsi: dict[int, np.ndarray] = {}
    built: dict[tuple, Signal] = {}
    out = []
    for params in params_sets:
        if params.rsi_period not in rsi:
            rsi[params.rsi_period] = indicators.rsi(arrays.close, params.rsi_period)
        sides = micro.scan_arrays(arrays, params, first, rsi_values=rsi[params.rsi_period], volume_ewma=volume_ewma)
        shared = tuple((k, v) for k, v in params.model_dump().items() if k != "volume_multiplier")
        signals = []
        for t, side in scalp_decisions(sides, params.min_checks, first):
            key = (t, side, _check_values(sides[side], t), shared)
            if key not in built:
                built[key] = build_signal(arrays, t, side, sides, history.pair, params, history.tick)
            signals.append(built[key])
        out.append(sorted(signals, key=lambda s: (s.timestamp, s.type)))
    return out


def _check_values(side: SideArrays, t: int) -> tuple[bool, bool, bool, int]:
    """What a SCALP signal of ``side`` at candle ``t`` takes from the scan: its checks and the level's visits."""
    return bool(side.volume_drop[t]), bool(side.double_wick[t]), bool(side.rsi_extreme[t]), int(side.visits[t])


def _count_until(close_ns: np.ndarray, time: pd.Timestamp, before: bool = False) -> int:
    """How many candles close at or before ``time`` (strictly before it with ``before``)."""
    return int(np.searchsorted(close_ns, time.value, side="left" if before else "right"))


def macro_views(history: PairHistory, params: StrategyParams, start: pd.Timestamp, end: pd.Timestamp) -> list[MacroView]:
    """MACRO's decision (side from the trend slope, confidence) at every 1h close in ``[start, end]``.

    Equal to ``evaluate_macro`` on the growing 1h frame (``MacroDecision.bias``, ``.confidence``);
    computed in one batch by the engine's own kernel.
    """
    compile_kernels()
    close_ns = history.close_times["1h"]
    first, last = _count_until(close_ns, start, True), _count_until(close_ns, end)
    if last <= first:
        return []
    arrays = scan_arrays(CandleArrays.of(history.h1.iloc[:last]), params, max(0, first - 1))
    times = pd.to_datetime(close_ns[first:last], utc=True).to_pydatetime()
    index = np.arange(first, last)
    ready = (index >= params.trend_lookback - 1) & np.isfinite(arrays.confidence[first:last])
    sides = _sides(arrays.slope[first:last], history.tick)
    confidence = np.where(ready, np.nan_to_num(arrays.confidence[first:last]), 0).astype(int).tolist()
    return [MacroView(pair=history.pair, side=side if ok else None, confidence=c, time=time)  # validating is
            for side, ok, c, time in zip(sides, ready.tolist(), confidence, times)]  # faster than model_construct


def _sides(slopes: np.ndarray, tick: float) -> list:
    """The side of each trend slope exactly as a MACRO decision carries it: the sign of the slope rounded per
    hour (:func:`engines.trend.hourly_slope`); only slopes within one rounding unit of zero need the rounding."""
    unit = 10.0 ** -max(0, int(round(-np.log10(tick))) + 2)
    return [side_of_slope(slope if abs(slope) >= unit or not np.isfinite(slope) else hourly_slope(slope, 1.0, tick))
            for slope in slopes.tolist()]
