"""render_signal_chart on real SOLUSDT 15m candles, and what its check box says."""

from __future__ import annotations

import pandas as pd
import pytest

from charts import render_signal_chart
from charts.signal_chart import checks_text, tagged_level
from charts.style import ENTRY, RESISTANCE, STOP_LOSS, SUPPORT, TAKE_PROFIT
from engines.models import Level, Signal
from tests.charts.pixels import PNG_SIGNATURE, decode_png, widest_row

ACROSS_THE_CHART = 900
DASHED_ACROSS = 450  # a dashed line colours about half of its row


@pytest.fixture(scope="module")
def png(candles: pd.DataFrame, signal: Signal, levels: tuple[Level, Level]) -> bytes:
    return render_signal_chart(candles, signal, levels=levels, title_note="confidence 72")


def test_the_chart_is_a_1280_by_720_png(png: bytes) -> None:
    assert (png[:8], decode_png(png).shape) == (PNG_SIGNATURE, (720, 1280, 3))


def test_the_tagged_support_is_drawn_across_in_green(png: bytes) -> None:
    assert widest_row(decode_png(png), SUPPORT) >= ACROSS_THE_CHART


def test_the_entry_line_is_drawn_across(png: bytes) -> None:
    assert widest_row(decode_png(png), ENTRY) >= ACROSS_THE_CHART


def test_the_take_profit_line_is_drawn(png: bytes) -> None:
    assert widest_row(decode_png(png), TAKE_PROFIT) >= DASHED_ACROSS


def test_the_stop_loss_line_is_drawn(png: bytes) -> None:
    assert widest_row(decode_png(png), STOP_LOSS) >= DASHED_ACROSS


def test_without_level_objects_the_signals_own_prices_are_drawn(candles: pd.DataFrame, signal: Signal) -> None:
    png = render_signal_chart(candles, signal)
    assert widest_row(decode_png(png), RESISTANCE) >= ACROSS_THE_CHART


def test_rendering_twice_gives_the_same_bytes(candles: pd.DataFrame, signal: Signal,
                                              levels: tuple[Level, Level], png: bytes) -> None:
    assert render_signal_chart(candles, signal, levels=levels, title_note="confidence 72") == png


def test_the_checks_line_marks_every_check_and_gives_the_confidence(signal: Signal) -> None:
    assert checks_text(signal) == ("✔ volume drop   ✔ double wick   ✘ RSI extreme   ✘ order-book flip"
                                   "   ·   confidence 72 %")


def test_a_long_is_tagged_at_the_support_nearest_its_entry(signal: Signal, levels: tuple[Level, Level]) -> None:
    far = Level(levels[0].price - 5.0, "support", ())
    assert tagged_level([far, *levels], signal) == levels[0]


def test_a_short_is_tagged_at_a_resistance(signal: Signal, levels: tuple[Level, Level]) -> None:
    short = signal.model_copy(update={"side": "SHORT"})
    assert tagged_level(levels, short) == levels[1]
