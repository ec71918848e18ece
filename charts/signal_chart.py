"""The chart broadcast with every signal: why it fired (level, touches, checks) and the trade."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from charts.annotations import draw_decision_arrow, draw_trend
from charts.candle_panel import CandlePanel, draw_candle_panel
from charts.level_lines import draw_levels
from charts.png import figure_png, one_render_at_a_time
from charts.price_lines import draw_price_tags
from charts.style import add_legend, set_title, title_text, utc_text
from charts.trade_lines import draw_trade_lines, make_room_for_the_trade
from engines.models import Level, Signal

CHECK_LABELS = {"volume_drop": "volume drop", "double_wick": "double wick",
                "rsi_extreme": "RSI extreme", "order_book_flip": "order-book flip"}


@one_render_at_a_time
def render_signal_chart(candles: pd.DataFrame, signal: Signal, *, levels: Sequence[Level] = (),
                        title_note: str = "") -> bytes:
    """PNG explaining ``signal`` on ``candles`` (which should end with its decision candle)."""
    panel = draw_candle_panel(candles)
    start = make_room_for_the_trade(panel)
    shown = list(levels) or _levels_of(signal)
    tags = draw_levels(panel, shown, highlight=tagged_level(shown, signal))
    if signal.trend.slope or signal.trend.intercept:
        draw_trend(panel, signal.trend, pd.Timestamp(signal.timestamp))
    decision_x = _decision_x(panel, signal)
    if decision_x is not None:
        draw_decision_arrow(panel, signal.side, decision_x)
    tags += draw_trade_lines(panel, entry=signal.entry, tp=signal.tp, sl=signal.sl,
                             start_x=start if decision_x is None else decision_x)
    set_title(panel.figure, title_text(f"{signal.pair} {panel.timeframe}", utc_text(signal.timestamp),
                                       f"{signal.type} {signal.side}", title_note), checks_text(signal))
    add_legend(panel.price)
    draw_price_tags(panel.price, tags)
    return figure_png(panel.figure)


def checks_text(signal: Signal) -> str:
    """``✔``/``✘`` per exhaustion check, then the confidence."""
    checks = signal.exhaustion_checks.as_dict()
    marks = "   ".join(f"{'✔' if passed else '✘'} {CHECK_LABELS.get(name, name)}" for name, passed in checks.items())
    return f"{marks}   ·   confidence {signal.confidence} %"


def tagged_level(levels: Sequence[Level], signal: Signal) -> Level | None:
    """The level the signal trades off: nearest to the entry among supports (LONG) or resistances."""
    kind = "support" if signal.side == "LONG" else "resistance"
    candidates = [level for level in levels if level.kind == kind]
    return min(candidates, key=lambda level: abs(level.price - signal.entry), default=None)


def _levels_of(signal: Signal) -> list[Level]:
    """The signal's own support/resistance prices, when the caller has no Level objects."""
    return ([Level(price, "support", ()) for price in signal.support]
            + [Level(price, "resistance", ()) for price in signal.resistance])


def _decision_x(panel: CandlePanel, signal: Signal) -> float | None:
    """x of the decision candle: the one that closes at ``signal.timestamp``."""
    return panel.x_of_candle(pd.Timestamp(signal.timestamp) - pd.Timedelta(milliseconds=1))
