"""Price-panel annotations: the trend line, swing markers, the decision arrow."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from charts.candle_panel import CandlePanel, utc
from charts.style import ENTRY, SWING, TREND
from engines.models import Side, Swing, Trend

HOUR = pd.Timedelta(hours=1)


def draw_trend(panel: CandlePanel, trend: Trend, origin: pd.Timestamp) -> None:
    """``price(h) = intercept + slope * h`` with ``h`` hours since ``origin``, over the candles."""
    times = pd.DatetimeIndex([panel.opens.iloc[0], panel.decision_time])
    hours = (times - utc(origin)) / HOUR
    prices = trend.intercept + trend.slope * np.asarray(hours, dtype=float)
    panel.price.plot(panel.x_of_times(times), prices, color=TREND, linewidth=2.5, linestyle="-.",
                     label=f"trend {trend.slope:+.4g}/h", zorder=4, scalex=False, scaley=False)


def draw_swings(panel: CandlePanel, swings: Sequence[Swing]) -> None:
    """Swing highs as ▼ above the price, swing lows as ▲ below it."""
    lift = 0.025 * panel.price_span
    for kind, marker, label, offset in (("high", "v", "swing high", lift), ("low", "^", "swing low", -lift)):
        chosen = [swing for swing in swings if swing.kind == kind]
        xs = panel.x_of_candles([swing.time for swing in chosen])
        ys = np.array([swing.price + offset for swing in chosen])
        shown = ~np.isnan(xs)
        if shown.any():
            panel.price.scatter(xs[shown], ys[shown], marker=marker, s=140, color=SWING, edgecolors="white",
                                linewidths=1.0, label=label, zorder=5)


def draw_decision_arrow(panel: CandlePanel, side: Side, x: float) -> None:
    """An arrow under (LONG) or over (SHORT) the decision candle."""
    row = panel.candles.iloc[int(round(x))]
    gap = 0.04 * panel.price_span
    y, marker = (row["low"] - gap, "^") if side == "LONG" else (row["high"] + gap, "v")
    panel.price.scatter([x], [y], marker=marker, s=260, color=ENTRY, edgecolors="white",
                        linewidths=1.2, label=side.lower(), zorder=6)

