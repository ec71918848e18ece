"""BybitFeed through real pybit and real ccxt against local Bybit servers replaying real candles."""

from __future__ import annotations

import asyncio
import re
import time

import pandas as pd
import pytest

from engines.candles import resample
from market.bybit_feed import BybitFeed
from market.feed import BookUpdate, ClosedCandle, FundingUpdate, StreamStatus
from market.files import read_candles
from market.retry import RetryPolicy
from tests.conftest import M1_2025

PAIRS = ["BTCUSDT", "SOLUSDT"]
STEP = {"1m": pd.Timedelta(minutes=1), "15m": pd.Timedelta(minutes=15), "1h": pd.Timedelta(hours=1)}


class Recorder:
    def __init__(self) -> None:
        self.events: list = []
        self.at_start: list = []  # what the feed emitted while starting (the last loaded 15m/1h candles)

    async def __call__(self, event) -> None:
        self.events.append(event)

    def candles(self, pair: str, timeframe: str) -> list[ClosedCandle]:
        return [e for e in self.events if isinstance(e, ClosedCandle) and e.pair == pair and e.timeframe == timeframe]

    def of(self, kind: type) -> list:
        return [e for e in self.events if isinstance(e, kind)]


@pytest.fixture
async def live(make_history, ws_server, recorded_market):
    feeds = []

    async def start(pairs=PAIRS, **kwargs) -> tuple[BybitFeed, Recorder]:
        options = {"silence_seconds": 5.0, "watchdog_seconds": 0.02, "book_interval_seconds": 0.0, "open_timeout": 1.0,
                   "reconnect": RetryPolicy(attempts=1, base_delay=0.005, max_delay=0.05),
                   "clock": lambda: recorded_market.now} | kwargs
        feed = BybitFeed(ws_server.url, make_history("bybit"), **options)
        recorder = Recorder()
        feed.add_listener(recorder)
        feeds.append(feed)
        await feed.start(pairs)
        await wait_for(lambda: ws_server.subscribed_clients(len(pairs) * 5))
        await feed.drain()
        recorder.at_start = [e for e in recorder.events if isinstance(e, ClosedCandle)]
        recorder.events = [e for e in recorder.events if not isinstance(e, ClosedCandle)]
        return feed, recorder

    yield start
    for feed in feeds:
        await feed.stop()


def source(pair: str, timeframe: str, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    frame = resample(read_candles(M1_2025, pair, "1m"), timeframe)
    return frame[(frame["timestamp"] >= start) & (frame["timestamp"] + STEP[timeframe] <= end)].reset_index(drop=True)


def as_frame(candles: list[ClosedCandle]) -> pd.DataFrame:
    rows = [(c.timestamp, c.open, c.high, c.low, c.close, c.volume) for c in candles]
    return pd.DataFrame(rows, columns=["timestamp", "open", "high", "low", "close", "volume"])


async def wait_for(condition, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


async def caught_up(feed: BybitFeed, minute: pd.Timestamp) -> None:
    await wait_for(lambda: all(s.last_closed.get("1m") == minute for s in feed.status()))
    await feed.drain()


def assert_bucket_order(candles: list[ClosedCandle]) -> None:
    seen_1m: set[pd.Timestamp] = set()
    for candle in candles:
        if candle.timeframe == "1m":
            seen_1m.add(candle.timestamp)
        else:
            assert candle.close_time - STEP["1m"] in seen_1m, f"{candle} before its last 1m candle"


async def test_start_up_loads_history_and_tick_sizes(live, recorded_market):
    feed, _ = await live()
    expected = source("BTCUSDT", "1h", pd.Timestamp("2025-05-01", tz="UTC"), recorded_market.now).iloc[-250:]
    pd.testing.assert_frame_equal(feed.candles("BTCUSDT", "1h"), expected.reset_index(drop=True))
    assert len(feed.candles("SOLUSDT", "15m")) == 150
    assert (feed.tick_size("BTCUSDT"), feed.tick_size("SOLUSDT")) == (0.1, 0.01)


async def test_stream_candles_equal_the_source_and_15m_follows_its_1m(live, ws_server, recorded_market):
    start = recorded_market.now.floor("min")
    feed, recorder = await live()
    await ws_server.step(30)
    await caught_up(feed, start + pd.Timedelta(minutes=29))
    for timeframe in ("1m", "15m"):
        expected = source("SOLUSDT", timeframe, start, recorded_market.now)
        pd.testing.assert_frame_equal(as_frame(recorder.candles("SOLUSDT", timeframe)), expected)
    assert_bucket_order([e for e in recorder.of(ClosedCandle) if e.pair == "SOLUSDT"])


@pytest.mark.slow
async def test_100_drops_in_a_replayed_day_miss_no_candle_and_repeat_none(live, ws_server, recorded_market):
    day = recorded_market.now.floor("D") + pd.Timedelta(days=1)
    recorded_market.now = day + pd.Timedelta(seconds=30)
    feed, recorder = await live()
    drops = 0
    for minute in range(1440):
        await ws_server.step()
        if minute % 14 == 7 and drops < 100:
            await wait_for(lambda: ws_server.subscribed_clients(len(PAIRS) * 5))
            drops += ws_server.drop_all(abort=drops % 2 == 0)
        await asyncio.sleep(0.001)
    await caught_up(feed, day + pd.Timedelta(minutes=1439))
    assert drops == 100 and feed.reconnects >= 100 and ws_server.connections_made >= 101
    for pair in PAIRS:
        for timeframe in ("1m", "15m", "1h"):
            expected = source(pair, timeframe, day, day + pd.Timedelta(days=1))
            pd.testing.assert_frame_equal(as_frame(recorder.candles(pair, timeframe)), expected)
        assert_bucket_order([e for e in recorder.of(ClosedCandle) if e.pair == pair])


async def test_rest_faults_during_backfill_are_retried(live, ws_server, http_server, recorded_market):
    start = recorded_market.now.floor("min")
    feed, recorder = await live()
    ws_server.drop_all()
    for fault in ("429", "500", "timeout", "malformed"):
        http_server.inject(fault, "kline")
    await ws_server.step(20)
    await caught_up(feed, start + pd.Timedelta(minutes=19))
    assert not http_server.faults  # every injected fault was answered to the feed
    expected = source("BTCUSDT", "1m", start, recorded_market.now)
    pd.testing.assert_frame_equal(as_frame(recorder.candles("BTCUSDT", "1m")), expected)


async def test_a_silent_stream_is_reported_reconnected_and_backfilled(live, ws_server, recorded_market):
    start = recorded_market.now.floor("min")
    feed, recorder = await live(silence_seconds=0.3)
    ws_server.silent = True
    await ws_server.step(5)
    await wait_for(lambda: feed.reconnects >= 1)
    await feed.drain()
    notes = [s.note for s in recorder.of(StreamStatus) if s.pair == "SOLUSDT"]
    assert any(re.fullmatch(r"SOLUSDT stream silent \d+ s", note) for note in notes)
    assert any(re.fullmatch(r"SOLUSDT stream no message for \d+ s, reconnecting", note) for note in notes)
    ws_server.silent = False
    await ws_server.step(5)
    await caught_up(feed, start + pd.Timedelta(minutes=9))
    assert [c.timestamp for c in recorder.candles("SOLUSDT", "1m")] == [start + pd.Timedelta(minutes=k) for k in range(10)]


async def test_status_names_a_silent_pair_and_its_silence(live, ws_server):
    feed, _ = await live(silence_seconds=0.2, watchdog_seconds=10.0)
    await asyncio.sleep(0.35)
    status = {s.pair: s for s in feed.status()}["SOLUSDT"]
    assert status.note == f"SOLUSDT stream silent {status.silent_seconds:.0f} s" and status.silent_seconds >= 0.2


async def test_book_updates_follow_the_order_book(live, ws_server, recorded_market):
    feed, recorder = await live(pairs=["BTCUSDT"])
    await ws_server.step(3)
    await caught_up(feed, recorded_market.now.floor("min") - pd.Timedelta(minutes=1))
    books = recorder.of(BookUpdate)
    assert books[0].imbalance == 0.0  # the snapshot: 50 levels of 1.0 each side
    candle = recorded_market.closed("BTCUSDT", "1m").iloc[-1]
    assert books[-1].imbalance == (0.5 if candle["close"] >= candle["open"] else -0.5)


async def test_funding_comes_from_the_ticker_with_the_instrument_interval(live):
    _, recorder = await live(pairs=["SOLUSDT"])
    await wait_for(lambda: recorder.of(FundingUpdate))
    assert recorder.of(FundingUpdate)[0] == FundingUpdate("SOLUSDT", 0.0001, pd.Timestamp("2025-05-20 16:00", tz="UTC"), 8.0)


async def test_pybit_pings_are_answered_and_keep_the_connection(live, ws_server):
    feed, _ = await live(pairs=["ETHUSDT"], ping_interval=0.2)
    await wait_for(lambda: ws_server.pings >= 2, timeout=5)
    assert feed.reconnects == 0 and feed.status()[0].connected
