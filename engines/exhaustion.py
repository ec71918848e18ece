"""The four exhaustion checks, each a named function of plain arrays.

* ``volume_drop``: the decision candle's volume is below ``volume_multiplier`` x the 10-period volume
  EWMA as it stood before that candle.
* ``double_wick``: at least two of the last ``wick_window`` candles (decision candle included) left a
  rejection wick at the level: their low (for a support) or high (for a resistance) lies within
  ``tolerance`` % of the level, and that wick is at least ``wick_ratio`` of the candle's range.
* ``rsi_extreme``: RSI-``rsi_period`` of the decision candle is below ``rsi_low`` (longs) or above
  ``rsi_high`` (shorts).
* ``order_book_flip``: the top-of-book imbalance (bid size - ask size) / (bid size + ask size) over the
  best ``depth`` levels crossed a band of ``±book_flip_threshold`` toward the trade since the previous
  decision: from ``<= -threshold`` to ``> threshold`` for a long, from ``>= threshold`` to
  ``< -threshold`` for a short. The band is the hysteresis: a noisy book wobbling around 0 inside it
  never flips (threshold 0 is any change of sign). No order-book history exists, so in backtests it
  is false and reported as unavailable.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from engines.jit import kernel
from engines.models import Side

BOOK_DEPTH = 10


@dataclass(frozen=True)
class BookFlip:
    """Order-book imbalance at the previous and at the current decision, and the band it must cross."""

    previous_imbalance: float
    current_imbalance: float
    threshold: float = 0.0


def book_imbalance(bids: Sequence[Sequence[float]], asks: Sequence[Sequence[float]], depth: int = BOOK_DEPTH) -> float:
    """(bid size - ask size) / (bid size + ask size) over the best ``depth`` levels, in [-1, 1]."""
    bid_size = float(sum(float(size) for _, size in list(bids)[:depth]))
    ask_size = float(sum(float(size) for _, size in list(asks)[:depth]))
    total = bid_size + ask_size
    return 0.0 if total <= 0 else (bid_size - ask_size) / total


def order_book_flip(book: BookFlip | None, side: Side) -> bool:
    """True when the imbalance crossed the band toward ``side``; false when there is no book."""
    if book is None:
        return False
    band = book.threshold
    if side == "LONG":
        return book.previous_imbalance <= -band and book.current_imbalance > band
    return book.previous_imbalance >= band and book.current_imbalance < -band


def volume_drop(volume: np.ndarray, ewma: np.ndarray, multiplier: float) -> np.ndarray:
    """Per candle: volume below ``multiplier`` x the EWMA of the candles before it."""
    previous = np.concatenate(([np.nan], ewma[:-1]))
    with np.errstate(invalid="ignore"):
        return volume < multiplier * previous


def rsi_extreme(rsi_values: np.ndarray, side: Side, low: float, high: float) -> np.ndarray:
    """Per candle: RSI oversold (LONG) or overbought (SHORT)."""
    with np.errstate(invalid="ignore"):
        return rsi_values < low if side == "LONG" else rsi_values > high


@kernel
def double_wick(open_: np.ndarray, high: np.ndarray, low: np.ndarray, close: np.ndarray, t: int,
                level: float, is_support: bool, tol: float, window: int, ratio: float) -> bool:
    """Two or more rejection wicks at ``level`` among candles ``t - window + 1 .. t``."""
    band = level * tol
    count = 0
    for i in range(max(0, t - window + 1), t + 1):
        span = high[i] - low[i]
        if span <= 0.0:
            continue
        if is_support:
            wick = min(open_[i], close[i]) - low[i]
            near = abs(low[i] - level) <= band
        else:
            wick = high[i] - max(open_[i], close[i])
            near = abs(high[i] - level) <= band
        if near and wick >= ratio * span:
            count += 1
    return count >= 2
