"""The levels chart: candles with support/resistance, their touches, the trend and the swings."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from charts.annotations import draw_swings, draw_trend
from charts.candle_panel import draw_candle_panel
from charts.level_lines import draw_levels
from charts.png import figure_png, one_render_at_a_time
from charts.price_lines import draw_price_tags
from charts.style import add_legend, set_title, title_text, utc_text
from charts.trade_lines import draw_trade_lines, make_room_for_the_trade
from engines.models import Level, Signal, Swing, Trend


@one_render_at_a_time
def render_levels_chart(candles: pd.DataFrame, *, pair: str, timeframe: str, levels: Sequence[Level],
                        trend: Trend | None = None, trend_origin: pd.Timestamp | None = None,
                        swings: Sequence[Swing] = (), signal: Signal | None = None) -> bytes:
    """PNG of ``candles`` with ``levels`` (and the trend from ``trend_origin``, swings, a signal)."""
    panel = draw_candle_panel(candles)
    tags = draw_levels(panel, levels)
    if trend is not None:
        draw_trend(panel, trend, trend_origin if trend_origin is not None else panel.decision_time)
    draw_swings(panel, swings)
    if signal is not None:
        start = make_room_for_the_trade(panel)
        tags += draw_trade_lines(panel, entry=signal.entry, tp=signal.tp, sl=signal.sl, start_x=start)
    detail = f"{signal.type} {signal.side}" if signal is not None else f"{len(levels)} levels"
    set_title(panel.figure, title_text(f"{pair} {timeframe}", utc_text(panel.decision_time), detail))
    add_legend(panel.price)
    draw_price_tags(panel.price, tags)
    return figure_png(panel.figure)
