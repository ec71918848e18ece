"""render_levels_chart on real SOLUSDT 15m candles."""

from __future__ import annotations

import pandas as pd
import pytest

from charts import render_levels_chart
from charts.style import ENTRY, RESISTANCE, SUPPORT, SWING, TREND
from engines.errors import CandleError
from engines.levels import find_levels
from engines.models import Level, Signal, Swing, Trend
from engines.params import DEFAULT_PARAMS
from tests.charts.pixels import PNG_SIGNATURE, colour_mask, decode_png, widest_row

ACROSS_THE_CHART = 900  # px of one colour in one row: a line over the ~1060 px wide price panel


@pytest.fixture(scope="module")
def png(candles: pd.DataFrame, levels: tuple[Level, Level], trend: Trend, swings: tuple[Swing, Swing]) -> bytes:
    return render_levels_chart(candles, pair="SOLUSDT", timeframe="15m", levels=levels, trend=trend,
                               swings=swings)


def test_the_chart_is_a_png(png: bytes) -> None:
    assert png[:8] == PNG_SIGNATURE


def test_the_chart_is_1280_by_720_pixels(png: bytes) -> None:
    assert decode_png(png).shape == (720, 1280, 3)


def test_the_support_line_crosses_the_chart_in_green(png: bytes) -> None:
    assert widest_row(decode_png(png), SUPPORT) >= ACROSS_THE_CHART


def test_the_resistance_line_crosses_the_chart_in_red(png: bytes) -> None:
    assert widest_row(decode_png(png), RESISTANCE) >= ACROSS_THE_CHART


def test_the_trend_line_is_drawn(png: bytes) -> None:
    assert colour_mask(decode_png(png), TREND, tolerance=10).sum() >= 500


def test_swing_markers_are_drawn(png: bytes) -> None:
    assert colour_mask(decode_png(png), SWING).sum() >= 200


def test_without_levels_no_pixel_is_support_green(candles: pd.DataFrame) -> None:
    png = render_levels_chart(candles, pair="SOLUSDT", timeframe="15m", levels=())
    assert colour_mask(decode_png(png), SUPPORT).sum() == 0


def test_a_signal_adds_its_entry_line(candles: pd.DataFrame, levels: tuple[Level, Level], signal: Signal) -> None:
    png = render_levels_chart(candles, pair="SOLUSDT", timeframe="15m", levels=levels, signal=signal)
    assert widest_row(decode_png(png), ENTRY) >= ACROSS_THE_CHART


def test_the_levels_the_engine_finds_are_drawn(candles: pd.DataFrame) -> None:
    close = float(candles["close"].iloc[-1])
    found = find_levels(candles.tail(DEFAULT_PARAMS.sr_lookback), DEFAULT_PARAMS, close)
    png = render_levels_chart(candles, pair="SOLUSDT", timeframe="15m", levels=found)
    colour = SUPPORT if found[0].kind == "support" else RESISTANCE
    assert widest_row(decode_png(png), colour) >= ACROSS_THE_CHART


def test_rendering_twice_gives_the_same_bytes(candles: pd.DataFrame, levels: tuple[Level, Level], trend: Trend,
                                              swings: tuple[Swing, Swing], png: bytes) -> None:
    again = render_levels_chart(candles, pair="SOLUSDT", timeframe="15m", levels=levels, trend=trend,
                                swings=swings)
    assert again == png


def test_one_candle_is_not_a_chart(candles: pd.DataFrame) -> None:
    with pytest.raises(CandleError, match="at least 2 candles"):
        render_levels_chart(candles.tail(1), pair="SOLUSDT", timeframe="15m", levels=())
