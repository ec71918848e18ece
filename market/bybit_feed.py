"""The live feed: pybit's public stream for closed candles, book and funding; ccxt REST for history.

Start-up loads history over REST (``history.startup_counts``), connects, subscribes
``kline.1/15/60``, ``tickers`` and ``orderbook.50`` for every pair and backfills what closed in
between. A watchdog notices a dropped or silent connection, reconnects with backoff, and backfills
every pair over REST before any further candle is emitted; per-pair silence shows in
:meth:`BybitFeed.status`. Listeners run one event at a time on the event loop, in order.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence

import pandas as pd

from engines.candles import timeframe_delta
from engines.errors import DataUnavailable, MarketError
from market import bybit_messages as messages
from market.bybit_stream import DEFAULT_WS_URL, BybitStream
from market.candle_sequencer import CandleSequencer
from market.candle_store import CandleStore
from market.dispatch import ListenerSet
from market.feed import (DEFAULT_BUFFER_LENGTH, TIMEFRAMES, BookUpdate, ClosedCandle, Listener, MarketEvent,
                         StreamStatus)
from market.history import Clock, HistoryClient, startup_counts, wall_clock
from market.retry import RetryPolicy

logger = logging.getLogger(__name__)
BACKFILL_ROUNDS = 20


class BybitFeed:
    """:class:`market.feed.MarketFeed` over Bybit; owns (and closes) ``rest``."""

    def __init__(self, ws_url: str = DEFAULT_WS_URL, rest: HistoryClient | None = None, *,
                 fallback_rest: HistoryClient | None = None, silence_seconds: float = 30.0,
                 watchdog_seconds: float = 1.0, book_interval_seconds: float = 1.0,
                 reconnect: RetryPolicy = RetryPolicy(attempts=1, base_delay=1.0, max_delay=60.0),
                 history_counts: dict[str, int] | None = None, buffer_length: int = DEFAULT_BUFFER_LENGTH,
                 ping_interval: float = 20, open_timeout: float = 10.0, clock: Clock = wall_clock) -> None:
        self.ws_url = ws_url
        self.rest = rest or HistoryClient("bybit")
        self.fallback_rest = fallback_rest
        self.silence_seconds = silence_seconds
        self.watchdog_seconds = watchdog_seconds
        self.book_interval_seconds = book_interval_seconds
        self.reconnect_policy = reconnect
        self.history_counts = history_counts or startup_counts()
        self.ping_interval = ping_interval
        self.open_timeout = open_timeout
        self.clock = clock
        self.reconnects = 0
        self.messages_received = 0
        self._store = CandleStore(buffer_length)
        self._listeners = ListenerSet()
        self._queue: asyncio.Queue[MarketEvent] = asyncio.Queue()
        self._pairs: list[str] = []
        self._sequencers: dict[str, CandleSequencer] = {}
        self._ticks: dict[str, float] = {}
        self._funding_hours: dict[str, float] = {}
        self._last_funding: dict[str, tuple] = {}
        self._last_book_emit: dict[str, float] = {}
        self._last_message: float = time.monotonic()
        self._last_pair_message: dict[str, float] = {}
        self._silent_pairs: set[str] = set()
        self._stream: BybitStream | None = None
        self._tasks: list[asyncio.Task] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._backfilling: set[str] = set()
        self._stopped = False

    # -- MarketFeed --------------------------------------------------------------------------
    async def start(self, pairs: Sequence[str]) -> None:
        self._loop = asyncio.get_running_loop()
        self._pairs = list(dict.fromkeys(pairs))
        if not self._pairs:
            raise DataUnavailable("BybitFeed.start needs at least one pair")
        await asyncio.gather(*(self._load_pair(pair) for pair in self._pairs))
        self._tasks.append(asyncio.create_task(self._dispatch(), name="bybit-dispatch"))
        await self._connect("start-up")
        self._tasks.append(asyncio.create_task(self._watchdog(), name="bybit-watchdog"))

    async def stop(self) -> None:
        self._stopped = True
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        await self._close_stream()
        await self.rest.close()
        if self.fallback_rest is not None:
            await self.fallback_rest.close()

    def add_listener(self, listener: Listener) -> None:
        self._listeners.add(listener)

    def candles(self, pair: str, timeframe: str) -> pd.DataFrame:
        return self._store.frame(pair, timeframe)

    def now(self) -> pd.Timestamp:
        return self.clock()

    def status(self) -> list[StreamStatus]:
        return [self._pair_status(pair) for pair in self._pairs]

    def pairs(self) -> list[str]:
        return list(self._pairs)

    def tick_size(self, pair: str) -> float:
        if pair not in self._ticks:
            raise DataUnavailable(f"{pair} is not tracked (pairs: {', '.join(self._pairs) or 'none'})")
        return self._ticks[pair]

    async def drain(self) -> None:
        """Wait until every event received so far has been handed to the listeners."""
        await self._queue.join()

    # -- start-up ----------------------------------------------------------------------------
    async def _load_pair(self, pair: str) -> None:
        market = await self.rest.market(pair)
        self._ticks[pair] = float(market["precision"]["price"])
        self._funding_hours[pair] = float(market["info"].get("fundingInterval") or 480) / 60
        self._store.add_pair(pair)
        for timeframe, count in self.history_counts.items():
            self._store.load(pair, timeframe, await self.rest.recent(pair, timeframe, count))
        last = {tf: self._store.last_timestamp(pair, tf) for tf in TIMEFRAMES}
        self._sequencers[pair] = CandleSequencer(pair, last)
        self._last_pair_message[pair] = time.monotonic()

    # -- connection --------------------------------------------------------------------------
    async def _connect(self, reason: str) -> None:
        """(Re)open the stream, with backoff until it works, then backfill every pair."""
        for sequencer in self._sequencers.values():
            sequencer.hold()
        await self._close_stream()
        attempt = 0
        while not self._stopped:
            stream = BybitStream(self.ws_url, self._loop, self._on_message, ping_interval=self.ping_interval,
                                 open_timeout=self.open_timeout)
            try:
                await asyncio.to_thread(stream.open, messages.topics_for(self._pairs))
                self._stream = stream
                break
            except MarketError as e:
                await asyncio.to_thread(stream.close)
                wait = self.reconnect_policy.delay(min(attempt, 16))
                logger.warning("Bybit stream (%s) failed: %s; retry in %.2f s", reason, e, wait)
                attempt += 1
                await asyncio.sleep(wait)
        self._last_message = time.monotonic()
        logger.info("Bybit stream connected (%s)", reason)
        await asyncio.gather(*(self._backfill(pair) for pair in self._pairs))

    async def _close_stream(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            await asyncio.to_thread(stream.close)

    async def _watchdog(self) -> None:
        while True:
            await asyncio.sleep(self.watchdog_seconds)
            self._report_silent_pairs()
            silent = time.monotonic() - self._last_message
            if self._stream is None or not self._stream.is_connected():
                await self._reconnect("connection dropped")
            elif silent > self.silence_seconds:
                await self._reconnect(f"no message for {silent:.0f} s")

    async def _reconnect(self, reason: str) -> None:
        self.reconnects += 1
        logger.warning("Bybit stream: %s; reconnecting (#%d)", reason, self.reconnects)
        for pair in self._pairs:
            self._queue.put_nowait(self._pair_status(pair, connected=False, note=f"{pair} stream {reason}, reconnecting"))
        await self._connect(reason)

    # -- backfill ----------------------------------------------------------------------------
    async def _backfill(self, pair: str) -> None:
        """Fetch what the stream missed, merge it with what it held, emit; retry while a gap remains."""
        if pair in self._backfilling:
            return
        self._backfilling.add(pair)
        try:
            for attempt in range(BACKFILL_ROUNDS):
                sequencer = self._sequencers[pair]
                candles = await self._fetch_missing(pair, sequencer)
                if candles is not None:
                    for candle in sequencer.merge_backfill(candles):
                        self._emit_candle(candle)
                if not sequencer.needs_backfill:
                    return
                await asyncio.sleep(self.reconnect_policy.delay(min(attempt, 8)))
            logger.error("%s: gap still open after repeated backfills; waiting for the next candle", pair)
        finally:
            self._backfilling.discard(pair)

    async def _fetch_missing(self, pair: str, sequencer: CandleSequencer) -> list[ClosedCandle] | None:
        out: list[ClosedCandle] = []
        for timeframe in TIMEFRAMES:
            since = sequencer.backfill_start(timeframe)
            if since is None:
                since = self.clock().floor(timeframe_delta(timeframe)) - timeframe_delta(timeframe) * 2
            frame = await self._fetch_with_fallback(pair, timeframe, since)
            if frame is None:
                return None
            out += [ClosedCandle(pair, timeframe, r.timestamp, r.open, r.high, r.low, r.close, r.volume)
                    for r in frame.itertuples(index=False)]
        return out

    async def _fetch_with_fallback(self, pair: str, timeframe: str, since: pd.Timestamp) -> pd.DataFrame | None:
        for client in filter(None, (self.rest, self.fallback_rest)):
            try:
                return await client.fetch(pair, timeframe, since)
            except (MarketError, DataUnavailable) as e:
                logger.warning("%s %s backfill from %s failed: %s", pair, timeframe, client.exchange_id, e)
        return None

    # -- messages (on the event loop) --------------------------------------------------------
    def _on_message(self, message: dict) -> None:
        now = time.monotonic()
        self._last_message = now
        self.messages_received += 1
        topic = message.get("topic", "")
        pair = messages.topic_pair(topic)
        if pair not in self._sequencers:
            return
        self._last_pair_message[pair] = now
        if pair in self._silent_pairs:
            self._silent_pairs.discard(pair)
            self._queue.put_nowait(self._pair_status(pair, note=f"{pair} stream receiving again"))
        try:
            if topic.startswith("kline."):
                self._on_kline(pair, message)
            elif topic.startswith("orderbook."):
                self._on_book(pair, message, now)
            elif topic.startswith("tickers."):
                self._on_ticker(pair, message)
        except (KeyError, ValueError, TypeError) as e:
            logger.warning("ignoring malformed Bybit message on %s: %s", topic, e)

    def _on_kline(self, pair: str, message: dict) -> None:
        sequencer = self._sequencers[pair]
        for candle in messages.closed_candles(message):
            for ready in sequencer.offer(candle):
                self._emit_candle(ready)
        if sequencer.needs_backfill and pair not in self._backfilling and self._stream is not None:
            task = asyncio.get_running_loop().create_task(self._backfill(pair), name=f"backfill-{pair}")
            self._tasks.append(task)
            task.add_done_callback(lambda done: done in self._tasks and self._tasks.remove(done))

    def _on_book(self, pair: str, message: dict, now: float) -> None:
        if now - self._last_book_emit.get(pair, float("-inf")) < self.book_interval_seconds:
            return
        self._last_book_emit[pair] = now
        update: BookUpdate = messages.book_update(message)
        self._queue.put_nowait(update)

    def _on_ticker(self, pair: str, message: dict) -> None:
        update = messages.funding_update(message, self._funding_hours[pair])
        if update is not None and self._last_funding.get(pair) != (update.rate, update.next_funding_time):
            self._last_funding[pair] = (update.rate, update.next_funding_time)
            self._queue.put_nowait(update)

    def _emit_candle(self, candle: ClosedCandle) -> None:
        self._store.append(candle)
        self._queue.put_nowait(candle)

    async def _dispatch(self) -> None:
        while True:
            event = await self._queue.get()
            try:
                await self._listeners.emit(event)
            finally:
                self._queue.task_done()

    # -- status ------------------------------------------------------------------------------
    def _report_silent_pairs(self) -> None:
        now = time.monotonic()
        for pair in self._pairs:
            silent = now - self._last_pair_message.get(pair, now)
            if silent > self.silence_seconds and pair not in self._silent_pairs:
                self._silent_pairs.add(pair)
                self._queue.put_nowait(self._pair_status(pair))

    def _pair_status(self, pair: str, connected: bool | None = None, note: str | None = None) -> StreamStatus:
        raw_silence = time.monotonic() - self._last_pair_message.get(pair, time.monotonic())
        silent = round(raw_silence, 1)
        if connected is None:
            connected = self._stream is not None and self._stream.is_connected()
        if note is None:
            note = f"{pair} stream silent {silent:.0f} s" if raw_silence > self.silence_seconds else \
                f"{pair} stream live" if connected else f"{pair} stream disconnected"
        last = {tf: t for tf in TIMEFRAMES if (t := self._store.last_timestamp(pair, tf)) is not None}
        return StreamStatus(pair, connected, silent, last, note)
