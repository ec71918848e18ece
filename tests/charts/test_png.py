"""Rendering from several threads at once gives the same bytes as one render alone."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd

from charts import render_levels_chart
from charts.png import encode_png
from engines.models import Level
from tests.charts.pixels import PNG_SIGNATURE, decode_png


def test_renders_in_parallel_threads_equal_a_render_alone(candles: pd.DataFrame,
                                                          levels: tuple[Level, Level]) -> None:
    def render(count: int) -> bytes:
        return render_levels_chart(candles.tail(count), pair="SOLUSDT", timeframe="15m", levels=levels)

    alone = [render(count) for count in (60, 90, 120)]
    with ThreadPoolExecutor(max_workers=3) as pool:
        together = list(pool.map(render, (60, 90, 120)))
    assert together == alone


def test_the_encoder_keeps_every_pixel() -> None:
    rng = np.random.default_rng(7)
    rgba = np.full((37, 53, 4), 255, dtype=np.uint8)
    rgba[:, :, :3] = rng.integers(0, 256, size=(37, 53, 3), dtype=np.uint8)
    rgba[10:20] = (255, 255, 255, 255)  # flat rows, as most of a chart is
    png = encode_png(rgba)
    assert (png[:8], decode_png(png).tolist()) == (PNG_SIGNATURE, rgba[:, :, :3].tolist())
