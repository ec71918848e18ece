"""An open paper position: where it was opened, its TP/SL, the last price and the running PnL."""

from __future__ import annotations

import pandas as pd

from charts.annotations import draw_decision_arrow
from charts.candle_panel import draw_candle_panel
from charts.png import figure_png, one_render_at_a_time
from charts.price_lines import PriceTag, draw_price_line, draw_price_tags, format_price
from charts.style import LAST_PRICE, add_legend, set_title, title_text, utc_text
from charts.trade_lines import draw_trade_lines, make_room_for_the_trade
from engines.models import Side


@one_render_at_a_time
def render_position_chart(candles: pd.DataFrame, *, pair: str, side: Side, entry: float, tp: float,
                          sl: float, opened_at: pd.Timestamp, last_price: float) -> bytes:
    """PNG of a position opened at ``opened_at`` and marked at ``last_price``."""
    panel = draw_candle_panel(candles)
    make_room_for_the_trade(panel)
    opened_x = panel.x_of_candle(opened_at)
    if opened_x is not None:
        draw_decision_arrow(panel, side, opened_x)
    tags = draw_trade_lines(panel, entry=entry, tp=tp, sl=sl,
                            start_x=opened_x if opened_x is not None else -1.0)
    draw_price_line(panel, last_price, LAST_PRICE, style=":", label=f"last {format_price(last_price)}")
    tags.append(PriceTag(last_price, f"last {format_price(last_price)}", LAST_PRICE))
    pnl = unrealised_pct(side, entry, last_price)
    facts = title_text(f"opened {utc_text(opened_at)}", f"TP {_distance_pct(last_price, tp):+.2f} % away",
                       f"SL {_distance_pct(last_price, sl):+.2f} % away")
    set_title(panel.figure, title_text(f"{pair} {panel.timeframe}", utc_text(panel.decision_time),
                                       f"{side} position", f"unrealised {pnl:+.2f} %"), facts)
    add_legend(panel.price)
    draw_price_tags(panel.price, tags)
    return figure_png(panel.figure)


def unrealised_pct(side: Side, entry: float, last_price: float) -> float:
    """Price move in the position's favour, in percent of the entry (fees not included)."""
    move = (last_price - entry) / entry * 100.0
    return move if side == "LONG" else -move


def _distance_pct(price: float, target: float) -> float:
    return (target - price) / price * 100.0
