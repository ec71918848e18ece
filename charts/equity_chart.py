"""Equity curve with its drawdown below (the backtester's equity.png).

Optionally behind the curve: a band (e.g. the 5th-95th percentiles of random-entry runs' equity,
columns ``low`` and ``high``), and a dashed benchmark curve.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

from charts.png import figure_png, one_render_at_a_time
from charts.style import (BAND, BENCHMARK, DRAWDOWN, EQUITY, LABEL_PT, TEXT, add_legend, new_figure, set_title,
                          title_text)
from engines.errors import InvalidInput


@one_render_at_a_time
def render_equity_chart(equity: pd.Series, *, title: str, benchmark: pd.Series | None = None,
                        band: pd.DataFrame | None = None, band_label: str = "random entries 5-95 %") -> bytes:
    """PNG of ``equity`` (indexed by UTC time) and its drawdown in % from the running peak."""
    curve = _checked(equity, "equity")
    other = _checked(benchmark, "benchmark") if benchmark is not None else None
    other_name = str(benchmark.name or "benchmark") if benchmark is not None else ""
    figure, (top, bottom) = new_figure((3, 1))
    if band is not None:
        _draw_band(top, _checked_band(band), band_label)
    _draw_curve(top, curve, EQUITY, "-", "equity")
    if other is not None:
        _draw_curve(top, other, BENCHMARK, "--", other_name)
    drawdown = drawdown_pct(curve)
    _draw_drawdown(bottom, drawdown)
    top.tick_params(labelbottom=False)
    facts = [f"equity {_change_pct(curve):+.2f} %", f"max drawdown {drawdown.min():.2f} %"]
    if other is not None:
        facts.append(f"{other_name} {_change_pct(other):+.2f} %")
    period = f"{curve.index[0]:%Y-%m-%d %H:%M} → {curve.index[-1]:%Y-%m-%d %H:%M} UTC"
    set_title(figure, title_text(title, period), title_text(*facts))
    add_legend(top)
    return figure_png(figure)


def drawdown_pct(equity: pd.Series) -> pd.Series:
    """How far below its running peak ``equity`` is, in percent (0 at a new high)."""
    return (equity / equity.cummax() - 1.0) * 100.0


def _draw_curve(ax: Axes, series: pd.Series, colour: str, style: str, label: str) -> None:
    """A step line: equity changes when a trade closes and stays flat in between."""
    ax.plot(_naive(series.index), series.to_numpy(), color=colour, linewidth=2.0, linestyle=style, label=label,
            drawstyle="steps-post")


def _draw_band(ax: Axes, band: pd.DataFrame, label: str) -> None:
    ax.fill_between(_naive(band.index), band["low"].to_numpy(), band["high"].to_numpy(), color=BAND, alpha=0.3,
                    linewidth=0, step="post", label=label, zorder=0)


def _checked_band(band: pd.DataFrame) -> pd.DataFrame:
    if not {"low", "high"} <= set(band.columns):
        raise InvalidInput(f"band needs columns low and high, got {', '.join(map(str, band.columns))}")
    _checked(band["low"], "band low")
    _checked(band["high"], "band high")
    if (band["low"] > band["high"]).any():
        raise InvalidInput("band: low must not exceed high")
    return band.sort_index(kind="stable")


def _draw_drawdown(ax: Axes, drawdown: pd.Series) -> None:
    times = _naive(drawdown.index)
    ax.fill_between(times, drawdown.to_numpy(), 0.0, color=DRAWDOWN, alpha=0.35, linewidth=0, step="post")
    ax.plot(times, drawdown.to_numpy(), color=DRAWDOWN, linewidth=1.5, drawstyle="steps-post")
    ax.set_ylabel("drawdown %", fontsize=LABEL_PT, color=TEXT)
    _date_axis(ax)


def _change_pct(series: pd.Series) -> float:
    return float(series.iloc[-1] / series.iloc[0] - 1.0) * 100.0


def _checked(series: pd.Series, name: str) -> pd.Series:
    if not isinstance(series.index, pd.DatetimeIndex) or series.index.tz is None:
        raise InvalidInput(f"{name} must be indexed by timezone-aware UTC times")
    if len(series) < 2:
        raise InvalidInput(f"{name} needs at least 2 points, got {len(series)}")
    values = series.to_numpy(dtype=float)
    if not np.isfinite(values).all() or values[0] <= 0:
        raise InvalidInput(f"{name} values must be finite, starting above 0")
    return series.astype(float).sort_index(kind="stable")


def _naive(index: pd.DatetimeIndex) -> np.ndarray:
    return index.tz_convert("UTC").tz_localize(None).to_numpy()


def _date_axis(ax: Axes) -> None:
    locator = AutoDateLocator(minticks=4, maxticks=8)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator, show_offset=False))
