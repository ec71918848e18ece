"""The engines on live (or replayed) candles: the same functions the backtester calls.

The feed's buffers hold closed candles only, so the last row of each frame is the decision candle.
Order-book imbalance snapshots (live only) become the ``BookFlip`` of the next 15m decision.
"""

from __future__ import annotations

import pandas as pd

from engines.candles import timeframe_delta
from engines.exhaustion import BookFlip
from engines.macro import MacroDecision, evaluate_macro
from engines.micro import ScalpDecision, evaluate_scalp
from engines.params import StrategyParams
from market.feed import MarketFeed


class BookFlips:
    """Latest top-10 imbalance per pair, and the value seen at the previous decision."""

    def __init__(self) -> None:
        self._latest: dict[str, float] = {}
        self._at_decision: dict[str, float] = {}

    def update(self, pair: str, imbalance: float) -> None:
        self._latest[pair] = imbalance

    def take(self, pair: str) -> BookFlip | None:
        """The flip since the last decision (None without book data); marks a new decision."""
        if pair not in self._latest:
            return None
        previous = self._at_decision.get(pair, self._latest[pair])
        self._at_decision[pair] = self._latest[pair]
        return BookFlip(previous_imbalance=previous, current_imbalance=self._latest[pair])

    def peek(self, pair: str) -> BookFlip | None:
        if pair not in self._latest:
            return None
        return BookFlip(self._at_decision.get(pair, self._latest[pair]), self._latest[pair])


def scalp_now(feed: MarketFeed, pair: str, params: StrategyParams, book: BookFlip | None) -> ScalpDecision:
    return evaluate_scalp(feed.candles(pair, "15m"), pair, params, feed.tick_size(pair), book)


def macro_now(feed: MarketFeed, pair: str, params: StrategyParams) -> MacroDecision:
    return evaluate_macro(feed.candles(pair, "1h"), pair, params, feed.tick_size(pair))


def last_price(feed: MarketFeed, pair: str) -> float | None:
    candles = feed.candles(pair, "1m")
    return None if candles.empty else float(candles["close"].iloc[-1])


def last_close_time(feed: MarketFeed, pair: str, timeframe: str) -> pd.Timestamp | None:
    candles = feed.candles(pair, timeframe)
    if candles.empty:
        return None
    return candles["timestamp"].iloc[-1] + timeframe_delta(timeframe)
