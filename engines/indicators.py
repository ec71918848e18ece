"""Indicators as small recursive kernels: one update step per candle, used for a whole series
(backtest) and one candle at a time (the live bot's per-pair state), so both give the same bits.

The definitions are pandas-ta's (``ta.rsi``, ``ta.ema``, ``ta.atr`` with ``talib=False``), computed
the way pandas' ``ewm(adjust=False)`` computes them; a test checks every value against pandas-ta on
real candles. All are causal: the value at row i uses rows <= i. One difference, on purpose: pandas-ta
adds a machine epsilon to *every* high-low range of a series as soon as *one* candle of it has a zero
range, which makes old values depend on later candles; here only the zero range itself gets it.

* ``rsi``: Wilder RSI (RMA, alpha 1/period, of gains and losses); NaN for the first ``period`` candles.
* ``volume_ewma``: EMA of span ``length`` seeded with the SMA of the first ``length`` values.
* ``atr``: Wilder ATR of the true range, seeded with the SMA of the first ``length`` ranges; NaN for
  the first ``length`` candles.
"""

from __future__ import annotations

import sys

import numpy as np

from engines.jit import kernel

VOLUME_EWMA_LENGTH = 10
ATR_LENGTH = 14
EPSILON = sys.float_info.epsilon


def ewm_alpha_from_span(span: float) -> float:
    """pandas' smoothing factor for ``ewm(span=...)`` (through its centre of mass, as pandas does)."""
    return 1.0 / (1.0 + (span - 1) / 2.0)


def ewm_alpha_from_alpha(alpha: float) -> float:
    """pandas' smoothing factor for ``ewm(alpha=...)`` after its round trip through the centre of mass."""
    return 1.0 / (1.0 + (1.0 - alpha) / alpha)


def seed_mean(values: np.ndarray) -> float:
    """The SMA seed exactly as pandas' ``Series.mean`` sums it (numpy's pairwise sum)."""
    return float(np.sum(np.asarray(values, dtype=float)) / len(values))


@kernel
def ewm_step(weighted: float, value: float, alpha: float) -> float:
    """One step of pandas' ``ewm(adjust=False).mean()`` (NaN ``weighted`` = no observation yet)."""
    if np.isnan(value):
        return weighted
    if np.isnan(weighted):
        return value
    if weighted != value:
        old = 1.0 * (1.0 - alpha)
        return (old * weighted + alpha * value) / (old + alpha)
    return weighted


@kernel
def rsi_step(gain_avg: float, loss_avg: float, change: float, alpha: float) -> tuple[float, float, float]:
    """Feed one close-to-close ``change``; returns (gain average, loss average, RSI)."""
    gain = change if change >= 0.0 else 0.0
    loss = change if change <= 0.0 else 0.0
    gain_avg = ewm_step(gain_avg, gain, alpha)
    loss_avg = ewm_step(loss_avg, loss, alpha)
    total = gain_avg + abs(loss_avg)
    return gain_avg, loss_avg, 100.0 * gain_avg / total if total != 0.0 else np.nan  # flat closes: NaN


@kernel
def true_range(high: float, low: float, previous_close: float) -> float:
    """max(high - low, |high - previous close|, |previous close - low|); NaN previous close: the range."""
    span = high - low
    if span == 0.0:
        span += EPSILON
    span = abs(span)
    if np.isnan(previous_close):
        return span
    return max(span, abs(high - previous_close), abs(previous_close - low))


@kernel
def _rsi_series(close: np.ndarray, alpha: float) -> np.ndarray:
    out = np.full(len(close), np.nan)
    gain_avg, loss_avg = np.nan, np.nan
    for i in range(1, len(close)):
        gain_avg, loss_avg, out[i] = rsi_step(gain_avg, loss_avg, close[i] - close[i - 1], alpha)
    return out


@kernel
def _seeded_ewm_series(values: np.ndarray, seed: float, length: int, alpha: float) -> np.ndarray:
    out = np.full(len(values), np.nan)
    weighted = seed
    out[length - 1] = seed
    for i in range(length, len(values)):
        weighted = ewm_step(weighted, values[i], alpha)
        out[i] = weighted
    return out


@kernel
def _true_ranges(high: np.ndarray, low: np.ndarray, close: np.ndarray) -> np.ndarray:
    out = np.empty(len(close))
    for i in range(len(close)):
        out[i] = true_range(high[i], low[i], close[i - 1] if i > 0 else np.nan)
    return out


def _array(values) -> np.ndarray:  # noqa: ANN001
    return np.ascontiguousarray(values, dtype=float)


def rsi(close, period: int) -> np.ndarray:  # noqa: ANN001
    """Wilder RSI of ``close``; NaN for the first ``period`` candles (too little history to mean anything)."""
    close = _array(close)
    if len(close) < period + 1:
        return np.full(len(close), np.nan)
    out = _rsi_series(close, ewm_alpha_from_alpha(1.0 / period))
    out[:period] = np.nan
    return out


def volume_ewma(volume, length: int = VOLUME_EWMA_LENGTH) -> np.ndarray:  # noqa: ANN001
    """SMA-seeded EMA of volume (span ``length``); NaN during warm-up."""
    volume = _array(volume)
    if len(volume) < length:
        return np.full(len(volume), np.nan)
    return _seeded_ewm_series(volume, seed_mean(volume[:length]), length, ewm_alpha_from_span(length))


def atr(high, low, close, length: int = ATR_LENGTH) -> np.ndarray:  # noqa: ANN001
    """Wilder average true range; NaN for the first ``length`` candles."""
    high, low, close = _array(high), _array(low), _array(close)
    if len(close) < length:
        return np.full(len(close), np.nan)
    ranges = _true_ranges(high, low, close)
    out = _seeded_ewm_series(ranges, seed_mean(ranges[:length]), length, ewm_alpha_from_alpha(1.0 / length))
    out[:length] = np.nan
    return out
