"""The price scale and the price tags never cover each other: on an hourly /levels chart with a dozen
levels (real SOLUSDT 1h candles, the levels the engine found) every price tick label stays readable."""

from __future__ import annotations

import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg

from charts.candle_panel import draw_candle_panel
from charts.level_lines import draw_levels
from charts.price_lines import draw_price_tags
from engines.candles import CandleArrays, resample
from engines.micro import levels_before
from engines.params import DEFAULT_PARAMS
from market.files import read_candles
from tests.conftest import SAMPLE


@pytest.fixture(scope="module")
def hourly_panel():
    h1 = resample(read_candles(SAMPLE, "SOLUSDT", "1m"), "1h")
    h1 = h1[h1["timestamp"] < pd.Timestamp("2025-05-15 02:00", tz="UTC")].reset_index(drop=True)
    levels = levels_before(CandleArrays.of(h1), len(h1) - 1, DEFAULT_PARAMS)
    panel = draw_candle_panel(h1.tail(DEFAULT_PARAMS.sr_lookback + 24))
    draw_price_tags(panel.price, draw_levels(panel, levels))
    FigureCanvasAgg(panel.figure).draw()
    return panel, levels


def test_every_price_tick_label_is_clear_of_every_tag(hourly_panel) -> None:
    panel, levels = hourly_panel
    assert len(levels) == 11  # a crowded chart: the tags fill most of the price range
    renderer = panel.figure.canvas.get_renderer()
    labels = [t for t in panel.price.yaxis.get_ticklabels() if t.get_visible() and t.get_text()]
    tags = [t.get_bbox_patch().get_window_extent(renderer) for t in panel.price.texts]
    assert len(tags) == 11 and len(labels) >= 5
    for label in labels:
        box = label.get_window_extent(renderer)
        assert not any(box.overlaps(tag) for tag in tags), label.get_text()
        assert box.x0 >= 0  # inside the figure: not cut off at the left edge
