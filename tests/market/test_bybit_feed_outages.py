"""BybitFeed when Bybit fails: REST down at start, a hole REST cannot fill, a slow backfill, source health.

Real pybit and real ccxt against the local Bybit servers replaying the real candles of ``data/sample``.
"""

from __future__ import annotations

import asyncio
import logging
import time

import pandas as pd
import pytest

from market.bybit_feed import BybitFeed
from market.feed import ClosedCandle, StartupProgress
from market.retry import RetryPolicy
from tests.conftest import SAMPLE
from tests.market.conftest import NOW
from tests.market.recorded_market import RecordedMarket

QUIET_FAST_RETRY = RetryPolicy(attempts=2, base_delay=0.001, max_delay=0.01, jitter=0.5, quiet=True)
MINUTE = pd.Timedelta(minutes=1)


@pytest.fixture
def recorded_market() -> RecordedMarket:
    return RecordedMarket(SAMPLE, ["BTCUSDT", "SOLUSDT", "ETHUSDT"], NOW)


class Recorder:
    def __init__(self) -> None:
        self.events: list = []

    async def __call__(self, event) -> None:
        self.events.append(event)

    def candles(self, pair: str, timeframe: str) -> list[ClosedCandle]:
        return [e for e in self.events if isinstance(e, ClosedCandle) and e.pair == pair and e.timeframe == timeframe]


async def wait_for(condition, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


@pytest.fixture
async def make_feed(make_history, ws_server, recorded_market):
    feeds = []

    def make(**kwargs) -> tuple[BybitFeed, Recorder]:
        options = {"silence_seconds": 5.0, "watchdog_seconds": 0.02, "book_interval_seconds": 0.0,
                   "open_timeout": 1.0, "reconnect": RetryPolicy(attempts=1, base_delay=0.005, max_delay=0.05),
                   "clock": lambda: recorded_market.now} | kwargs
        feed = BybitFeed(ws_server.url, make_history("bybit", retry=QUIET_FAST_RETRY, timeout_ms=2000), **options)
        recorder = Recorder()
        feed.add_listener(recorder)
        feeds.append(feed)
        return feed, recorder

    yield make
    for feed in feeds:
        await feed.stop()


def rest_of(feed: BybitFeed):
    return {s.name: s for s in feed.sources()}["Bybit REST"]


async def test_start_keeps_retrying_while_rest_fails_emits_nothing_and_logs_once_a_minute(
        make_feed, http_server, ws_server, caplog):
    http_server.inject("500", "/v5/", times=3000)
    feed, recorder = make_feed(universe_size=2)
    with caplog.at_level(logging.INFO):
        starting = asyncio.create_task(feed.start([]))
        await wait_for(lambda: rest_of(feed).failures >= 10)
        assert not starting.done() and recorder.events == []
        assert feed.progress() == StartupProgress(0, None) and str(feed.progress()) == \
            "starting, choosing the pairs to track"
        rest = rest_of(feed)
        assert rest.ok is False and rest.note.startswith(
            "top pairs by turnover from bybit: bybit load_markets failed after 2 attempts: bybit GET")
        failing_lines = [r for r in caplog.records if r.levelno >= logging.WARNING]
        assert len(failing_lines) == 1 and failing_lines[0].getMessage().startswith(
            "Bybit REST failing since 2025-05-20 12:00:30 UTC: top pairs by turnover")
        http_server.faults.clear()  # Bybit is back
        await asyncio.wait_for(starting, 20)
    assert feed.pairs() == ["BTCUSDT", "ETHUSDT"]  # the top 2 by real 24 h turnover
    assert feed.progress() == StartupProgress(2, 2) and rest_of(feed).ok is True
    assert any(r.getMessage().startswith("Bybit REST recovered after") for r in caplog.records)
    await feed.drain()
    assert [(e.pair, e.timeframe, str(e.timestamp)) for e in recorder.events if isinstance(e, ClosedCandle)] == [
        ("BTCUSDT", "15m", "2025-05-20 11:45:00+00:00"), ("BTCUSDT", "1h", "2025-05-20 11:00:00+00:00"),
        ("ETHUSDT", "15m", "2025-05-20 11:45:00+00:00"), ("ETHUSDT", "1h", "2025-05-20 11:00:00+00:00")]


async def test_a_hole_rest_cannot_fill_is_emitted_around_named_then_filled_in_the_background(
        make_feed, http_server, ws_server, recorded_market):
    start = recorded_market.now.floor("min")
    feed, recorder = make_feed()
    feed.gap_wait_seconds = 1.5
    await feed.start(["SOLUSDT"])
    await wait_for(lambda: ws_server.subscribed_clients(5))
    await ws_server.step(2)
    await wait_for(lambda: len(recorder.candles("SOLUSDT", "1m")) == 2)
    http_server.inject("500", "kline", times=3000)  # REST cannot fill anything from now on
    ws_server.silent = True
    await ws_server.step()  # the stream misses the 12:02 candle
    ws_server.silent = False
    await ws_server.step(3)
    await wait_for(lambda: len(recorder.candles("SOLUSDT", "1m")) == 5, timeout=10)
    minutes = [c.timestamp for c in recorder.candles("SOLUSDT", "1m")]
    assert minutes == [start + MINUTE * k for k in (0, 1, 3, 4, 5)]
    [status] = feed.status()
    assert (status.note, status.gaps) == ("SOLUSDT stream live", ("1 1m candle(s) missing at 05-20 12:02 UTC",))
    await ws_server.step()  # later candles flow at once: nothing is held any more
    await wait_for(lambda: len(recorder.candles("SOLUSDT", "1m")) == 6, timeout=2)
    ws_server.silent = True
    await ws_server.step()  # another hole (12:07) while REST is still down: no second wait for REST
    ws_server.silent = False
    began = time.monotonic()
    await ws_server.step()
    await wait_for(lambda: len(recorder.candles("SOLUSDT", "1m")) == 7, timeout=2)
    assert time.monotonic() - began < feed.gap_wait_seconds
    assert feed.status()[0].gaps == ("1 1m candle(s) missing at 05-20 12:02 UTC",
                                     "1 1m candle(s) missing at 05-20 12:07 UTC")
    http_server.faults.clear()  # REST is back: the hole is filled in the buffer, not replayed to listeners
    await wait_for(lambda: feed.status()[0].gaps == (), timeout=10)
    frame = feed.candles("SOLUSDT", "1m")
    assert list(frame["timestamp"].iloc[-9:]) == [start + MINUTE * k for k in range(9)]
    assert frame["close"].iloc[-7] == recorded_market.frames[("SOLUSDT", "1m")].loc[start + 2 * MINUTE, "close"]
    assert len(recorder.candles("SOLUSDT", "1m")) == 7


async def test_the_watchdog_goes_on_while_a_backfill_waits_for_rest(make_feed, http_server, ws_server):
    feed, _ = make_feed(reconnect=RetryPolicy(attempts=1, base_delay=0.3, max_delay=0.6, jitter=0.0))
    feed.gap_wait_seconds = 30.0
    await feed.start(["SOLUSDT"])
    await wait_for(lambda: ws_server.subscribed_clients(5))
    http_server.inject("500", "kline", times=3000)
    ws_server.drop_all()
    await wait_for(lambda: feed.reconnects == 1 and ws_server.subscribed_clients(5), timeout=5)
    await asyncio.sleep(1.0)  # the backfill after it fails and goes on
    ws_server.drop_all()
    await wait_for(lambda: feed.reconnects == 2, timeout=2)


async def test_rest_health_is_known_within_a_minute_even_when_nothing_needs_rest(make_feed, http_server, ws_server):
    feed, _ = make_feed(rest_probe_seconds=0.3, silence_seconds=60.0)
    await feed.start(["BTCUSDT"])
    await wait_for(lambda: ws_server.subscribed_clients(5))
    asked = len(http_server.requests)
    await wait_for(lambda: len(http_server.requests) >= asked + 3, timeout=5)  # idle REST is probed
    assert rest_of(feed).ok is True
    http_server.inject("500", "kline", times=3000)
    await wait_for(lambda: rest_of(feed).ok is False, timeout=3)
    # the idle probe finds it (or, on a loaded machine, a backfill of a late confirm gets there first)
    assert " from bybit: bybit BTC/USDT:USDT 1m candles from" in rest_of(feed).note
    stream = {s.name: s for s in feed.sources()}["Bybit WebSocket"]
    assert stream.ok is True and stream.note == "connected"


async def test_a_pair_bybit_does_not_list_is_left_out_and_the_others_start(make_feed, ws_server, caplog):
    feed, _ = make_feed()
    await feed.start(["SOLUSDT", "DOGEUSDT"])
    assert feed.pairs() == feed.loaded_pairs() == ["SOLUSDT"] and feed.progress() == StartupProgress(1, 1)
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR] == [
        "DOGEUSDT left out: bybit has no market DOGE/USDT:USDT for DOGEUSDT"]
