"""Indicators through pandas-ta (its own implementations, never TA-Lib, so results do not depend
on which optional libraries are installed). All are causal: the value at row i uses rows <= i.

Results are memoised on the input values (a sweep evaluates the same candles under many parameter
combinations); the arrays returned are read-only.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd
import pandas_ta as ta

VOLUME_EWMA_LENGTH = 10
ATR_LENGTH = 14
CACHE_SIZE = 256


def rsi(close: pd.Series | np.ndarray, period: int) -> np.ndarray:
    """Wilder RSI of ``close``; NaN for the first ``period`` candles (pandas-ta reports from the 2nd)."""
    return _rsi(_key(close), period)


def volume_ewma(volume: pd.Series | np.ndarray, length: int = VOLUME_EWMA_LENGTH) -> np.ndarray:
    """Exponential moving average of volume (SMA-seeded, span ``length``); NaN during warm-up."""
    return _ema(_key(volume), length)


def atr(high: pd.Series | np.ndarray, low: pd.Series | np.ndarray, close: pd.Series | np.ndarray,
        length: int = ATR_LENGTH) -> np.ndarray:
    """Average true range (Wilder); NaN for the first ``length`` candles."""
    return _atr(_key(high), _key(low), _key(close), length)


def _key(values: pd.Series | np.ndarray) -> bytes:
    return np.ascontiguousarray(values, dtype=float).tobytes()


def _series(key: bytes) -> pd.Series:
    return pd.Series(np.frombuffer(key, dtype=float))


@lru_cache(maxsize=CACHE_SIZE)
def _rsi(close: bytes, period: int) -> np.ndarray:
    return _frozen(_warmed_up(_as_array(ta.rsi(_series(close), length=period, talib=False), close), period))


@lru_cache(maxsize=CACHE_SIZE)
def _ema(volume: bytes, length: int) -> np.ndarray:
    return _frozen(_as_array(ta.ema(_series(volume), length=length, talib=False), volume))


@lru_cache(maxsize=CACHE_SIZE)
def _atr(high: bytes, low: bytes, close: bytes, length: int) -> np.ndarray:
    values = ta.atr(_series(high), _series(low), _series(close), length=length, talib=False)
    return _frozen(_warmed_up(_as_array(values, close), length))


def _warmed_up(values: np.ndarray, warm_up: int) -> np.ndarray:
    """``values`` with the first ``warm_up`` entries set to NaN (too little history to mean anything)."""
    values = values.copy()
    values[:warm_up] = np.nan
    return values


def _as_array(values: pd.Series | None, key: bytes) -> np.ndarray:
    """pandas-ta returns None when the series is shorter than the indicator's length."""
    if values is None:
        return np.full(len(key) // 8, np.nan)
    return values.to_numpy(dtype=float)


def _frozen(values: np.ndarray) -> np.ndarray:
    values.setflags(write=False)
    return values
