"""render_position_chart on real SOLUSDT 15m candles."""

from __future__ import annotations

import pandas as pd
import pytest

from charts import render_position_chart
from charts.position_chart import unrealised_pct
from charts.style import ENTRY, LAST_PRICE, STOP_LOSS, TAKE_PROFIT
from engines.errors import InvalidInput
from tests.charts.pixels import PNG_SIGNATURE, decode_png, widest_row

OPENED = 90  # the position was opened at the open of the window's 91st candle


def render(candles: pd.DataFrame, opened_at: pd.Timestamp) -> bytes:
    entry = float(candles["open"].iloc[OPENED])
    return render_position_chart(candles, pair="SOLUSDT", side="SHORT", entry=entry, tp=round(entry * 0.99, 2),
                                 sl=round(entry * 1.01, 2), opened_at=opened_at,
                                 last_price=float(candles["close"].iloc[-1]))


@pytest.fixture(scope="module")
def png(candles: pd.DataFrame) -> bytes:
    return render(candles, candles["timestamp"].iloc[OPENED])


def test_the_chart_is_a_1280_by_720_png(png: bytes) -> None:
    assert (png[:8], decode_png(png).shape) == (PNG_SIGNATURE, (720, 1280, 3))


def test_the_entry_line_is_drawn_across(png: bytes) -> None:
    assert widest_row(decode_png(png), ENTRY) >= 900


@pytest.mark.parametrize("colour", [TAKE_PROFIT, STOP_LOSS, LAST_PRICE])
def test_take_profit_stop_loss_and_last_price_are_drawn(png: bytes, colour: str) -> None:
    assert widest_row(decode_png(png), colour) >= 300


def test_rendering_twice_gives_the_same_bytes(candles: pd.DataFrame, png: bytes) -> None:
    assert render(candles, candles["timestamp"].iloc[OPENED]) == png


def test_an_opening_time_without_a_zone_is_refused(candles: pd.DataFrame) -> None:
    with pytest.raises(InvalidInput, match="timezone-aware"):
        render(candles, candles["timestamp"].iloc[OPENED].tz_localize(None))


@pytest.mark.parametrize("side, expected", [("LONG", 2.0), ("SHORT", -2.0)])
def test_unrealised_pct_is_signed_by_side(side: str, expected: float) -> None:
    assert unrealised_pct(side, 150.0, 153.0) == pytest.approx(expected)
