"""Rendering from several threads at once gives the same bytes as one render alone."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pandas as pd

from charts import render_levels_chart
from engines.models import Level


def test_renders_in_parallel_threads_equal_a_render_alone(candles: pd.DataFrame,
                                                          levels: tuple[Level, Level]) -> None:
    def render(count: int) -> bytes:
        return render_levels_chart(candles.tail(count), pair="SOLUSDT", timeframe="15m", levels=levels)

    alone = [render(count) for count in (60, 90, 120)]
    with ThreadPoolExecutor(max_workers=3) as pool:
        together = list(pool.map(render, (60, 90, 120)))
    assert together == alone
