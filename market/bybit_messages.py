"""Bybit v5 public stream messages (already merged by pybit) turned into the feed's types."""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd

from engines.exhaustion import book_imbalance
from market.feed import BookUpdate, ClosedCandle, FundingUpdate

INTERVAL_TIMEFRAMES = {"1": "1m", "15": "15m", "60": "1h"}
TIMEFRAME_INTERVALS = {timeframe: interval for interval, timeframe in INTERVAL_TIMEFRAMES.items()}
BOOK_DEPTH = 10


def topics_for(pairs: list[str]) -> list[str]:
    """Every topic the feed needs for ``pairs``."""
    topics = []
    for pair in pairs:
        topics += [f"kline.{interval}.{pair}" for interval in INTERVAL_TIMEFRAMES]
        topics += [f"tickers.{pair}", f"orderbook.50.{pair}"]
    return topics


def topic_pair(topic: str) -> str:
    return topic.rsplit(".", 1)[-1]


def detached(message: dict) -> dict:
    """A copy of a pybit callback message that pybit's thread will not change afterwards.

    For ``orderbook`` and ``tickers`` topics pybit hands over its own merged ``self.data[topic]``
    and keeps updating it in place with the next deltas; copy it on pybit's thread. pybit replaces
    book levels rather than editing them, so copying the level lists is enough.
    """
    topic = message.get("topic", "")
    data = message.get("data")
    if topic.startswith("orderbook.") and isinstance(data, dict):
        data = {key: list(value) if key in ("a", "b") else value for key, value in data.items()}
    elif topic.startswith("tickers.") and isinstance(data, dict):
        data = dict(data)
    else:
        return message
    return {**message, "data": data}


def ms_timestamp(value: str | int) -> pd.Timestamp:
    return pd.Timestamp(int(value), unit="ms", tz="UTC").as_unit("ms")


def closed_candles(message: dict) -> Iterator[ClosedCandle]:
    """The ``confirm: true`` candles of a ``kline.<interval>.<symbol>`` message."""
    _, interval, pair = message["topic"].split(".")
    timeframe = INTERVAL_TIMEFRAMES.get(interval)
    if timeframe is None:
        return
    for item in message["data"]:
        if item.get("confirm") is True:
            yield ClosedCandle(pair, timeframe, ms_timestamp(item["start"]), float(item["open"]),
                               float(item["high"]), float(item["low"]), float(item["close"]),
                               float(item["volume"]))


def book_update(message: dict) -> BookUpdate:
    """Imbalance of the best 10 levels of a merged ``orderbook.50`` book (pybit keeps levels unsorted)."""
    data = message["data"]
    bids = sorted(((float(p), float(s)) for p, s in data["b"]), reverse=True)[:BOOK_DEPTH]
    asks = sorted((float(p), float(s)) for p, s in data["a"])[:BOOK_DEPTH]
    return BookUpdate(data["s"], ms_timestamp(message["ts"]), book_imbalance(bids, asks, BOOK_DEPTH))


def funding_update(message: dict, interval_hours: float) -> FundingUpdate | None:
    """Funding from a merged ``tickers`` snapshot, or None while it lacks the funding fields."""
    data = message["data"]
    rate, next_time = data.get("fundingRate"), data.get("nextFundingTime")
    if not rate or not next_time:
        return None
    return FundingUpdate(data["symbol"], float(rate), ms_timestamp(next_time), interval_hours)
