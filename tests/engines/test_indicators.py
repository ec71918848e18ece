"""pandas-ta indicators cross-checked against TA-Lib on real candles."""

import numpy as np
import pytest
import talib

from engines import indicators

WARM_UP = 500  # Wilder/EMA seeds differ between libraries; after this they agree to float precision


@pytest.mark.parametrize("period", [7, 14])
def test_rsi_matches_talib(sol_15m, period):
    ours = indicators.rsi(sol_15m["close"], period)
    theirs = talib.RSI(sol_15m["close"].to_numpy(), timeperiod=period)
    assert np.isnan(ours[: period]).all()
    assert np.max(np.abs(ours[WARM_UP:] - theirs[WARM_UP:])) < 1e-9


def test_volume_ewma_matches_talib_ema(sol_15m):
    ours = indicators.volume_ewma(sol_15m["volume"])
    theirs = talib.EMA(sol_15m["volume"].to_numpy(), timeperiod=10)
    assert np.isnan(ours[:9]).all() and not np.isnan(ours[9])
    assert np.max(np.abs(ours[9:] - theirs[9:]) / theirs[9:]) < 1e-12


def test_atr_matches_talib(sol_1h):
    ours = indicators.atr(sol_1h["high"], sol_1h["low"], sol_1h["close"])
    theirs = talib.ATR(*(sol_1h[c].to_numpy() for c in ("high", "low", "close")), timeperiod=14)
    assert np.max(np.abs(ours[WARM_UP:] - theirs[WARM_UP:])) < 1e-9


def test_short_series_gives_nan_not_an_error(sol_15m):
    assert np.isnan(indicators.rsi(sol_15m["close"].iloc[:5], 7)).all()
