"""Support and resistance lines with their touches: green support, red resistance."""

from __future__ import annotations

from collections.abc import Sequence

from charts.candle_panel import CandlePanel
from charts.price_lines import PriceTag, draw_price_line, format_price
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
    labelled: set[str] = set()
    for level in levels:
        colour = KIND_COLOURS[level.kind]
        label = None if level.kind in labelled else f"{level.kind} (×touches)"
        labelled.add(level.kind)
        width = 3.5 if level == highlight else 2.0
        draw_price_line(panel, level.price, colour, width=width, label=label)
        _draw_touches(panel, level, colour)
    return [PriceTag(level.price, level_tag_text(level), KIND_COLOURS[level.kind]) for level in levels]


def _draw_touches(panel: CandlePanel, level: Level, colour: str) -> None:
    xs = [x for x in (panel.x_of_candle(time) for time in level.touch_times) if x is not None]
    if xs:
        panel.price.scatter(xs, [level.price] * len(xs), s=70, color=colour, edgecolors="white",
                            linewidths=1.2, zorder=5)
