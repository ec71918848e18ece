"""The Agg canvas every chart is drawn on: one renderer kept from render to render, and text drawn
from cached glyph bitmaps.

Matplotlib 3.11 lays out and rasterises every glyph of every string through FreeType on each draw
(~40 us a glyph here), and a new canvas starts with an empty text-metrics cache: text was a third
of a chart's render time. Here, under :func:`charts.png.one_render_at_a_time`'s lock:

* one :class:`CachingRenderer` per pixel size is reused by every chart, so matplotlib's own
  text-metrics cache (kept per renderer) carries over from one chart to the next;
* a string's glyph layout is kept (the same tick labels, legend entries and titles come back chart
  after chart), and each glyph's bitmap is kept per font, size and quarter-pixel position, so a
  new string of known glyphs costs no rasterising at all;
* a string's glyphs are composed into one bitmap and blended in one call, as matplotlib up to 3.10
  did, instead of one call per glyph.

Glyphs are placed to a quarter pixel (matplotlib places them to 1/64): at most 1/8 px away, which
no eye sees. A cached bitmap is exactly the bitmap FreeType draws at that position, so a render
gives the same bytes whether the caches are cold or warm. Rotated text, mathtext and matplotlib
versions without this text API take matplotlib's own path.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg, get_hinting_flag
from matplotlib.font_manager import fontManager, get_font
from matplotlib.ft2font import FT2Font

try:
    from matplotlib.ft2font import RenderMode
except ImportError:  # matplotlib < 3.11: its own draw_text already draws a string in one go
    RenderMode = None

SUBPIXELS = 4  # glyph positions per pixel, in each direction
_ONE = 1 << 6  # FreeType's 26.6 fixed point: 64 units a pixel
_STEP = _ONE // SUBPIXELS
_IDENTITY = np.array([[0x10000, 0], [0, 0x10000]])  # FreeType's 16.16 unit matrix
MAX_LAYOUTS = 4096  # strings (a chart draws ~30)
MAX_GLYPHS = 8192  # bitmaps of a few hundred bytes each

Glyph = tuple[np.ndarray, int, int]  # coverage (rows top down), left column, top row (FreeType's y, upwards)
logger = logging.getLogger(__name__)
# FreeType calls and matplotlib internals the cached path uses; if a matplotlib release moves them, charts
# fall back to matplotlib's own text drawing (slower, never broken).
INTERNALS_MOVED = (AttributeError, TypeError, ValueError, KeyError, IndexError)


class CachingRenderer(RendererAgg):
    """Matplotlib's Agg renderer, drawing unrotated plain text from cached layouts and glyphs."""

    cached_text = RenderMode is not None  # off for good once matplotlib's internals did not fit

    @classmethod
    def _stop_caching(cls, error: Exception) -> None:
        cls.cached_text = False
        logger.warning("charts: matplotlib %s does not fit the cached text path (%s: %s); drawing text the "
                       "slower matplotlib way from now on", matplotlib.__version__, type(error).__name__, error)

    def __init__(self, width: int, height: int, dpi: float) -> None:
        super().__init__(width, height, dpi)
        self._layouts: dict[tuple[Any, ...], list[tuple[FT2Font, int, float, float]]] = {}
        self._glyphs: dict[tuple[Any, ...], Glyph] = {}
        self._boxes: dict[tuple[Any, ...], tuple[tuple[int, int, int, int], int]] = {}
        self._heights: dict[tuple[Any, ...], tuple[float | None, float | None, float | None]] = {}

    def _get_font_height_metrics(self, prop: Any) -> tuple[float | None, float | None, float | None]:
        """:meth:`_font_heights`; (None, None, None) makes matplotlib read them itself."""
        if self.cached_text:
            try:
                return self._font_heights(prop)
            except INTERNALS_MOVED as e:
                self._stop_caching(e)
        return None, None, None

    def _font_heights(self, prop: Any) -> tuple[float | None, float | None, float | None]:
        """Ascent, descent and line gap of ``prop``'s font, kept per font properties.

        Matplotlib's Text asks the renderer for these when the renderer has this method (its
        PDF/PS backends do); otherwise it reads the font's OS/2 or hhea table itself, for every
        text on every draw (~70 us each). Same figures as matplotlib computes (text.Text._get_layout).
        """
        key = (tuple(prop.get_family()), prop.get_style(), prop.get_variant(), prop.get_weight(),
               prop.get_stretch(), prop.get_size_in_points(), prop.get_file(), prop.get_math_fontfamily(), self.dpi)
        heights = self._heights.get(key)
        if heights is None:
            heights = None, None, None
            font = get_font(fontManager._find_fonts_by_props(prop))
            for table_name, gap_key, ascent_key, descent_key in (
                    ("OS/2", "sTypoLineGap", "sTypoAscender", "sTypoDescender"), ("hhea", "lineGap", "ascent", "descent")):
                table = font.get_sfnt_table(table_name)
                if table is not None:
                    scale = prop.get_size_in_points() * self.dpi / 72 / font.get_sfnt_table("head")["unitsPerEm"]
                    heights = table[ascent_key] * scale, -table[descent_key] * scale, table[gap_key] * scale
                    break
            _bounded(self._heights, MAX_LAYOUTS)[key] = heights
        return heights

    def draw_text(self, gc, x, y, s, prop, angle, ismath=False, mtext=None):  # noqa: ANN001, ANN201 (matplotlib's)
        if not (ismath or angle) and self.cached_text:
            try:
                return self._draw_cached_text(gc, x, y, s, prop, mtext)  # draws only once all glyphs are known
            except INTERNALS_MOVED as e:
                self._stop_caching(e)
        return super().draw_text(gc, x, y, s, prop, angle, ismath, mtext)

    def _draw_cached_text(self, gc, x, y, s, prop, mtext) -> None:  # noqa: ANN001
        flags = get_hinting_flag()
        size = prop.get_size_in_points()
        antialiased = bool(gc.get_antialiased())
        pieces = []
        for font, index, dx, dy in self._layout(s, prop, flags, mtext):
            # The glyph origin in 26.6 pixels, y upwards from the bottom (as matplotlib computes it).
            fx = round(SUBPIXELS * (x + dx)) * _STEP
            fy = round(SUBPIXELS * (self.height - y + dy)) * _STEP
            coverage, left, top = self._glyph(font, size, index, fx % _ONE, fy % _ONE, flags, antialiased)
            if coverage.size:
                pieces.append((coverage, fx // _ONE + left, fy // _ONE + top))
        if not pieces:
            return None
        left = min(column for _, column, _ in pieces)
        right = max(column + coverage.shape[1] for coverage, column, _ in pieces)
        top = max(row for _, _, row in pieces)
        bottom = min(row - coverage.shape[0] for coverage, _, row in pieces)
        image = np.zeros((top - bottom, right - left), dtype=np.uint8)
        for coverage, column, row in pieces:
            area = image[top - row:top - row + coverage.shape[0], column - left:column - left + coverage.shape[1]]
            np.maximum(area, coverage, out=area)
        # draw_text_image takes the image's left column and its bottom row counted down from the top.
        self._renderer.draw_text_image(image, left, int(self.height) - top + image.shape[0], 0, gc)
        return None

    def get_text_width_height_descent(self, s, prop, ismath):  # noqa: ANN001, ANN201 (matplotlib's)
        """Width, height and descent of ``s`` from its cached layout and glyph boxes, in pixels.

        The figures FT2Font.set_text gives (matplotlib's way): the pen position after the last glyph
        (its x plus its advance), and the union of the glyphs' boxes vertically (checked equal on
        12,000 strings at 4 sizes, and in tests/charts/test_agg.py). A string measured here and then
        drawn is laid out by FreeType once, not twice.
        """
        if not ismath and s and self.cached_text:
            try:
                extent = self._cached_text_extent(s, prop)
            except INTERNALS_MOVED as e:
                self._stop_caching(e)
            else:
                if extent is not None:
                    return extent
        return super().get_text_width_height_descent(s, prop, ismath)

    def _cached_text_extent(self, s: str, prop: Any) -> tuple[float, float, float] | None:
        flags = get_hinting_flag()
        size = prop.get_size_in_points()
        layout = self._layout(s, prop, flags, None)
        if not layout:
            return None
        bottom, top = float("inf"), float("-inf")
        for font, index, _, dy in layout:
            (_, low, _, high), _ = self._box(font, size, index, flags)
            shift = round(dy * _ONE)
            bottom, top = min(bottom, low + shift), max(top, high + shift)
        font, index, dx, _ = layout[-1]
        width = round(dx * _ONE) + self._box(font, size, index, flags)[1]
        return width / _ONE, (top - bottom) / _ONE, -bottom / _ONE

    def _box(self, font: FT2Font, size: float, index: int, flags: Any) -> tuple[tuple[int, int, int, int], int]:
        """A glyph's box (26.6, from its origin) and advance, untransformed."""
        key = (font.fname, size, self.dpi, index, flags)
        box = self._boxes.get(key)
        if box is None:
            font.set_size(size, self.dpi)
            font._set_transform(_IDENTITY, [0, 0])  # draw_text leaves a glyph's offset set
            glyph = font.load_glyph(index, flags)
            box = _bounded(self._boxes, MAX_GLYPHS)[key] = (glyph.bbox, glyph.horiAdvance)
        return box

    def _layout(self, s: str, prop: Any, flags: Any, mtext: Any) -> list[tuple[FT2Font, int, float, float]]:
        """(font, glyph index, x, y) of each glyph of ``s``, in pixels from the text's origin."""
        font = self._prepare_font(prop)
        features = mtext.get_fontfeatures() if mtext is not None else None
        language = mtext.get_language() if mtext is not None else None
        key = (font, prop.get_size_in_points(), self.dpi, flags, s, features, language)
        layout = self._layouts.get(key)
        if layout is None:
            items = font._layout(s, flags=flags, features=features, language=language)
            layout = [(item.ft_object, item.glyph_index, item.x, item.y) for item in items]
            _bounded(self._layouts, MAX_LAYOUTS)[key] = layout
        return layout

    def _glyph(self, font: FT2Font, size: float, index: int, fx: int, fy: int, flags: Any,
               antialiased: bool) -> Glyph:
        """The glyph's coverage bitmap with its origin at (fx, fy) 26.6 units into pixel (0, 0)."""
        key = (font.fname, size, self.dpi, index, fx, fy, flags, antialiased)
        glyph = self._glyphs.get(key)
        if glyph is None:
            font.set_size(size, self.dpi)
            font._set_transform(_IDENTITY, [fx, fy])
            bitmap = font._render_glyph(index, flags, RenderMode.NORMAL if antialiased else RenderMode.MONO)
            coverage = np.array(bitmap.buffer, dtype=np.uint8)
            if not antialiased:
                coverage *= 0xFF
            glyph = _bounded(self._glyphs, MAX_GLYPHS)[key] = (coverage, bitmap.left, bitmap.top)
        return glyph


def _bounded(cache: dict, limit: int) -> dict:
    """``cache``, emptied first when full (renders stay identical: entries are only ever recomputed)."""
    if len(cache) >= limit:
        cache.clear()
    return cache


@functools.lru_cache(maxsize=4)
def shared_renderer(width: int, height: int, dpi: float) -> CachingRenderer:
    """The one renderer of this pixel size (charts are drawn one at a time, see charts.png)."""
    return CachingRenderer(width, height, dpi)


class ChartCanvas(FigureCanvasAgg):
    """An Agg canvas drawing on the shared renderer of its size instead of a new one."""

    def get_renderer(self) -> CachingRenderer:
        width, height = self.get_width_height(physical=True)
        self.renderer = shared_renderer(width, height, self.figure.dpi)
        return self.renderer
