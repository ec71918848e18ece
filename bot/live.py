"""The engines on live (or replayed) candles: the same functions the backtester calls.

The feed's buffers hold closed candles only, so the last row of each frame is the decision candle.
Order-book imbalance snapshots (live only) become the ``BookFlip`` of the next 15m decision.
Funding announcements are kept per settlement instant, the latest one winning (Bybit's ticker rate
is a prediction that moves until the settlement). A decision admitted more than ``LATE_AFTER``
after its candle closed (a stalled stream, a backfill, a restart) is *late*: its position fills at
the first 1m open after the admission, never at a price from before it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from engines.candles import timeframe_delta
from engines.exhaustion import BookFlip, order_book_flip
from engines.macro import MacroDecision, evaluate_macro
from engines.micro import ScalpDecision, evaluate_scalp
from engines.params import StrategyParams
from market.feed import FundingUpdate, MarketFeed

LATE_AFTER = pd.Timedelta(seconds=60)


@dataclass(frozen=True)
class FlipRate:
    """How often the live order-book flip fired at one pair's 15m decisions (since the bot started)."""

    pair: str
    decisions: int
    fired: int

    @property
    def rate(self) -> float:
        return self.fired / self.decisions if self.decisions else 0.0


class BookFlips:
    """Latest top-10 imbalance per pair, the value seen at the previous decision, and the flip's fire rate.

    ``threshold`` gives the hysteresis band (``StrategyParams.book_flip_threshold``) in force at each decision.
    """

    def __init__(self, threshold: Callable[[], float] = lambda: 0.0) -> None:
        self._threshold = threshold
        self._latest: dict[str, float] = {}
        self._at_decision: dict[str, float] = {}
        self._decisions: dict[str, int] = {}
        self._fired: dict[str, int] = {}

    def update(self, pair: str, imbalance: float) -> None:
        self._latest[pair] = imbalance

    def take(self, pair: str) -> BookFlip | None:
        """The flip since the last decision (None without book data); marks a new decision and counts it."""
        flip = self.peek(pair)
        if flip is None:
            return None
        self._at_decision[pair] = self._latest[pair]
        self._decisions[pair] = self._decisions.get(pair, 0) + 1
        if order_book_flip(flip, "LONG") or order_book_flip(flip, "SHORT"):
            self._fired[pair] = self._fired.get(pair, 0) + 1
        return flip

    def peek(self, pair: str) -> BookFlip | None:
        if pair not in self._latest:
            return None
        return BookFlip(self._at_decision.get(pair, self._latest[pair]), self._latest[pair], self._threshold())

    def rates(self) -> tuple[FlipRate, ...]:
        """Per pair with book data at a decision: decisions and flips fired, by pair name."""
        return tuple(FlipRate(pair, count, self._fired.get(pair, 0)) for pair, count in sorted(self._decisions.items()))


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


class FundingSchedule:
    """Announced funding per pair and settlement instant; the latest announcement before it is charged."""

    def __init__(self) -> None:
        self._pending: dict[str, dict[pd.Timestamp, FundingUpdate]] = {}
        self._settled: dict[str, pd.Timestamp] = {}

    def update(self, event: FundingUpdate) -> None:
        """Remember ``event``, replacing an earlier rate for the same settlement (not one already charged)."""
        settled = self._settled.get(event.pair)
        if settled is None or event.next_funding_time > settled:
            self._pending.setdefault(event.pair, {})[event.next_funding_time] = event

    def due(self, pair: str, until: pd.Timestamp) -> list[FundingUpdate]:
        """The settlements of ``pair`` at or before ``until``, oldest first; each is returned once."""
        pending = self._pending.get(pair)
        if not pending:
            return []
        due = [pending.pop(stamp) for stamp in sorted(stamp for stamp in pending if stamp <= until)]
        if due:
            self._settled[pair] = due[-1].next_funding_time
        return due


def late_fill_start(close: pd.Timestamp, admitted: pd.Timestamp) -> pd.Timestamp | None:
    """Open time of the first 1m candle a late decision may fill on (None: on time, fill as the backtester)."""
    if admitted - close <= LATE_AFTER:
        return None
    return admitted.ceil("min")
