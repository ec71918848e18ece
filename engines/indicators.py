"""Indicators through pandas-ta (its own implementations, never TA-Lib, so results do not depend
on which optional libraries are installed). All are causal: the value at row i uses rows <= i."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pandas_ta as ta

VOLUME_EWMA_LENGTH = 10
ATR_LENGTH = 14


def rsi(close: pd.Series, period: int) -> np.ndarray:
    """Wilder RSI of ``close``; NaN for the first ``period`` candles (pandas-ta reports from the 2nd)."""
    values = ta.rsi(close.reset_index(drop=True), length=period, talib=False)
    return _warmed_up(_as_array(values, len(close)), period)


def volume_ewma(volume: pd.Series, length: int = VOLUME_EWMA_LENGTH) -> np.ndarray:
    """Exponential moving average of volume (SMA-seeded, span ``length``); NaN during warm-up."""
    values = ta.ema(volume.reset_index(drop=True), length=length, talib=False)
    return _as_array(values, len(volume))


def atr(high: pd.Series, low: pd.Series, close: pd.Series, length: int = ATR_LENGTH) -> np.ndarray:
    """Average true range (Wilder); NaN during warm-up."""
    values = ta.atr(high.reset_index(drop=True), low.reset_index(drop=True), close.reset_index(drop=True),
                    length=length, talib=False)
    return _warmed_up(_as_array(values, len(close)), length)


def _warmed_up(values: np.ndarray, warm_up: int) -> np.ndarray:
    """``values`` with the first ``warm_up`` entries set to NaN (too little history to mean anything)."""
    values = values.copy()
    values[:warm_up] = np.nan
    return values


def _as_array(values: pd.Series | None, length: int) -> np.ndarray:
    """pandas-ta returns None when the series is shorter than the indicator's length."""
    if values is None:
        return np.full(length, np.nan)
    return values.to_numpy(dtype=float)
