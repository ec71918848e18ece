"""Support and resistance lines with their touches: green support, red resistance."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from charts.candle_panel import CandlePanel
from charts.price_lines import PriceTag, draw_price_lines, format_price
from charts.style import RESISTANCE, SUPPORT
from engines.models import Level

KIND_COLOURS = {"support": SUPPORT, "resistance": RESISTANCE}


def level_tag_text(level: Level) -> str:
    """``150.23 ×3``: price and touch count (just the price when the touches are unknown)."""
    price = format_price(level.price)
    return f"{price} ×{level.touches}" if level.touches else price


def draw_levels(panel: CandlePanel, levels: Sequence[Level], *,
                highlight: Level | None = None) -> list[PriceTag]:
    """Lines across the panel and a dot at every touch; returns the price tags to draw last."""
    for kind, colour in KIND_COLOURS.items():
        of_kind = [level for level in levels if level.kind == kind]
        draw_price_lines(panel, [level.price for level in of_kind], colour,
                         widths=[3.5 if level == highlight else 2.0 for level in of_kind], label=f"{kind} (×touches)")
        _draw_touches(panel, of_kind, colour)
    return [PriceTag(level.price, level_tag_text(level), KIND_COLOURS[level.kind]) for level in levels]


def _draw_touches(panel: CandlePanel, levels: Sequence[Level], colour: str) -> None:
    """One dot per touch, on the touching candle at the level's price (one collection per kind)."""
    xs = panel.x_of_candles([time for level in levels for time in level.touch_times])
    ys = np.array([level.price for level in levels for _ in level.touch_times])
    shown = ~np.isnan(xs)
    if shown.any():
        panel.price.scatter(xs[shown], ys[shown], s=70, color=colour, edgecolors="white", linewidths=1.2,
                            zorder=5)
