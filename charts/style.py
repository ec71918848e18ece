"""The look shared by every chart: size, fonts, colours, the candle style.

Telegram shrinks photos to 1280 px on the long side, so charts are exactly 1280x720 px and use
fonts of at least 14 pt, readable on a phone.
"""

from __future__ import annotations

import weakref
from typing import Any

import mplfinance as mpf
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

WIDTH_PX, HEIGHT_PX, DPI = 1280, 720, 100
TITLE_PT, LABEL_PT, SMALL_PT = 18, 14, 14
LEGEND_COLUMNS = 6

SUPPORT = "#1a9641"
RESISTANCE = "#d7191c"
ENTRY = "#2b5cd6"
TAKE_PROFIT = "#00a3a3"
STOP_LOSS = "#ff7f00"
TREND = "#7b3294"
SWING = "#4d4d4d"
LAST_PRICE = "#555555"
CANDLE_UP = "#3c9a8f"
CANDLE_DOWN = "#b85450"
EQUITY = "#2b5cd6"
BENCHMARK = "#8c8c8c"
BAND = "#9ecae1"
DRAWDOWN = "#d7191c"
GRID = "#e6e6e6"
TEXT = "#222222"

_SPARE_FIGURES: dict[tuple[int, ...], tuple[Figure, list[Axes]]] = {}  # one finished figure per panel shape
_PANELS: weakref.WeakKeyDictionary[Figure, tuple[tuple[int, ...], list[Axes]]] = weakref.WeakKeyDictionary()

CANDLE_STYLE: dict[str, Any] = mpf.make_mpf_style(
    base_mpf_style="default",
    marketcolors=mpf.make_marketcolors(up=CANDLE_UP, down=CANDLE_DOWN, edge="inherit",
                                       wick="inherit", volume="inherit"),
    gridcolor=GRID,
    facecolor="white",
)


def new_figure(height_ratios: tuple[int, ...]) -> tuple[Figure, list[Axes]]:
    """A 1280x720 figure with vertically stacked panels sharing the x axis (not via pyplot).

    When a finished chart with the same panels has handed its figure back (:func:`recycle_figure`),
    that figure is reused: building a figure, its axes and their ticks took a fifth of a render.
    """
    spare = _SPARE_FIGURES.pop(height_ratios, None)
    if spare is not None:
        figure, panels = spare
    else:
        figure = Figure(figsize=(WIDTH_PX / DPI, HEIGHT_PX / DPI), dpi=DPI, facecolor="white")
        axes = figure.subplots(len(height_ratios), 1, sharex=True, squeeze=False,
                               gridspec_kw={"height_ratios": list(height_ratios), "hspace": 0.05})
        panels = [ax for (ax,) in axes]
        for ax in panels:
            style_axes(ax)
        _PANELS[figure] = (height_ratios, panels)
    figure.subplots_adjust(left=0.05, right=0.865, top=0.81, bottom=0.08)
    return figure, panels


def recycle_figure(figure: Figure) -> None:
    """Take back a figure from :func:`new_figure` once its PNG is made, for the next chart of its shape.

    Everything a chart adds is removed and the axes' limits are reset as on a new figure; what a
    chart sets on the figure's axes (locators, formatters, labels, tick parameters) every chart of
    that shape sets again. The axes and their ticks stay: a chart drawn on a recycled figure is
    byte for byte the chart drawn on a new one (tests/charts/test_png.py).
    """
    ratios, panels = _PANELS.get(figure, (None, None))
    if panels is None:
        return
    for artist in [*figure.texts, *figure.lines, *figure.patches, *figure.images, *figure.legends]:
        artist.remove()
    for ax in panels:
        if ax.get_legend() is not None:
            ax.get_legend().remove()
        for artist in [*ax.lines, *ax.collections, *ax.patches, *ax.texts, *ax.images, *ax.tables, *ax.artists]:
            artist.remove()
        ax.relim()  # empty data limits
        ax.set_xlim(0.0, 1.0)
        ax.set_ylim(0.0, 1.0)
        ax.set_autoscale_on(True)
        ax.set_xlabel("")
        ax.set_ylabel("")
    _SPARE_FIGURES[ratios] = (figure, panels)


def style_axes(ax: Axes) -> None:
    """Large tick labels, a light grid, prices on the right where the eye ends."""
    ax.tick_params(labelsize=LABEL_PT, colors=TEXT)
    ax.grid(True, color=GRID, linewidth=1.0)
    ax.yaxis.tick_right()
    ax.yaxis.set_label_position("right")
    ax.set_facecolor("white")


def utc_text(time: pd.Timestamp) -> str:
    return pd.Timestamp(time).tz_convert("UTC").strftime("%Y-%m-%d %H:%M UTC")


def title_text(*parts: str) -> str:
    """The non-empty ``parts`` joined by middle dots."""
    return " · ".join(part for part in parts if part)


def set_title(figure: Figure, text: str, subtitle: str = "") -> None:
    """The title across the top, and an optional line of facts under it (above the legend)."""
    # A plain figure text (what suptitle makes, minus the reference suptitle keeps on the figure).
    figure.text(0.05, 0.985, text, fontsize=TITLE_PT, color=TEXT, ha="left", va="top")
    if subtitle:
        figure.text(0.05, 0.93, subtitle, fontsize=LABEL_PT, color=TEXT, ha="left", va="center")


def add_legend(ax: Axes) -> None:
    """A legend of every labelled artist in a row (two if needed) above the panel, off the data."""
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        ax.legend(handles, labels, loc="lower left", bbox_to_anchor=(0.0, 1.0), borderaxespad=0.2,
                  ncols=min(LEGEND_COLUMNS, len(handles)), frameon=False, fontsize=SMALL_PT,
                  handlelength=1.6, columnspacing=1.0, handletextpad=0.4)
