"""Entry, take-profit and stop-loss of a signal or position, with the target zones shaded."""

from __future__ import annotations

from charts.candle_panel import CandlePanel
from charts.price_lines import PriceTag, draw_price_line, format_price
from charts.style import ENTRY, STOP_LOSS, TAKE_PROFIT

FUTURE_CANDLES = 10  # empty room right of the last candle, where the trade will play out


def make_room_for_the_trade(panel: CandlePanel) -> float:
    """Widen the x range past the last candle; returns the x where the trade starts."""
    last = float(len(panel.candles) - 1)
    panel.price.set_xlim(-1.0, last + FUTURE_CANDLES)
    return last


def draw_trade_lines(panel: CandlePanel, *, entry: float, tp: float, sl: float,
                     start_x: float) -> list[PriceTag]:
    """Entry (solid), TP and SL (dashed) across the panel, and their zones from ``start_x`` on."""
    ax = panel.price
    end_x = ax.get_xlim()[1]
    ax.fill_between([start_x, end_x], entry, tp, color=TAKE_PROFIT, alpha=0.15, linewidth=0, zorder=1)
    ax.fill_between([start_x, end_x], entry, sl, color=STOP_LOSS, alpha=0.15, linewidth=0, zorder=1)
    tags = []
    for name, price, colour, style in (("entry", entry, ENTRY, "-"), ("TP", tp, TAKE_PROFIT, "--"),
                                       ("SL", sl, STOP_LOSS, "--")):
        text = f"{name} {format_price(price)}"
        draw_price_line(panel, price, colour, style=style, label=text)
        tags.append(PriceTag(price, text, colour))
    return tags

