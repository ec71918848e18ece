"""The live feed: pybit's public stream for closed candles, book and funding; ccxt REST for history.

Start-up picks the pairs (given, or the top ``universe_size`` by turnover), loads their history
over REST (``history.startup_counts``), emits each pair's last closed 15m and 1h candle once (the
bot decides them like any other), connects, subscribes ``kline.1/15/60``, ``tickers`` and
``orderbook.50`` for every pair and backfills what closed in between. Nothing is ever replaced by
other data: while Bybit cannot be reached, start-up keeps retrying with backoff (the log says so
once a minute, :meth:`BybitFeed.sources` at once) and nothing is emitted.

A watchdog notices a dropped or silent connection and reconnects with backoff; every pair is then
backfilled over REST in the background before any further candle of it is emitted. A hole REST
cannot fill holds a pair back for at most ``gap_wait_seconds``: then what is there is emitted, the
hole is named in :meth:`BybitFeed.status` and filled into the buffer later when REST has it.
Listeners run one event at a time on the event loop, in order.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

import pandas as pd

from engines.candles import timeframe_delta
from engines.errors import DataUnavailable, InvalidInput, MarketError
from market import bybit_messages as messages
from market.bybit_stream import DEFAULT_WS_URL, BybitStream
from market.candle_sequencer import CandleSequencer, emission_key
from market.candle_store import CandleStore
from market.dispatch import ListenerSet
from market.feed import (DEFAULT_BUFFER_LENGTH, TIMEFRAMES, BookUpdate, ClosedCandle, Listener, MarketEvent,
                         SourceState, StartupProgress, StreamStatus)
from market.health import SourceHealth
from market.history import Clock, HistoryClient, startup_counts, wall_clock
from market.retry import RetryPolicy
from market.universe import UNIVERSE_SIZE, Universe

logger = logging.getLogger(__name__)
T = TypeVar("T")
MAX_OPEN_GAPS = 20  # holes per pair still fetched in the background


class BybitFeed:
    """:class:`market.feed.MarketFeed` over Bybit; owns (and closes) ``rest``."""

    def __init__(self, ws_url: str = DEFAULT_WS_URL, rest: HistoryClient | None = None, *,
                 fallback_rest: HistoryClient | None = None, silence_seconds: float = 30.0,
                 watchdog_seconds: float = 1.0, book_interval_seconds: float = 1.0,
                 reconnect: RetryPolicy = RetryPolicy(attempts=1, base_delay=1.0, max_delay=60.0),
                 history_counts: dict[str, int] | None = None, buffer_length: int = DEFAULT_BUFFER_LENGTH,
                 ping_interval: float = 20, open_timeout: float = 10.0, clock: Clock = wall_clock,
                 gap_wait_seconds: float = 60.0, rest_probe_seconds: float = 60.0,
                 universe_size: int = UNIVERSE_SIZE) -> None:
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
        self.gap_wait_seconds = gap_wait_seconds
        self.rest_probe_seconds = rest_probe_seconds
        self.universe_size = universe_size
        self.stream_health = SourceHealth("Bybit WebSocket", clock=clock)
        self.rest_health = {client.exchange_id: SourceHealth(f"{client.exchange_id.title()} REST", clock=clock)
                            for client in filter(None, (self.rest, fallback_rest))}
        self._last_rest_call = time.monotonic()
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
        self._filling_gaps: set[str] = set()
        self._loaded: list[str] = []
        self._pairs_chosen = False
        self._stopped = False

    # -- MarketFeed --------------------------------------------------------------------------
    async def start(self, pairs: Sequence[str]) -> None:
        """Pick ``pairs`` (empty: the top ``universe_size`` by turnover), load them, connect.

        Returns once the stream is up; while Bybit is unreachable it keeps trying (it never gives
        up, and never emits anything else instead). A pair Bybit does not list is left out (and
        logged); DataUnavailable only if it lists none of them.
        """
        self._loop = asyncio.get_running_loop()
        self._tasks.append(asyncio.create_task(self._dispatch(), name="bybit-dispatch"))
        chosen = list(dict.fromkeys(pairs)) or await self._persist(
            self.rest, "top pairs by turnover", lambda: Universe(self.rest, size=self.universe_size).refresh())
        self._pairs, self._pairs_chosen = chosen, True
        await self._persist(self.rest, "markets", self.rest.load_markets)
        self._pairs = await self._listed(chosen)
        await asyncio.gather(*(self._persist(self.rest, f"{pair} history", lambda pair=pair: self._load_pair(pair))
                               for pair in self._pairs))
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

    def loaded_pairs(self) -> list[str]:
        return list(self._loaded)

    def first_missing_minute(self, pair: str) -> pd.Timestamp | None:
        sequencer = self._sequencers.get(pair)
        holes = [gap.first for gap in list(sequencer.gaps) if gap.timeframe == "1m"] if sequencer is not None else []
        return min(holes, default=None)

    def progress(self) -> StartupProgress:
        return StartupProgress(len(self._loaded), len(self._pairs) if self._pairs_chosen else None)

    def sources(self) -> list[SourceState]:
        return [self.stream_health.state(), *(health.state() for health in self.rest_health.values())]

    async def drain(self) -> None:
        """Wait until every event received so far has been handed to the listeners."""
        await self._queue.join()

    # -- start-up ----------------------------------------------------------------------------
    async def _listed(self, pairs: list[str]) -> list[str]:
        """The pairs Bybit lists (markets are loaded); the others are left out, each said once in the log."""
        listed = []
        for pair in pairs:
            try:
                await self.rest.market(pair)
            except (DataUnavailable, InvalidInput) as e:
                logger.error("%s left out: %s", pair, e)
            else:
                listed.append(pair)
        if not listed:
            raise DataUnavailable(f"Bybit lists none of the pairs to track ({', '.join(pairs)})")
        return listed

    async def _persist(self, client: HistoryClient, what: str, call: Callable[[], Awaitable[T]]) -> T:
        """``await call()`` until it works, with backoff; failures go to ``client``'s health (and the log)."""
        attempt = 0
        while True:
            try:
                result = await self._rest_call(client, f"{what} from {client.exchange_id}", call)
            except MarketError:
                await asyncio.sleep(self.reconnect_policy.delay(min(attempt, 16)))
                attempt += 1
            else:
                return result

    async def _rest_call(self, client: HistoryClient, what: str, call: Callable[[], Awaitable[T]]) -> T:
        """One REST call, its outcome recorded in ``client``'s health; raises MarketError on failure."""
        self._last_rest_call = time.monotonic()
        try:
            result = await call()
        except MarketError as e:
            self.rest_health[client.exchange_id].failed(f"{what}: {e}")
            raise
        self.rest_health[client.exchange_id].ok()
        return result

    async def _load_pair(self, pair: str) -> None:
        market = await self.rest.market(pair)
        frames = {timeframe: await self.rest.recent(pair, timeframe, count)
                  for timeframe, count in self.history_counts.items()}
        self._ticks[pair] = float(market["precision"]["price"])
        self._funding_hours[pair] = float(market["info"].get("fundingInterval") or 480) / 60
        self._store.add_pair(pair)
        for timeframe, frame in frames.items():
            self._store.load(pair, timeframe, frame)
        last = {tf: self._store.last_timestamp(pair, tf) for tf in TIMEFRAMES}
        self._sequencers[pair] = CandleSequencer(pair, last)
        self._last_pair_message[pair] = time.monotonic()
        self._loaded.append(pair)
        self._emit_last_closed(pair)

    def _emit_last_closed(self, pair: str) -> None:
        """The pair's last loaded 15m and 1h candles, once: the bot decides them like any other."""
        last = []
        for timeframe in ("15m", "1h"):
            frame = self._store.frame(pair, timeframe)
            if not frame.empty:
                r = frame.iloc[-1]
                last.append(ClosedCandle(pair, timeframe, r["timestamp"], float(r["open"]), float(r["high"]),
                                         float(r["low"]), float(r["close"]), float(r["volume"])))
        for candle in sorted(last, key=emission_key):
            self._queue.put_nowait(candle)

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
                self.stream_health.failed(f"{reason}: {e}")
                await asyncio.sleep(self.reconnect_policy.delay(min(attempt, 16)))
                attempt += 1
        self._last_message = time.monotonic()
        self.stream_health.ok("connected")
        logger.info("Bybit stream connected (%s)", reason)
        for pair in self._pairs:  # in the background: the watchdog goes on while REST is slow or down
            self._start_task(self._backfill(pair), f"backfill-{pair}")

    def _start_task(self, work: Awaitable[None], name: str) -> None:
        task = asyncio.get_running_loop().create_task(work, name=name)
        self._tasks.append(task)
        task.add_done_callback(lambda done: done in self._tasks and self._tasks.remove(done))

    async def _close_stream(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            await asyncio.to_thread(stream.close)

    async def _watchdog(self) -> None:
        while True:
            await asyncio.sleep(self.watchdog_seconds)
            self._report_silent_pairs()
            self._probe_rest()
            silent = time.monotonic() - self._last_message
            if self._stream is None or not self._stream.is_connected():
                await self._reconnect("connection dropped")
            elif silent > self.silence_seconds:
                await self._reconnect(f"no message for {silent:.0f} s")

    def _probe_rest(self) -> None:
        """REST unused for ``rest_probe_seconds``: ask for a recent candle, so /status knows it is up."""
        if time.monotonic() - self._last_rest_call < self.rest_probe_seconds or not self._loaded:
            return
        pair, since = self._loaded[0], self.clock().floor("min") - pd.Timedelta(minutes=2)
        probe = self._rest_call(self.rest, f"probe from {self.rest.exchange_id}",
                                lambda: self.rest.fetch(pair, "1m", since))
        self._start_task(self._quietly(probe), "bybit-rest-probe")

    @staticmethod
    async def _quietly(call: Awaitable[object]) -> None:
        try:
            await call
        except (MarketError, DataUnavailable):
            pass  # recorded in the source's health

    async def _reconnect(self, reason: str) -> None:
        self.reconnects += 1
        self.stream_health.failed(reason)
        logger.info("Bybit stream: %s; reconnecting (#%d)", reason, self.reconnects)
        for pair in self._pairs:
            note = f"{pair} stream {reason}, reconnecting"
            self._queue.put_nowait(self._pair_status(pair, connected=False, note=note))
        await self._connect(reason)

    # -- backfill ----------------------------------------------------------------------------
    async def _backfill(self, pair: str) -> None:
        """Fetch what the stream missed, merge it with what it held, emit; retry while a gap remains.

        After ``gap_wait_seconds`` a hole REST could not fill stops holding the pair back: what
        is there is emitted and the hole is recorded, to be filled in the background.
        """
        if pair in self._backfilling:
            return
        self._backfilling.add(pair)
        started, attempt = time.monotonic(), 0
        try:
            while not self._stopped:
                sequencer = self._sequencers[pair]
                candles = await self._fetch_missing(pair, sequencer)
                for candle in sequencer.merge_backfill(candles or []) if candles is not None else []:
                    self._emit_candle(candle)
                if candles is not None:
                    sequencer.tolerate_gaps = False
                if not sequencer.needs_backfill:
                    break
                if time.monotonic() - started >= self.gap_wait_seconds:
                    self._give_up_waiting(pair, sequencer)
                    break
                await asyncio.sleep(min(self.reconnect_policy.delay(min(attempt, 8)),
                                        max(0.0, started + self.gap_wait_seconds - time.monotonic())))
                attempt += 1
        finally:
            self._backfilling.discard(pair)
        self._start_gap_filler(pair)

    def _give_up_waiting(self, pair: str, sequencer: CandleSequencer) -> None:
        known = set(sequencer.gaps)
        sequencer.tolerate_gaps = True  # until REST answers again, a new hole does not wait for it
        for candle in sequencer.merge_backfill([], allow_gaps=True):
            self._emit_candle(candle)
        if len(sequencer.gaps) > MAX_OPEN_GAPS:
            logger.warning("%s: %d holes REST could not fill; no longer trying the oldest %d", pair,
                           len(sequencer.gaps), len(sequencer.gaps) - MAX_OPEN_GAPS)
            del sequencer.gaps[:-MAX_OPEN_GAPS]
        for gap in (g for g in sequencer.gaps if g not in known):
            logger.warning("%s: %s; REST could not fill them in %.0f s: going on without them, still trying",
                           pair, gap, self.gap_wait_seconds)
        self._queue.put_nowait(self._pair_status(pair))

    def _start_gap_filler(self, pair: str) -> None:
        if self._sequencers[pair].gaps and pair not in self._filling_gaps and not self._stopped:
            self._filling_gaps.add(pair)
            self._start_task(self._fill_gaps(pair), f"fill-gaps-{pair}")

    async def _fill_gaps(self, pair: str) -> None:
        """Keep fetching the recorded holes; late candles go into the buffer, not to the listeners."""
        sequencer, attempt = self._sequencers[pair], 0
        try:
            while sequencer.gaps and not self._stopped:
                await asyncio.sleep(self.reconnect_policy.delay(min(attempt, 16)))
                attempt += 1
                for gap in list(sequencer.gaps):
                    step = timeframe_delta(gap.timeframe)
                    frame = await self._fetch_with_fallback(pair, gap.timeframe, gap.first, gap.last + step)
                    if frame is None:
                        continue
                    sequencer.tolerate_gaps = False
                    self._store.insert([ClosedCandle(pair, gap.timeframe, r.timestamp, r.open, r.high, r.low, r.close,
                                                     r.volume) for r in frame.itertuples(index=False)])
                    if len(frame) >= gap.count:
                        sequencer.close_gap(gap)
                        logger.warning("%s: filled late: %s (in the buffer; not replayed to the bot)", pair, gap)
                        self._queue.put_nowait(self._pair_status(pair))
        finally:
            self._filling_gaps.discard(pair)

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

    async def _fetch_with_fallback(self, pair: str, timeframe: str, since: pd.Timestamp,
                                   until: pd.Timestamp | None = None) -> pd.DataFrame | None:
        for client in filter(None, (self.rest, self.fallback_rest)):
            try:
                return await self._rest_call(client, f"{pair} {timeframe} backfill from {client.exchange_id}",
                                             lambda client=client: client.fetch(pair, timeframe, since, until))
            except MarketError:
                pass  # recorded in the client's health
            except DataUnavailable as e:
                logger.debug("%s %s backfill from %s: %s", pair, timeframe, client.exchange_id, e)
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
            self._start_task(self._backfill(pair), f"backfill-{pair}")
        elif sequencer.gaps and pair not in self._backfilling:
            self._start_gap_filler(pair)

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
        last = {tf: t for tf in TIMEFRAMES if pair in self._loaded
                and (t := self._store.last_timestamp(pair, tf)) is not None}
        if pair not in self._loaded:
            note = f"{pair} history not loaded yet"
        sequencer = self._sequencers.get(pair)
        gaps = tuple(map(str, sequencer.gaps)) if sequencer is not None else ()
        return StreamStatus(pair, connected, silent, last, note, gaps)
