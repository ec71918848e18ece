"""MACRO: 1-3 % swings with the trend of the last ``trend_lookback`` closed 1h candles.

* **Swings** are fractal pivots of order ``SWING_ORDER`` inside the window (a swing is only known
  ``SWING_ORDER`` hours after it, so nothing looks ahead).
* **Trend**: least-squares line of closes; slope in price per hour, intercept = the line's value at
  the decision (the close time of the last candle).
* **Confidence** (0-100) = ``100 * r² * min(1, |slope| * (trend_lookback - 1) / (4 * ATR-14))``: a clean
  fit that moved at least four average candle ranges scores high.
* **Signal** (pullback in the trend's direction): with confidence >= ``macro_min_confidence`` and an
  up-trend, a LONG when the decision candle dips to within ``macro_zone`` % of a swing low or of the
  trend line (``low <= level * (1 + zone)``), closes above that level and closes up (close > open).
  Mirror for SHORT in a down-trend. Entry = close, TP/SL = ``macro_tp`` / ``macro_sl`` %.
  MACRO signals use no exhaustion checks; their ``exhaustion_checks`` are all false.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from engines import indicators
from engines.candles import CandleArrays, timeframe_delta
from engines.jit import compile_kernels, kernel
from engines.levels import pivot_highs, pivot_lows
from engines.models import ExhaustionChecks, Side, Signal, Swing, Trend
from engines.params import StrategyParams
from engines.ticks import round_to_tick
from engines.trend import linear_fit, trend_from_fit

TIMEFRAME = "1h"
SWING_ORDER = 3
ATR_MOVES = 4.0
MAX_LISTED_LEVELS = 5


@kernel
def _macro_kernel(o, h, l, c, atr, first, lookback, zone, order):
    n = len(c)
    slope = np.full(n, np.nan)
    value = np.full(n, np.nan)
    r2 = np.full(n, np.nan)
    long_level = np.full(n, np.nan)
    short_level = np.full(n, np.nan)
    # A pivot of the whole series at i is one of the window [start, t] exactly when its neighbours are in it,
    # i.e. start + order <= i <= t - order: the flags are computed once, the windows read their range.
    swing_lows = pivot_lows(l, 0, n, order)
    swing_highs = pivot_highs(h, 0, n, order)
    for t in range(max(first, lookback - 1), n):
        start = t - lookback + 1
        b, a, q = linear_fit(c, start, t + 1)
        slope[t], value[t], r2[t] = b, a, q
        if c[t] > o[t]:
            best = np.nan
            if l[t] <= a * (1.0 + zone) and c[t] > a:
                best = a
            for i in range(start + order, t - order + 1):
                s = l[i]
                if swing_lows[i] and s < c[t] and l[t] <= s * (1.0 + zone):
                    if np.isnan(best) or s > best:
                        best = s
            long_level[t] = best
        if c[t] < o[t]:
            best = np.nan
            if h[t] >= a * (1.0 - zone) and c[t] < a:
                best = a
            for i in range(start + order, t - order + 1):
                r = h[i]
                if swing_highs[i] and r > c[t] and h[t] >= r * (1.0 - zone):
                    if np.isnan(best) or r < best:
                        best = r
            short_level[t] = best
    return slope, value, r2, long_level, short_level


@dataclass(frozen=True)
class MacroArrays:
    """Per-candle trend, confidence and pullback levels."""

    slope: np.ndarray
    value: np.ndarray
    confidence: np.ndarray
    long_level: np.ndarray
    short_level: np.ndarray


def scan_arrays(h1: CandleArrays, params: StrategyParams, first: int, atr: np.ndarray | None = None) -> MacroArrays:
    """Trend, confidence and pullback levels for every candle index ``>= first``.

    ``atr`` (aligned with ``h1``) is computed from ``h1`` unless given (the live per-pair state passes it).
    """
    if atr is None:
        atr = indicators.atr(h1.high, h1.low, h1.close)
    slope, value, r2, long_level, short_level = _macro_kernel(
        h1.open, h1.high, h1.low, h1.close, atr, first, params.trend_lookback, params.macro_zone / 100.0, SWING_ORDER)
    with np.errstate(invalid="ignore", divide="ignore"):
        strength = np.minimum(1.0, np.abs(slope) * (params.trend_lookback - 1) / (ATR_MOVES * atr))
    confidence = np.where(np.isfinite(r2 * strength), np.round(100 * r2 * strength), np.nan)
    return MacroArrays(slope, value, confidence, long_level, short_level)


@kernel
def _swing_flags(h, l, t, lookback, order):
    """Pivot-high and pivot-low flags of the candles in the window ending at ``t``."""
    start = max(0, t - lookback + 1)
    highs = np.zeros(t + 1, dtype=np.bool_)
    lows = np.zeros(t + 1, dtype=np.bool_)
    highs[start:] = pivot_highs(h, start, t + 1, order)
    lows[start:] = pivot_lows(l, start, t + 1, order)
    return highs, lows


def swings_at(h1: CandleArrays, t: int, lookback: int) -> list[Swing]:
    """Swing highs and lows known at candle ``t`` inside its window, oldest first."""
    h, l = h1.high, h1.low
    highs, lows = _swing_flags(h, l, t, lookback, SWING_ORDER)
    at_high, at_low = np.flatnonzero(highs), np.flatnonzero(lows)
    out = [Swing(time, float(price), "high") for time, price in zip(h1.timestamps[at_high], h[at_high])]
    out += [Swing(time, float(price), "low") for time, price in zip(h1.timestamps[at_low], l[at_low])]
    return sorted(out, key=lambda s: (s.time, s.kind))


def _listed_levels(swing_highs: np.ndarray, swing_lows: np.ndarray, price: float,
                   tick: float) -> tuple[list[float], list[float]]:
    """Support (swing lows below ``price``, nearest first) and resistance (swing highs above), up to 5 each."""
    support = sorted({round_to_tick(p, tick) for p in swing_lows if p < price}, reverse=True)
    resistance = sorted({round_to_tick(p, tick) for p in swing_highs if p > price})
    return support[:MAX_LISTED_LEVELS], resistance[:MAX_LISTED_LEVELS]


def swing_levels(swings: list[Swing], price: float, tick: float) -> tuple[list[float], list[float]]:
    """Support and resistance lists from ``swings`` (see :func:`_listed_levels`)."""
    highs = np.array([s.price for s in swings if s.kind == "high"], dtype=float)
    lows = np.array([s.price for s in swings if s.kind == "low"], dtype=float)
    return _listed_levels(highs, lows, price, tick)


def _qualifying_side(arrays: MacroArrays, t: int, params: StrategyParams) -> Side | None:
    if t < 0 or not np.isfinite(arrays.confidence[t]) or arrays.confidence[t] < params.macro_min_confidence:
        return None
    if arrays.slope[t] > 0 and np.isfinite(arrays.long_level[t]):
        return "LONG"
    if arrays.slope[t] < 0 and np.isfinite(arrays.short_level[t]):
        return "SHORT"
    return None


def signal_side(arrays: MacroArrays, t: int, params: StrategyParams) -> Side | None:
    """The side of a fresh pullback at ``t``: it qualifies, and the candle before did not (same side)."""
    side = _qualifying_side(arrays, t, params)
    return side if side and _qualifying_side(arrays, t - 1, params) != side else None


def build_signal(h1: CandleArrays, t: int, side: Side, arrays: MacroArrays, pair: str,
                 params: StrategyParams, tick: float) -> Signal:
    close = float(h1.close[t])
    highs, lows = _swing_flags(h1.high, h1.low, t, params.trend_lookback, SWING_ORDER)
    support, resistance = _listed_levels(h1.high[: t + 1][highs], h1.low[: t + 1][lows], close, tick)
    sign = 1.0 if side == "LONG" else -1.0
    return Signal(
        type="MACRO", pair=pair, side=side, entry=round_to_tick(close, tick),
        tp=round_to_tick(close * (1 + sign * params.macro_tp / 100), tick),
        sl=round_to_tick(close * (1 - sign * params.macro_sl / 100), tick),
        support=support, resistance=resistance,
        trend=trend_from_fit(arrays.slope[t], arrays.value[t], 1.0, tick),
        timestamp=(h1.timestamps[t] + timeframe_delta(TIMEFRAME)).to_pydatetime(),
        confidence=int(arrays.confidence[t]), exhaustion_checks=ExhaustionChecks(),
    )


@dataclass(frozen=True)
class MacroDecision:
    """The MACRO view at one closed 1h candle."""

    pair: str
    time: pd.Timestamp
    trend: Trend | None
    confidence: int
    swings: tuple[Swing, ...]
    support: tuple[float, ...]
    resistance: tuple[float, ...]
    signal: Signal | None
    reason: str

    @property
    def bias(self) -> Side | None:
        """The trend's side (LONG for a rising trend), None without a trend."""
        if self.trend is None or self.trend.slope == 0:
            return None
        return "LONG" if self.trend.slope > 0 else "SHORT"


def _reason(arrays: MacroArrays, t: int, side: Side | None, params: StrategyParams) -> str:
    confidence = arrays.confidence[t]
    repeated = _qualifying_side(arrays, t, params)
    if side is None and repeated is not None:
        return f"{repeated} pullback continues from the previous candle: signalled there, not again"
    if side is not None:
        return f"{side}: pullback to {arrays.long_level[t] if side == 'LONG' else arrays.short_level[t]:g} in the trend, confidence {confidence:.0f}"
    if not np.isfinite(confidence) or confidence < params.macro_min_confidence:
        return f"trend confidence {confidence:.0f} below {params.macro_min_confidence}"
    return "no pullback to a swing level or the trend line on this candle"


def evaluate_macro(h1: pd.DataFrame, pair: str, params: StrategyParams, tick: float) -> MacroDecision:
    """The MACRO verdict on the last candle of ``h1`` (closed 1h candles, oldest first)."""
    return decide_macro(CandleArrays.of(h1), pair, params, tick)


def decide_macro(candles: CandleArrays, pair: str, params: StrategyParams, tick: float, *,
                 atr: np.ndarray | None = None, count: int | None = None) -> MacroDecision:
    """:func:`evaluate_macro` on arrays whose last candle is the decision candle.

    ``candles`` may be only the last ``trend_lookback + 1`` (or more) candles of a longer history when that
    history's ``atr`` is given (see :mod:`engines.live_state`); ``count`` is the number of candles seen in all.
    """
    t = len(candles) - 1
    time = candles.timestamps[t] + timeframe_delta(TIMEFRAME) if t >= 0 else pd.NaT
    if t < params.trend_lookback - 1:
        return MacroDecision(pair, time, None, 0, (), (), (), None,
                             f"need {params.trend_lookback} closed 1h candles, have {len(candles) if count is None else count}")
    arrays = scan_arrays(candles, params, first=t - 1, atr=atr)
    swings = swings_at(candles, t, params.trend_lookback)
    support, resistance = swing_levels(swings, float(candles.close[t]), tick)
    side = signal_side(arrays, t, params)
    signal = build_signal(candles, t, side, arrays, pair, params, tick) if side else None
    confidence = int(arrays.confidence[t]) if np.isfinite(arrays.confidence[t]) else 0
    return MacroDecision(pair, time, trend_from_fit(arrays.slope[t], arrays.value[t], 1.0, tick), confidence,
                         tuple(swings), tuple(support), tuple(resistance), signal, _reason(arrays, t, side, params))


def macro_signals(h1: pd.DataFrame, pair: str, params: StrategyParams, tick: float, first: int) -> list[Signal]:
    """Every MACRO signal at candle indices ``>= first``."""
    compile_kernels()
    candles = CandleArrays.of(h1)
    arrays = scan_arrays(candles, params, max(0, first - 1))
    signals = []
    for t in range(max(first, params.trend_lookback - 1), len(h1)):
        side = signal_side(arrays, t, params)
        if side:
            signals.append(build_signal(candles, t, side, arrays, pair, params, tick))
    return signals
