"""The candle panel's time axis on the real SOLUSDT window (120 x 15m, 2025-05-18 18:00 .. 05-19 23:45)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from charts.candle_panel import CandlePanel, draw_candle_panel
from engines.errors import InvalidInput


@pytest.fixture(scope="module")
def panel(candles: pd.DataFrame) -> CandlePanel:
    return draw_candle_panel(candles)


def test_the_timeframe_is_read_from_the_candles(panel: CandlePanel) -> None:
    assert panel.timeframe == "15m"


def test_the_chart_time_is_the_last_candles_close(panel: CandlePanel) -> None:
    assert panel.decision_time == pd.Timestamp("2025-05-20 00:00", tz="UTC")


def test_a_time_maps_to_the_centre_of_the_candle_that_contains_it(panel: CandlePanel) -> None:
    assert panel.x_of_candle(pd.Timestamp("2025-05-18 19:07", tz="UTC")) == 4.0


def test_a_time_outside_the_candles_has_no_x(panel: CandlePanel) -> None:
    times = [pd.Timestamp("2025-05-18 17:59", tz="UTC"), pd.Timestamp("2025-05-20 00:00", tz="UTC")]
    assert np.isnan(panel.x_of_candles(times)).tolist() == [True, True]


def test_continuous_x_runs_from_the_first_open_to_the_last_close(panel: CandlePanel) -> None:
    times = pd.Series([pd.Timestamp(t, tz="UTC") for t in ("2025-05-18 18:00", "2025-05-19 06:07:30",
                                                            "2025-05-20 00:00")])
    assert panel.x_of_times(times).tolist() == [-0.5, 48.0, 119.5]


def test_naive_times_are_refused(panel: CandlePanel) -> None:
    with pytest.raises(InvalidInput, match="timezone-aware UTC"):
        panel.x_of_candles([pd.Timestamp("2025-05-19 06:00")])
