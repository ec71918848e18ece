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


@pytest.mark.parametrize("pair", ["BTCUSDT", "SOLUSDT", "XRPUSDT"])
def test_kernels_give_pandas_ta_values_bit_for_bit(pair):
    """The recursive kernels reproduce pandas-ta (``talib=False``) exactly, so no decision moved."""
    import pandas_ta as ta

    from engines.candles import resample
    from market.files import read_candles
    from tests.conftest import SAMPLE

    m1 = read_candles(SAMPLE, pair, "1m")
    for frame in (resample(m1, "15m"), resample(m1, "1h")):
        h, l, c, v = (frame[k] for k in ("high", "low", "close", "volume"))
        for period in (2, 7, 14, 30):
            theirs = ta.rsi(c, length=period, talib=False).to_numpy().copy()
            theirs[:period] = np.nan
            assert np.array_equal(indicators.rsi(c, period), theirs, equal_nan=True)
        assert np.array_equal(indicators.volume_ewma(v), ta.ema(v, length=10, talib=False).to_numpy(), equal_nan=True)
        theirs = ta.atr(h, l, c, length=14, talib=False).to_numpy().copy()
        theirs[:14] = np.nan
        assert np.array_equal(indicators.atr(h, l, c), theirs, equal_nan=True)


def test_a_zero_range_candle_changes_no_earlier_atr(sol_1h):
    """pandas-ta shifts every range of a series by an epsilon once one candle has high == low; ours is causal."""
    h, l, c = (sol_1h[k].to_numpy()[:300].copy() for k in ("high", "low", "close"))
    before = indicators.atr(h, l, c)
    h[299] = l[299] = c[299]
    after = indicators.atr(h, l, c)
    assert np.array_equal(before[:299], after[:299], equal_nan=True)
