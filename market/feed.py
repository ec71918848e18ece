"""What every market feed emits, and the interface the bot codes against.

A feed (:class:`market.replay.ReplayFeed` from Parquet files, :class:`market.bybit_feed.BybitFeed`
live) calls its listeners, in order, with:

- :class:`ClosedCandle` for every closed 1m, 15m and 1h candle of every tracked pair, oldest first.
  A 15m/1h candle comes after the 1m candles of its bucket; no candle is emitted twice.
- :class:`BookUpdate` with the top-10 order-book imbalance (live only).
- :class:`FundingUpdate` with the funding rate that settles at ``next_funding_time``.
- :class:`StreamStatus` when a pair's stream goes silent, disconnects or recovers.

A live feed also emits, once at start, the last 15m and 1h candle of each pair's loaded history
(so the bot decides the candle that closed just before it started, like any other); every other
candle is emitted once as it closes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import pandas as pd

TIMEFRAMES: tuple[str, ...] = ("1m", "15m", "1h")
DEFAULT_BUFFER_LENGTH = 2000


@dataclass(frozen=True)
class ClosedCandle:
    """One closed candle; ``timestamp`` is its open time (UTC)."""

    pair: str
    timeframe: str
    timestamp: pd.Timestamp
    open: float
    high: float
    low: float
    close: float
    volume: float

    @property
    def close_time(self) -> pd.Timestamp:
        return self.timestamp + _TIMEFRAME_DELTAS[self.timeframe]


@dataclass(frozen=True)
class BookUpdate:
    """Top-10 order-book imbalance (``engines.exhaustion.book_imbalance``) in [-1, 1]."""

    pair: str
    time: pd.Timestamp
    imbalance: float


@dataclass(frozen=True)
class FundingUpdate:
    """The funding ``rate`` (fraction per interval) that settles at ``next_funding_time``."""

    pair: str
    rate: float
    next_funding_time: pd.Timestamp
    interval_hours: float


@dataclass(frozen=True)
class StreamStatus:
    """Health of one pair's stream; ``note`` is a sentence for humans ("SOLUSDT stream silent 45 s")."""

    pair: str
    connected: bool
    silent_seconds: float
    last_closed: dict[str, pd.Timestamp] = field(default_factory=dict)
    note: str = ""
    gaps: tuple[str, ...] = ()  # candles never received that REST could not fill yet ("1 1m candle(s) missing at ...")


@dataclass(frozen=True)
class SourceState:
    """Health of one data source ("Bybit WebSocket", "Bybit REST", "replay files").

    ``ok`` is None while the source has not been used; ``since`` is when it became ok or failing;
    ``failures`` counts the failed attempts in a row; ``note`` is the last error or state.
    """

    name: str
    ok: bool | None
    since: pd.Timestamp | None
    last_ok: pd.Timestamp | None
    failures: int
    note: str


@dataclass(frozen=True)
class StartupProgress:
    """How far start-up got: ``loaded`` of ``total`` pairs have their history (``total`` None: not chosen yet)."""

    loaded: int
    total: int | None

    @property
    def done(self) -> bool:
        return self.total is not None and self.loaded >= self.total

    def __str__(self) -> str:
        if self.total is None:
            return "starting, choosing the pairs to track"
        return f"starting, {self.loaded} of {self.total} pairs loaded"


MarketEvent = ClosedCandle | BookUpdate | FundingUpdate | StreamStatus
Listener = Callable[[MarketEvent], Awaitable[None]]

_TIMEFRAME_MINUTES = {"1m": 1, "15m": 15, "1h": 60}
_TIMEFRAME_DELTAS = {timeframe: pd.Timedelta(minutes=m) for timeframe, m in _TIMEFRAME_MINUTES.items()}


class MarketFeed(Protocol):
    """Live or replayed market data, as the bot sees it."""

    async def start(self, pairs: Sequence[str]) -> None:
        """Load history, connect, and begin emitting events."""

    async def stop(self) -> None:
        """Stop emitting and release connections."""

    def add_listener(self, listener: Listener) -> None:
        """Call ``listener`` with every event, one at a time, in order."""

    def candles(self, pair: str, timeframe: str) -> pd.DataFrame:
        """Closed candles buffered so far (a validated candle frame, at most the buffer length)."""

    def now(self) -> pd.Timestamp:
        """The feed's clock: simulated time in replay, the wall clock (UTC) live."""

    def status(self) -> list[StreamStatus]:
        """One status per tracked pair."""

    def pairs(self) -> list[str]:
        """The tracked pairs, in the order given to :meth:`start`."""

    def tick_size(self, pair: str) -> float:
        """Price tick of ``pair``."""

    def loaded_pairs(self) -> list[str]:
        """The tracked pairs whose history is loaded (their candles can be read)."""

    def progress(self) -> StartupProgress:
        """Start-up progress."""

    def first_missing_minute(self, pair: str) -> pd.Timestamp | None:
        """Open time of the oldest 1m candle of ``pair`` the feed missed and is still fetching (None: no hole)."""

    def sources(self) -> list[SourceState]:
        """Health of each data source the feed uses."""
