"""render_equity_chart on real closes: SOLUSDT and BTCUSDT 1h buy-and-hold equity, May 2025."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from charts import render_equity_chart
from charts.equity_chart import drawdown_pct
from charts.style import BAND, BENCHMARK, DRAWDOWN, EQUITY
from engines.candles import resample
from engines.errors import InvalidInput
from market.files import read_candles
from tests.charts.pixels import PNG_SIGNATURE, blend_on_white, colour_mask, decode_png
from tests.conftest import M1_2025, SAMPLE


def hold_equity(symbol: str) -> pd.Series:
    h1 = resample(read_candles(M1_2025, symbol, "1m"), "1h")
    closes = pd.Series(h1["close"].to_numpy(), index=pd.DatetimeIndex(h1["timestamp"]))
    return (10_000.0 * closes / closes.iloc[0]).rename(f"{symbol} hold")


@pytest.fixture(scope="module")
def equity() -> pd.Series:
    return hold_equity("SOLUSDT")


@pytest.fixture(scope="module")
def png(equity: pd.Series) -> bytes:
    return render_equity_chart(equity, title="SOL hold", benchmark=hold_equity("BTCUSDT"))


def test_the_chart_is_a_1280_by_720_png(png: bytes) -> None:
    assert (png[:8], decode_png(png).shape) == (PNG_SIGNATURE, (720, 1280, 3))


def test_the_equity_curve_is_drawn(png: bytes) -> None:
    assert colour_mask(decode_png(png), EQUITY, tolerance=10).sum() >= 2000


def test_the_benchmark_is_drawn(png: bytes) -> None:
    assert colour_mask(decode_png(png), BENCHMARK, tolerance=10).sum() >= 500


def test_the_drawdown_area_is_filled(png: bytes) -> None:
    assert colour_mask(decode_png(png), blend_on_white(DRAWDOWN, 0.35), tolerance=2).sum() >= 5000


def test_rendering_twice_gives_the_same_bytes(equity: pd.Series, png: bytes) -> None:
    assert render_equity_chart(equity, title="SOL hold", benchmark=hold_equity("BTCUSDT")) == png


def test_drawdown_is_percent_below_the_running_peak() -> None:
    equity = pd.Series([100.0, 110.0, 99.0, 121.0, 96.8],
                       index=pd.date_range("2025-05-05", periods=5, freq="h", tz="UTC"))
    assert drawdown_pct(equity).round(10).tolist() == [0.0, 0.0, -10.0, 0.0, -20.0]


def test_equity_without_a_time_zone_is_refused(equity: pd.Series) -> None:
    with pytest.raises(InvalidInput, match="timezone-aware UTC"):
        render_equity_chart(equity.tz_localize(None), title="naive")


def test_a_single_point_is_refused(equity: pd.Series) -> None:
    with pytest.raises(InvalidInput, match="at least 2 points"):
        render_equity_chart(equity.head(1), title="one")


def sample_hold(symbol: str) -> pd.Series:
    h1 = resample(read_candles(SAMPLE, symbol, "1m"), "1h")
    return pd.Series(10_000.0 * h1["close"].to_numpy() / h1["close"].iloc[0], index=pd.DatetimeIndex(h1["timestamp"]))


@pytest.fixture(scope="module")
def band() -> pd.DataFrame:
    """A band between two real buy-and-hold curves (BTC and ETH, data/sample)."""
    btc, eth = sample_hold("BTCUSDT"), sample_hold("ETHUSDT")
    return pd.DataFrame({"low": np.minimum(btc, eth), "high": np.maximum(btc, eth)})


def test_the_band_is_filled_behind_the_curve(band: pd.DataFrame) -> None:
    png = render_equity_chart(sample_hold("SOLUSDT"), title="SOL hold", band=band)
    pixels = decode_png(png)
    assert colour_mask(pixels, blend_on_white(BAND, 0.3), tolerance=2).sum() >= 100_000
    assert colour_mask(pixels, EQUITY, tolerance=10).sum() >= 2000
    assert colour_mask(decode_png(render_equity_chart(sample_hold("SOLUSDT"), title="SOL hold")),
                       blend_on_white(BAND, 0.3), tolerance=2).sum() == 0


def test_a_band_upside_down_is_refused(band: pd.DataFrame) -> None:
    with pytest.raises(InvalidInput, match="low must not exceed high"):
        render_equity_chart(sample_hold("SOLUSDT"), title="x", band=band.rename(columns={"low": "high", "high": "low"}))
