"""Horizontal price lines across the price panel, and their coloured tags in the right margin
(next to the price axis, pushed apart so none overlap)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.lines import Line2D

from charts.candle_panel import CandlePanel
from charts.style import SMALL_PT

MIN_GAP = 0.065  # of the panel's height: one 14 pt tag on a ~430 px price panel
TAG_X = 1.012  # tags start a little right of the panel; a slanted stub joins each to its price


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
    targets = [(t.price - low) / (high - low) for t in visible]
    heights = spread(targets, MIN_GAP)
    connectors = [[(1.0, target), (TAG_X, y)] for target, y in zip(targets, heights, strict=True)]
    ax.add_collection(LineCollection(connectors, colors=[t.colour for t in visible], linewidths=1.5,
                                     transform=ax.transAxes, clip_on=False, zorder=6), autolim=False)
    for tag, y in zip(visible, heights, strict=True):
        ax.text(TAG_X, y, tag.text, transform=ax.transAxes, ha="left", va="center", fontsize=SMALL_PT,
                color="white", clip_on=False, zorder=6,
                bbox={"boxstyle": "square,pad=0.2", "facecolor": tag.colour, "edgecolor": "none"})


def spread(heights: Sequence[float], gap: float) -> list[float]:
    """Ascending ``heights`` moved apart to at least ``gap``, each group centred on its targets.

    Overlapping tags form a group laid out ``gap`` apart around the mean of their targets; groups
    that then overlap merge. The result is finally shifted to stay inside [0, 1] where possible.
    """
    groups: list[list[float]] = []
    for height in heights:
        groups.append([height])
        while len(groups) > 1 and _group_start(groups[-2], gap) + gap * len(groups[-2]) > _group_start(groups[-1], gap):
            last = groups.pop()
            groups[-1].extend(last)
    placed = [_group_start(group, gap) + gap * i for group in groups for i in range(len(group))]
    if placed and placed[-1] > 1.0:
        placed = [p - (placed[-1] - 1.0) for p in placed]
    if placed and placed[0] < 0.0:
        placed = [p - placed[0] for p in placed]
    return placed


def _group_start(group: list[float], gap: float) -> float:
    return sum(group) / len(group) - gap * (len(group) - 1) / 2


def draw_price_line(panel: CandlePanel, price: float, colour: str, *, style: str = "-",
                    width: float = 2.0, label: str | None = None) -> None:
    """A crisp (not antialiased, so exactly ``colour``) horizontal line across the price panel."""
    panel.price.axhline(price, color=colour, linewidth=width, linestyle=style, antialiased=False,
                        label=label, zorder=4)


def draw_price_lines(panel: CandlePanel, prices: Sequence[float], colour: str, *, widths: Sequence[float],
                     label: str) -> None:
    """Solid :func:`draw_price_line` lines for several prices: one collection, one legend entry.

    The lines span the panel's width whatever its x range (x in axes coordinates, as axhline's); an
    empty line of the first line's width carries the legend entry, so the legend shows what it did
    when every line was its own axhline (a collection gets a differently drawn legend line).
    """
    if not prices:
        return
    ax = panel.price
    ax.add_line(Line2D([], [], color=colour, linewidth=widths[0], antialiased=False, label=label, zorder=4))
    ax.add_collection(LineCollection([[(0.0, price), (1.0, price)] for price in prices], colors=colour,
                                     linewidths=widths, antialiaseds=False, zorder=4,
                                     transform=ax.get_yaxis_transform(which="grid")), autolim=False)
