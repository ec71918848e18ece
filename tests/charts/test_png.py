"""Rendering from several threads at once gives the same bytes as one render alone."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd

from charts import render_equity_chart, render_levels_chart, render_position_chart, render_signal_chart
from charts.png import encode_png
from charts.style import _SPARE_FIGURES
from engines.models import Level, Signal, Swing, Trend
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


def test_a_recycled_figure_draws_the_chart_a_new_one_draws(candles: pd.DataFrame, levels: tuple[Level, Level],
                                                           swings: tuple[Swing, Swing], trend: Trend,
                                                           signal: Signal) -> None:
    """Charts of every kind, with and without their options, after one another on the same figures."""
    closes = pd.Series(candles["close"].to_numpy(), index=pd.DatetimeIndex(candles["timestamp"]))
    band = pd.DataFrame({"low": closes * 0.98, "high": closes * 1.02})
    charts = [
        lambda: render_levels_chart(candles, pair="SOLUSDT", timeframe="15m", levels=levels, trend=trend,
                                    swings=swings, signal=signal),
        lambda: render_signal_chart(candles.tail(60), signal, levels=levels, title_note="confidence 72"),
        lambda: render_levels_chart(candles.tail(30), pair="SOLUSDT", timeframe="15m", levels=()),
        lambda: render_position_chart(candles, pair="SOLUSDT", side="SHORT", entry=signal.entry, tp=signal.sl,
                                      sl=signal.tp, opened_at=candles["timestamp"].iloc[100],
                                      last_price=signal.entry * 1.001),
        lambda: render_equity_chart(closes, title="hold", benchmark=(closes * 0.9).rename("x0.9"), band=band),
        lambda: render_equity_chart(closes.tail(50), title="hold"),
    ]
    new = []
    for chart in charts:
        _SPARE_FIGURES.clear()  # no figure to take back: each chart on a new one
        new.append(chart())
    recycled = [chart() for chart in charts + charts]
    assert recycled == new + new
