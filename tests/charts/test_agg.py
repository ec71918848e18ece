"""Text drawn from cached glyphs looks like matplotlib's own, and caches never change the bytes."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from charts import render_levels_chart
from charts.agg import ChartCanvas, shared_renderer
from engines.models import Level


def _text_figure() -> Figure:
    figure = Figure(figsize=(6.4, 2.4), dpi=100, facecolor="white")
    figure.text(0.02, 0.8, "SOLUSDT 15m · 2025-05-20 00:00 UTC · SCALP LONG", fontsize=18, color="#222222")
    figure.text(0.02, 0.5, "✔ volume drop   ✘ RSI extreme   entry 166.76 ×11", fontsize=14, color="#2b5cd6")
    figure.text(0.5, 0.2, "165.2 ×8", fontsize=14, color="white",
                bbox={"boxstyle": "square,pad=0.2", "facecolor": "#1a9641", "edgecolor": "none"})
    figure.text(0.9, 0.5, "volume", fontsize=14, rotation=90)  # rotated: matplotlib's own path
    return figure


def _pixels(canvas: FigureCanvasAgg) -> np.ndarray:
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[:, :, :3].astype(int)


def test_cached_glyphs_draw_the_text_matplotlib_draws() -> None:
    theirs = _pixels(FigureCanvasAgg(_text_figure()))
    ours = _pixels(ChartCanvas(_text_figure()))
    difference = np.abs(ours - theirs).max(axis=2)
    ink = (theirs < 200).any(axis=2)
    # glyphs sit at most 1/8 px from matplotlib's place: only antialiased edges change, a little
    assert ink.sum() > 2000
    assert difference.mean() < 1.0 and np.percentile(difference[ink], 99) < 64
    assert abs(int((ours < 200).any(axis=2).sum()) - int(ink.sum())) < 0.02 * ink.sum()


def test_cold_caches_give_the_bytes_of_warm_ones(candles: pd.DataFrame, levels: tuple[Level, Level]) -> None:
    def render() -> bytes:
        return render_levels_chart(candles, pair="SOLUSDT", timeframe="15m", levels=levels)

    warm = render(), render()
    shared_renderer.cache_clear()  # a new renderer: no layouts, no glyphs, no text metrics
    assert render() == warm[0] == warm[1]


def test_text_boxes_measure_as_matplotlib_measures_them() -> None:
    theirs, ours = FigureCanvasAgg(_text_figure()), ChartCanvas(_text_figure())
    for canvas in (theirs, ours):
        canvas.draw()
    assert [tuple(t.get_window_extent(theirs.get_renderer()).bounds) for t in theirs.figure.texts] == \
           [tuple(t.get_window_extent(ours.get_renderer()).bounds) for t in ours.figure.texts]


def test_text_measures_as_freetype_set_text_measures_it() -> None:
    from matplotlib.backends.backend_agg import RendererAgg
    from matplotlib.font_manager import FontProperties

    canvas = ChartCanvas(_text_figure())
    canvas.draw()  # drawing leaves glyph offsets set on the fonts: measuring must not see them
    ours, theirs = canvas.get_renderer(), RendererAgg(640, 240, 100)
    strings = ["SOLUSDT 15m · 2025-05-20 00:00 UTC · SCALP LONG", "✔ volume drop   ✘ RSI extreme", "lp", "165.2 ×8",
               "19 May 06:30", "trend -0.1413/h", "_", "→", "drawdown %", "(×touches)", "0.000123", "Wg"]
    for size in (12, 14, 18):
        prop = FontProperties(size=size)
        for s in strings:
            assert ours.get_text_width_height_descent(s, prop, False) == \
                   theirs.get_text_width_height_descent(s, prop, False), (s, size)


def test_a_matplotlib_whose_internals_moved_gets_matplotlibs_own_text(monkeypatch, caplog) -> None:
    from charts.agg import CachingRenderer

    monkeypatch.setattr(CachingRenderer, "cached_text", True)  # restored after the test

    def moved(*args, **kwargs):
        raise AttributeError("'FT2Font' object has no attribute '_layout'")

    monkeypatch.setattr(CachingRenderer, "_layout", moved)
    monkeypatch.setattr(CachingRenderer, "_font_heights", moved)
    theirs = _pixels(FigureCanvasAgg(_text_figure()))
    ours = _pixels(ChartCanvas(_text_figure()))
    assert np.array_equal(ours, theirs)  # exactly matplotlib's drawing, no half-drawn text
    assert CachingRenderer.cached_text is False
    assert "drawing text the slower matplotlib way" in caplog.text
