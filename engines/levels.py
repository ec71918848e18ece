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

The kernels here (:mod:`engines.jit`) are shared by the single-decision path and the whole-history scan.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from engines.jit import kernel
from engines.models import Level
from engines.params import StrategyParams

PIVOT_ORDER = 2


@kernel
def pivot_highs(high: np.ndarray, start: int, end: int, order: int) -> np.ndarray:
    """Per candle of ``[start, end)``: a pivot high of that window, i.e. its high is above the highs of the
    ``order`` candles before it and not below those after it (all of them inside the window)."""
    flags = np.zeros(max(end - start, 0), dtype=np.bool_)
    first, stop = start + order, end - order
    if stop > first:
        centre = high[first:stop]
        pivot = np.ones(stop - first, dtype=np.bool_)
        for k in range(1, order + 1):  # "not >=" / "not >": a NaN neighbour does not disqualify, as before
            pivot &= ~(high[first - k:stop - k] >= centre) & ~(high[first + k:stop + k] > centre)
        flags[order:order + stop - first] = pivot
    return flags


@kernel
def pivot_lows(low: np.ndarray, start: int, end: int, order: int) -> np.ndarray:
    """Per candle of ``[start, end)``: a pivot low of that window, the mirror of :func:`pivot_highs` (the pivot
    highs of the negated lows: negation is exact, a NaN stays a NaN)."""
    return pivot_highs(-low[start:end], 0, max(end - start, 0), order)


@kernel
def _touches(high: np.ndarray, low: np.ndarray, close: np.ndarray, i: int, price: float, band: float) -> bool:
    return abs(high[i] - price) <= band or abs(low[i] - price) <= band or abs(close[i] - price) <= band


@kernel
def _run_starts(touching: np.ndarray) -> np.ndarray:
    """Per candle: whether it touches and the candle before it (along axis 0) does not: a visit begins."""
    starts = touching.copy()
    starts[1:] = touching[1:] & ~touching[:-1]
    return starts


@kernel
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


@kernel
def _candidates(high: np.ndarray, low: np.ndarray, start: int, end: int) -> tuple[np.ndarray, np.ndarray]:
    """Prices and ranks of the pivot highs and lows in ``[start, end)``, in candle order (a pivot high
    before a pivot low of the same candle).

    The rank ``2 * index + 1`` for a pivot high, ``2 * index`` for a pivot low orders candidates by
    recency (and a high before a low of the same candle): it breaks ties between equally strong levels.
    """
    is_high = pivot_highs(high, start, end, PIVOT_ORDER)
    is_low = pivot_lows(low, start, end, PIVOT_ORDER)
    index = np.arange(start, end)
    at_high, at_low = index[is_high], index[is_low]
    order = np.argsort(np.concatenate((2 * at_high, 2 * at_low + 1)))
    price = np.concatenate((high[start:end][is_high], low[start:end][is_low]))[order]
    rank = np.concatenate((2 * at_high + 1, 2 * at_low))[order]
    return price, rank


@kernel
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


@kernel
def _visit_matrix(high: np.ndarray, low: np.ndarray, close: np.ndarray, start: int, end: int,
                  prices: np.ndarray, tol: float) -> np.ndarray:
    """Candles of ``[start, end)`` x ``prices``: whether a visit to that price begins at that candle."""
    band = prices * tol
    touching = ((np.abs(high[start:end, None] - prices) <= band) | (np.abs(low[start:end, None] - prices) <= band)
                | (np.abs(close[start:end, None] - prices) <= band))
    return _run_starts(touching)


@kernel
def _visits_of(high: np.ndarray, low: np.ndarray, close: np.ndarray, start: int, end: int,
               prices: np.ndarray, tol: float) -> np.ndarray:
    """:func:`count_visits` for many prices at once."""
    if end <= start:
        return np.zeros(len(prices), dtype=np.int64)
    return _visit_matrix(high, low, close, start, end, prices, tol).sum(axis=0).astype(np.int64)


@kernel
def window_levels(high: np.ndarray, low: np.ndarray, close: np.ndarray, start: int, end: int,
                  tol: float, min_touches: int) -> tuple[np.ndarray, np.ndarray]:
    """Level prices and their visit counts in candles ``[start, end)``, strongest first."""
    prices, ranks = _candidates(high, low, start, end)
    visits = _visits_of(high, low, close, start, end, prices, tol)
    return strongest_distinct(prices, visits, ranks, tol, min_touches, 2 * len(high) + 2)


@kernel
def all_pivots(high: np.ndarray, low: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every pivot of the series (price, candle index, rank), in candle order.

    A pivot at ``i`` needs only candles ``i - PIVOT_ORDER .. i + PIVOT_ORDER``, so it is a candidate of
    exactly the windows ``[start, end)`` with ``start + PIVOT_ORDER <= i < end - PIVOT_ORDER``.
    """
    prices, ranks = _candidates(high, low, 0, len(high))
    return prices, ranks // 2, ranks


@kernel
def _none_counted_for(counted_for: np.ndarray, lo: int, hi: int, window: int) -> bool:
    """Whether no pivot in ``[lo, hi)`` holds its count for the window ending at ``window``."""
    for k in range(lo, hi):
        if counted_for[k] == window:
            return False
    return True


@kernel
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
    if _none_counted_for(counted_for, lo, hi, t - 1):  # a scan's first window (a live decision): all at once
        visits[lo:hi] = _visits_of(high, low, close, start, end, prices[lo:hi], tol)
        counted_for[lo:hi] = t
    for k in range(lo, hi):
        if counted_for[k] == t:
            continue
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
    begins = _visit_matrix(high, low, close, start, end, prices, tol)
    levels = []
    for column, price in enumerate(prices):
        kind = "support" if price <= reference_price else "resistance"
        levels.append(Level(float(price), kind, tuple(timestamps[start + np.flatnonzero(begins[:, column])])))
    return sorted(levels, key=lambda lv: (lv.kind != "support", abs(lv.price - reference_price)))
