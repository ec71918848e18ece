"""Horizontal price lines across the price panel, and their coloured tags in the right margin
(next to the price axis, pushed apart so none overlap)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from matplotlib.axes import Axes
from matplotlib.transforms import blended_transform_factory

from charts.candle_panel import CandlePanel
from charts.style import SMALL_PT

MIN_GAP = 0.065  # of the panel's height: one 14 pt tag on a ~430 px price panel


@dataclass(frozen=True)
class PriceTag:
    price: float
    text: str
    colour: str


def format_price(price: float) -> str:
    """A price as the exchange shows it: no float noise, no needless zeros."""
    return f"{price:.10g}"


def draw_price_tags(ax: Axes, tags: Sequence[PriceTag]) -> None:
    """Draw ``tags`` at their prices (call last: it reads the panel's final y range)."""
    low, high = ax.get_ylim()
    visible = sorted((t for t in tags if low <= t.price <= high), key=lambda t: t.price)
    heights = spread([(t.price - low) / (high - low) for t in visible], MIN_GAP)
    to_margin = blended_transform_factory(ax.transAxes, ax.transAxes)
    for tag, y in zip(visible, heights, strict=True):
        ax.text(1.005, y, tag.text, transform=to_margin, ha="left", va="center", fontsize=SMALL_PT,
                color="white", clip_on=False, zorder=6,
                bbox={"boxstyle": "square,pad=0.2", "facecolor": tag.colour, "edgecolor": "none"})


def spread(heights: Sequence[float], gap: float) -> list[float]:
    """Ascending ``heights`` moved as little as needed so neighbours are ``gap`` apart, within [0, 1]."""
    placed: list[float] = []
    for height in heights:
        placed.append(max(height, placed[-1] + gap) if placed else height)
    overflow = (placed[-1] - 1.0) if placed else 0.0
    if overflow > 0:
        placed = [p - overflow for p in placed]
        for i in range(len(placed) - 2, -1, -1):
            placed[i] = min(placed[i], placed[i + 1] - gap)
    return placed


def draw_price_line(panel: CandlePanel, price: float, colour: str, *, style: str = "-",
                    width: float = 2.0, label: str | None = None) -> None:
    """A crisp (not antialiased, so exactly ``colour``) horizontal line across the price panel."""
    panel.price.axhline(price, color=colour, linewidth=width, linestyle=style, antialiased=False,
                        label=label, zorder=4)
