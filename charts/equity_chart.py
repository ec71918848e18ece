"""Equity curve with its drawdown below (the backtester's equity.png)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

from charts.png import figure_png
from charts.style import (BENCHMARK, DRAWDOWN, EQUITY, LABEL_PT, TEXT, add_legend, new_figure, set_title,
                          title_text)
from engines.errors import InvalidInput


def render_equity_chart(equity: pd.Series, *, title: str, benchmark: pd.Series | None = None) -> bytes:
    """PNG of ``equity`` (indexed by UTC time) and its drawdown in % from the running peak."""
    curve = _checked(equity, "equity")
    figure, (top, bottom) = new_figure((3, 1))
    top.plot(_naive(curve.index), curve.to_numpy(), color=EQUITY, linewidth=2.2, label="equity",
             drawstyle="steps-post")
    if benchmark is not None:
        other = _checked(benchmark, "benchmark")
        top.plot(_naive(other.index), other.to_numpy(), color=BENCHMARK, linewidth=1.8, linestyle="--",
                 label=str(benchmark.name or "benchmark"), drawstyle="steps-post")
    drawdown = drawdown_pct(curve)
    bottom.fill_between(_naive(drawdown.index), drawdown.to_numpy(), 0.0, color=DRAWDOWN, alpha=0.35,
                        linewidth=0, step="post")
    bottom.plot(_naive(drawdown.index), drawdown.to_numpy(), color=DRAWDOWN, linewidth=1.5,
                drawstyle="steps-post")
    bottom.set_ylabel("drawdown %", fontsize=LABEL_PT, color=TEXT)
    _date_axis(bottom)
    top.tick_params(labelbottom=False)
    change = (curve.iloc[-1] / curve.iloc[0] - 1.0) * 100.0
    period = f"{curve.index[0]:%Y-%m-%d} → {curve.index[-1]:%Y-%m-%d} UTC"
    set_title(figure, title_text(title, period, f"{change:+.1f} %", f"max DD {drawdown.min():.1f} %"))
    add_legend(top)
    return figure_png(figure)


def drawdown_pct(equity: pd.Series) -> pd.Series:
    """How far below its running peak ``equity`` is, in percent (0 at a new high)."""
    return (equity / equity.cummax() - 1.0) * 100.0


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
