"""MICRO-SCALP: a closed 15m candle that tags a support (LONG) or resistance (SHORT) with enough
exhaustion checks behind it.

* Levels come from the ``sr_lookback`` candles *before* the decision candle (engines.levels).
* The decision candle **tags** a support ``S`` when its low comes within ``tolerance`` % of ``S``
  (``low <= S * (1 + tol)``) and it does not close through it (``close >= S * (1 - tol)``); mirror for a
  resistance. When several levels are tagged the one nearest the close is used.
* Each side is judged on its own checks; it qualifies with at least ``min_checks`` passed. When both
  sides qualify the candle is ambiguous and no signal is given.
* Entry is the decision candle's close; TP/SL are ``tp`` / ``sl`` % away; confidence is
  ``100 * (0.6 * checks passed / 4 + 0.4 * min(level touches, 6) / 6)``.

:func:`scan_arrays` runs the same kernel for one candle (live) or every candle (history), so both
paths give the same answers by construction.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from engines import exhaustion, indicators
from engines.candles import CandleArrays, timeframe_delta
from engines.exhaustion import BookFlip
from engines.jit import compile_kernels, kernel
from engines.levels import all_pivots, level_prices_in, levels_in, sliding_levels
from engines.models import ExhaustionChecks, Level, Side, Signal
from engines.params import StrategyParams
from engines.ticks import round_to_tick
from engines.trend import linear_fit, trend_from_fit

TIMEFRAME = "15m"
BARS_PER_HOUR = 4.0
MAX_TOUCH_CREDIT = 6


@kernel
def _tagged_levels(o, h, l, c, first, lookback, tol, min_touches, wick_window, wick_ratio):
    n = len(c)
    long_level = np.full(n, np.nan)
    short_level = np.full(n, np.nan)
    long_visits = np.zeros(n, dtype=np.int64)
    short_visits = np.zeros(n, dtype=np.int64)
    long_wicks = np.zeros(n, dtype=np.bool_)
    short_wicks = np.zeros(n, dtype=np.bool_)
    pivots = all_pivots(h, l)
    pivot_visits = np.zeros(len(pivots[0]), dtype=np.int64)
    counted_for = np.full(len(pivots[0]), -2, dtype=np.int64)
    for t in range(max(first, lookback), n):
        prices, visits = sliding_levels(h, l, c, t, lookback, tol, min_touches, pivots, pivot_visits, counted_for)
        reference = c[t - 1]
        best_long = np.inf
        best_short = np.inf
        for k in range(len(prices)):
            p = prices[k]
            if p <= reference:
                if l[t] <= p * (1.0 + tol) and c[t] >= p * (1.0 - tol) and abs(c[t] - p) < best_long:
                    best_long = abs(c[t] - p)
                    long_level[t] = p
                    long_visits[t] = visits[k]
            elif h[t] >= p * (1.0 - tol) and c[t] <= p * (1.0 + tol) and abs(c[t] - p) < best_short:
                best_short = abs(c[t] - p)
                short_level[t] = p
                short_visits[t] = visits[k]
        if long_visits[t] > 0:
            long_wicks[t] = exhaustion.double_wick(o, h, l, c, t, long_level[t], True, tol, wick_window, wick_ratio)
        if short_visits[t] > 0:
            short_wicks[t] = exhaustion.double_wick(o, h, l, c, t, short_level[t], False, tol, wick_window, wick_ratio)
    return long_level, long_visits, long_wicks, short_level, short_visits, short_wicks


@dataclass(frozen=True)
class SideArrays:
    """Per-candle state of one side: tagged level, its visits, and each check."""

    level: np.ndarray
    visits: np.ndarray
    volume_drop: np.ndarray
    double_wick: np.ndarray
    rsi_extreme: np.ndarray

    def checks(self, t: int, book_flip: bool = False) -> ExhaustionChecks:
        return ExhaustionChecks(volume_drop=bool(self.volume_drop[t]), double_wick=bool(self.double_wick[t]),
                                rsi_extreme=bool(self.rsi_extreme[t]), order_book_flip=book_flip)


class _TaggedLevelCache:
    """The last few ``_tagged_levels`` results, per candle series and the parameters they depend on.

    A sweep varies parameters the levels do not depend on (e.g. ``volume_multiplier``): the sliding
    level scan, the bulk of a scalp scan, is then done once per series instead of once per combination.
    Keyed by where the candles are in memory; the owner of that memory is held weakly and checked, so
    memory freed and reused by another series is never mistaken for the series cached.
    """

    SIZE = 32

    def __init__(self) -> None:
        self._entries: dict[tuple, tuple[weakref.ref, tuple[np.ndarray, ...]]] = {}

    def get(self, m15: CandleArrays, first: int, params: StrategyParams) -> tuple[np.ndarray, ...]:
        tol = params.tolerance / 100.0
        owner = _owner(m15.close)  # views of one frame's columns share it, whatever slice was taken
        key = tuple((a.__array_interface__["data"][0], a.strides) for a in (m15.open, m15.high, m15.low, m15.close)) \
            + (len(m15.close), first, params.sr_lookback, tol, params.touches, params.wick_window, params.wick_ratio)
        hit = self._entries.get(key)
        if hit is not None and hit[0]() is owner:
            return hit[1]
        result = _tagged_levels(m15.open, m15.high, m15.low, m15.close, first, params.sr_lookback, tol,
                                params.touches, params.wick_window, params.wick_ratio)
        if len(self._entries) >= self.SIZE:
            self._entries.pop(next(iter(self._entries)))
        self._entries[key] = (weakref.ref(owner), result)
        return result


def _owner(array: np.ndarray) -> np.ndarray:
    """The array that owns ``array``'s memory (``array`` itself if it is not a view)."""
    while isinstance(array.base, np.ndarray):
        array = array.base
    return array


_TAGGED = _TaggedLevelCache()


def scan_arrays(m15: CandleArrays, params: StrategyParams, first: int, rsi_values: np.ndarray | None = None,
                volume_ewma: np.ndarray | None = None) -> dict[Side, SideArrays]:
    """Levels tagged and checks for every candle index ``>= first`` of ``m15``.

    ``rsi_values`` / ``volume_ewma`` (aligned with ``m15``) are computed from ``m15`` unless given: the live
    per-pair state passes the values it carries from the whole history it has seen.
    """
    ll, lv, lw, sl, sv, sw = _TAGGED.get(m15, first, params)
    if volume_ewma is None:
        volume_ewma = indicators.volume_ewma(m15.volume)
    volume_ok = exhaustion.volume_drop(m15.volume, volume_ewma, params.volume_multiplier)
    if rsi_values is None:
        rsi_values = indicators.rsi(m15.close, params.rsi_period)
    return {
        "LONG": SideArrays(ll, lv, volume_ok, lw, exhaustion.rsi_extreme(rsi_values, "LONG", params.rsi_low, params.rsi_high)),
        "SHORT": SideArrays(sl, sv, volume_ok, sw, exhaustion.rsi_extreme(rsi_values, "SHORT", params.rsi_low, params.rsi_high)),
    }


@dataclass(frozen=True)
class ScalpDecision:
    """Everything the engine saw at one closed 15m candle, and its verdict."""

    pair: str
    time: pd.Timestamp
    close: float
    levels: tuple[Level, ...]
    long_level: Level | None
    short_level: Level | None
    long_checks: ExhaustionChecks
    short_checks: ExhaustionChecks
    signal: Signal | None
    reason: str


def qualifying_sides(sides: dict[Side, SideArrays], t: int, min_checks: int,
                     book: BookFlip | None = None) -> list[Side]:
    """Sides whose tagged level has at least ``min_checks`` checks at candle ``t``."""
    out: list[Side] = []
    for side, arrays in sides.items():
        if arrays.visits[t] > 0 and arrays.checks(t, exhaustion.order_book_flip(book, side)).passed >= min_checks:
            out.append(side)
    return out


def scalp_confidence(checks: ExhaustionChecks, visits: int) -> int:
    return int(round(100 * (0.6 * checks.passed / 4 + 0.4 * min(visits, MAX_TOUCH_CREDIT) / MAX_TOUCH_CREDIT)))


def levels_before(m15: CandleArrays, t: int, params: StrategyParams) -> list[Level]:
    """The levels candle ``t`` is judged against: from the ``sr_lookback`` candles before it."""
    return levels_in(m15.high, m15.low, m15.close, m15.timestamps, t - params.sr_lookback, t, params,
                     float(m15.close[t - 1]))


def build_signal(m15: CandleArrays, t: int, side: Side, sides: dict[Side, SideArrays], pair: str,
                 params: StrategyParams, tick: float, book: BookFlip | None = None) -> Signal:
    """The SCALP signal of ``side`` at candle ``t`` (which must qualify)."""
    close = float(m15.close[t])
    supports, resistances = level_prices_in(m15.high, m15.low, m15.close, t - params.sr_lookback, t, params,
                                            float(m15.close[t - 1]))
    checks = sides[side].checks(t, exhaustion.order_book_flip(book, side))
    slope, value_now, _ = linear_fit(m15.close, t - params.sr_lookback + 1, t + 1)
    sign = 1.0 if side == "LONG" else -1.0
    return Signal(
        type="SCALP", pair=pair, side=side, entry=round_to_tick(close, tick),
        tp=round_to_tick(close * (1 + sign * params.tp / 100), tick),
        sl=round_to_tick(close * (1 - sign * params.sl / 100), tick),
        support=[round_to_tick(price, tick) for price in supports],
        resistance=[round_to_tick(price, tick) for price in resistances],
        trend=trend_from_fit(slope, value_now, BARS_PER_HOUR, tick),
        timestamp=(m15.timestamps[t] + timeframe_delta(TIMEFRAME)).to_pydatetime(),
        confidence=scalp_confidence(checks, int(sides[side].visits[t])),
        exhaustion_checks=checks,
    )


def _level_at(levels: list[Level], price: float) -> Level | None:
    if not np.isfinite(price):
        return None
    return min(levels, key=lambda lv: abs(lv.price - price))


def _reason(sides: dict[Side, SideArrays], t: int, qualifying: list[Side], params: StrategyParams,
            checks: dict[Side, ExhaustionChecks]) -> str:
    if len(qualifying) == 2:
        return "both a support and a resistance were tagged with enough checks: ambiguous, no signal"
    if len(qualifying) == 1:
        side = qualifying[0]
        return f"{side}: tagged {sides[side].level[t]:g} with {checks[side].passed} of 4 checks (need {params.min_checks})"
    tagged = [s for s in sides if sides[s].visits[t] > 0]
    if not tagged:
        return "price did not tag a support or resistance level"
    return "; ".join(f"{s} level {sides[s].level[t]:g} tagged but only {checks[s].passed} of 4 checks "
                     f"(need {params.min_checks})" for s in tagged)


def evaluate_scalp(m15: pd.DataFrame, pair: str, params: StrategyParams, tick: float,
                   book: BookFlip | None = None) -> ScalpDecision:
    """The MICRO-SCALP verdict on the last candle of ``m15`` (closed 15m candles, oldest first)."""
    return decide_scalp(CandleArrays.of(m15), pair, params, tick, book)


def decide_scalp(arrays: CandleArrays, pair: str, params: StrategyParams, tick: float, book: BookFlip | None = None,
                 *, rsi_values: np.ndarray | None = None, volume_ewma: np.ndarray | None = None,
                 count: int | None = None) -> ScalpDecision:
    """:func:`evaluate_scalp` on arrays whose last candle is the decision candle.

    ``arrays`` may be only the last candles of a longer history (at least ``sr_lookback + 1``) when the
    indicator values of that history are given (see :mod:`engines.live_state`); ``count`` is then the
    number of candles seen in all.
    """
    t = len(arrays) - 1
    time = arrays.timestamps[t] + timeframe_delta(TIMEFRAME) if t >= 0 else pd.NaT
    close = float(arrays.close[t]) if t >= 0 else float("nan")
    if t < params.sr_lookback:
        return ScalpDecision(pair, time, close, (), None, None, ExhaustionChecks(), ExhaustionChecks(), None,
                             f"need {params.sr_lookback + 1} closed 15m candles, have {len(arrays) if count is None else count}")
    sides = scan_arrays(arrays, params, first=t, rsi_values=rsi_values, volume_ewma=volume_ewma)
    levels = levels_before(arrays, t, params)
    checks = {side: sides[side].checks(t, exhaustion.order_book_flip(book, side)) for side in sides}
    qualifying = qualifying_sides(sides, t, params.min_checks, book)
    signal = build_signal(arrays, t, qualifying[0], sides, pair, params, tick, book) if len(qualifying) == 1 else None
    return ScalpDecision(pair, time, close, tuple(levels), _level_at(levels, sides["LONG"].level[t]),
                         _level_at(levels, sides["SHORT"].level[t]), checks["LONG"], checks["SHORT"], signal,
                         _reason(sides, t, qualifying, params, checks))


def scalp_signals(m15: pd.DataFrame, pair: str, params: StrategyParams, tick: float, first: int) -> list[Signal]:
    """Every SCALP signal at candle indices ``>= first`` (history: no order book, so that check is false)."""
    compile_kernels()
    arrays = CandleArrays.of(m15)
    sides = scan_arrays(arrays, params, first)
    return [build_signal(arrays, t, side, sides, pair, params, tick)
            for t, side in scalp_decisions(sides, params.min_checks, first)]


def scalp_decisions(sides: dict[Side, SideArrays], min_checks: int, first: int) -> Iterator[tuple[int, Side]]:
    """The candles ``>= first`` with a SCALP signal, and its side: one side tagged with at least ``min_checks``
    checks (history has no order book), the other not."""
    passed = {side: (a.visits > 0) & (a.volume_drop.astype(int) + a.double_wick.astype(int)
                                      + a.rsi_extreme.astype(int) >= min_checks)
              for side, a in sides.items()}
    only = {"LONG": passed["LONG"] & ~passed["SHORT"], "SHORT": passed["SHORT"] & ~passed["LONG"]}
    for t in np.flatnonzero(only["LONG"] | only["SHORT"]):
        if t >= first:
            yield int(t), "LONG" if only["LONG"][t] else "SHORT"
