"""Support and resistance from a window of 15m candles.

Definitions (the README's strategy section repeats them):

* **Candidates** are fractal pivots inside the window: a candle whose high is above the highs of the
  ``PIVOT_ORDER`` candles before it and not below those after it (a pivot high), or the mirror for lows.
* A candle **touches** a price ``p`` when its high, low or close lies within ``tolerance`` % of ``p``.
  Consecutive touching candles are one **visit**; a level's ``touches`` counts visits, so a price that
  chopped sideways for an hour counts once, and three separate returns count three.
* A candidate with at least ``touches`` visits is a level. Candidates whose bands overlap (closer than
  2 x tolerance) are near-duplicates: the one with more visits wins, the more recent on a tie.
* A level at or below the reference price (the last close) is a **support**, above it a **resistance**.

The numba kernels here are shared by the single-decision path and the whole-history scan.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numba import njit

from engines.models import Level
from engines.params import StrategyParams

PIVOT_ORDER = 2


@njit(cache=True)
def _is_pivot_high(high: np.ndarray, i: int, start: int, end: int, order: int) -> bool:
    if i - order < start or i + order >= end:
        return False
    for j in range(i - order, i):
        if high[j] >= high[i]:
            return False
    for j in range(i + 1, i + order + 1):
        if high[j] > high[i]:
            return False
    return True


@njit(cache=True)
def _is_pivot_low(low: np.ndarray, i: int, start: int, end: int, order: int) -> bool:
    if i - order < start or i + order >= end:
        return False
    for j in range(i - order, i):
        if low[j] <= low[i]:
            return False
    for j in range(i + 1, i + order + 1):
        if low[j] < low[i]:
            return False
    return True


@njit(cache=True)
def _touches(high: np.ndarray, low: np.ndarray, close: np.ndarray, i: int, price: float, band: float) -> bool:
    return abs(high[i] - price) <= band or abs(low[i] - price) <= band or abs(close[i] - price) <= band


@njit(cache=True)
def count_visits(high: np.ndarray, low: np.ndarray, close: np.ndarray, start: int, end: int,
                 price: float, tol: float) -> int:
    """Separate visits of candles ``[start, end)`` to ``price`` (tol is a fraction, 0.0025 = 0.25 %)."""
    band = price * tol
    visits = 0
    inside = False
    for i in range(start, end):
        touching = _touches(high, low, close, i, price, band)
        if touching and not inside:
            visits += 1
        inside = touching
    return visits


@njit(cache=True)
def _candidates(high: np.ndarray, low: np.ndarray, start: int, end: int) -> tuple[np.ndarray, np.ndarray]:
    """Prices and ranks of the pivot highs and lows in ``[start, end)``.

    The rank ``2 * index + 1`` for a pivot high, ``2 * index`` for a pivot low orders candidates by
    recency (and a high before a low of the same candle): it breaks ties between equally strong levels.
    """
    price = np.empty(2 * (end - start))
    rank = np.empty(2 * (end - start), dtype=np.int64)
    n = 0
    for i in range(start, end):
        if _is_pivot_high(high, i, start, end, PIVOT_ORDER):
            price[n] = high[i]
            rank[n] = 2 * i + 1
            n += 1
        if _is_pivot_low(low, i, start, end, PIVOT_ORDER):
            price[n] = low[i]
            rank[n] = 2 * i
            n += 1
    return price[:n], rank[:n]


@njit(cache=True)
def strongest_distinct(prices: np.ndarray, visits: np.ndarray, ranks: np.ndarray, tol: float,
                       min_touches: int, rank_span: int) -> tuple[np.ndarray, np.ndarray]:
    """Candidates with ``>= min_touches`` visits, strongest first (ties: higher rank first),
    dropping any within 2 x tolerance of a stronger one."""
    order = np.argsort(-(visits * rank_span + ranks))
    kept_price = np.empty(len(order))
    kept_visits = np.empty(len(order), dtype=np.int64)
    n_kept = 0
    for k in order:
        if visits[k] < min_touches:
            break
        price = prices[k]
        duplicate = False
        for m in range(n_kept):
            if abs(kept_price[m] - price) <= 2.0 * tol * max(kept_price[m], price):
                duplicate = True
                break
        if not duplicate:
            kept_price[n_kept] = price
            kept_visits[n_kept] = visits[k]
            n_kept += 1
    return kept_price[:n_kept], kept_visits[:n_kept]


@njit(cache=True, fastmath=True)
def _visits_of(high: np.ndarray, low: np.ndarray, close: np.ndarray, start: int, end: int,
               prices: np.ndarray, tol: float) -> np.ndarray:
    """:func:`count_visits` for many prices at once (candles outer, prices inner: vectorises)."""
    m = len(prices)
    band = prices * tol
    visits = np.zeros(m, dtype=np.int64)
    inside = np.zeros(m, dtype=np.bool_)
    for i in range(start, end):
        hi, lo, cl = high[i], low[i], close[i]
        for k in range(m):
            p, b = prices[k], band[k]
            touching = (abs(hi - p) <= b) | (abs(lo - p) <= b) | (abs(cl - p) <= b)
            visits[k] += touching & ~inside[k]
            inside[k] = touching
    return visits


@njit(cache=True)
def window_levels(high: np.ndarray, low: np.ndarray, close: np.ndarray, start: int, end: int,
                  tol: float, min_touches: int) -> tuple[np.ndarray, np.ndarray]:
    """Level prices and their visit counts in candles ``[start, end)``, strongest first."""
    prices, ranks = _candidates(high, low, start, end)
    visits = _visits_of(high, low, close, start, end, prices, tol)
    return strongest_distinct(prices, visits, ranks, tol, min_touches, 2 * len(high) + 2)


@njit(cache=True)
def all_pivots(high: np.ndarray, low: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every pivot of the series (price, candle index, rank), in candle order.

    A pivot at ``i`` needs only candles ``i - PIVOT_ORDER .. i + PIVOT_ORDER``, so it is a candidate of
    exactly the windows ``[start, end)`` with ``start + PIVOT_ORDER <= i < end - PIVOT_ORDER``.
    """
    prices, ranks = _candidates(high, low, 0, len(high))
    return prices, ranks // 2, ranks


@njit(cache=True)
def sliding_levels(high: np.ndarray, low: np.ndarray, close: np.ndarray, t: int, lookback: int, tol: float,
                   min_touches: int, pivots: tuple[np.ndarray, np.ndarray, np.ndarray], visits: np.ndarray,
                   counted_for: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`window_levels` of the window ``[t - lookback, t)``, reusing the previous window's counts.

    ``visits[k]`` holds pivot k's visit count for the window ending at ``counted_for[k]``. A pivot counted
    for ``t - 1`` is updated in O(1): the run that began at the candle leaving the window is lost if it
    was one candle long, and the candle entering starts a new run if its predecessor did not touch.
    """
    prices, index, ranks = pivots
    start, end = t - lookback, t
    lo = np.searchsorted(index, start + PIVOT_ORDER)
    hi = np.searchsorted(index, end - PIVOT_ORDER)
    for k in range(lo, hi):
        p = prices[k]
        band = p * tol
        if counted_for[k] == t - 1:
            gone = start - 1
            if _touches(high, low, close, gone, p, band) and not _touches(high, low, close, start, p, band):
                visits[k] -= 1
            new = end - 1
            if _touches(high, low, close, new, p, band) and not _touches(high, low, close, new - 1, p, band):
                visits[k] += 1
        else:
            visits[k] = count_visits(high, low, close, start, end, p, tol)
        counted_for[k] = t
    return strongest_distinct(prices[lo:hi], visits[lo:hi], ranks[lo:hi], tol, min_touches, 2 * len(high) + 2)


@njit(cache=True)
def visit_starts(high: np.ndarray, low: np.ndarray, close: np.ndarray, start: int, end: int,
                 price: float, tol: float) -> np.ndarray:
    """Index of the first candle of each visit to ``price`` in ``[start, end)``."""
    band = price * tol
    out = np.empty(end - start, dtype=np.int64)
    n = 0
    inside = False
    for i in range(start, end):
        touching = _touches(high, low, close, i, price, band)
        if touching and not inside:
            out[n] = i
            n += 1
        inside = touching
    return out[:n]


def find_levels(window: pd.DataFrame, params: StrategyParams, reference_price: float) -> list[Level]:
    """Support/resistance of ``window`` (15m candles), supports nearest first, then resistances nearest first."""
    arrays = tuple(window[c].to_numpy(dtype=float) for c in ("high", "low", "close"))
    return levels_in(*arrays, pd.DatetimeIndex(window["timestamp"]), 0, len(window), params, reference_price)


def level_prices_in(high: np.ndarray, low: np.ndarray, close: np.ndarray, start: int, end: int,
                    params: StrategyParams, reference_price: float) -> tuple[list[float], list[float]]:
    """The prices of :func:`levels_in` (supports nearest first, resistances nearest first), without
    their visits: what a signal carries, at a fraction of the cost."""
    prices, _ = window_levels(high, low, close, start, end, params.tolerance / 100.0, params.touches)
    ordered = sorted((float(p) for p in prices), key=lambda p: (p > reference_price, abs(p - reference_price)))
    return [p for p in ordered if p <= reference_price], [p for p in ordered if p > reference_price]


def levels_in(high: np.ndarray, low: np.ndarray, close: np.ndarray, timestamps: pd.DatetimeIndex, start: int, end: int,
              params: StrategyParams, reference_price: float) -> list[Level]:
    """:func:`find_levels` of candles ``[start, end)`` of whole-series arrays (no frame slicing)."""
    tol = params.tolerance / 100.0
    prices, _ = window_levels(high, low, close, start, end, tol, params.touches)
    stamps, tz = timestamps.asi8, timestamps.tz
    levels = []
    for price in prices:
        starts = visit_starts(high, low, close, start, end, price, tol)
        kind = "support" if price <= reference_price else "resistance"
        visits = tuple(pd.Timestamp(int(v), tz=tz, unit=timestamps.unit) for v in stamps[starts])
        levels.append(Level(float(price), kind, visits))
    return sorted(levels, key=lambda lv: (lv.kind != "support", abs(lv.price - reference_price)))
