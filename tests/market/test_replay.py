"""ReplayFeed on the bundled real Binance candles: warm-up, order, completeness, funding, clock."""

from __future__ import annotations

import asyncio

import pandas as pd
import pytest

from engines.candles import resample
from engines.errors import DataUnavailable, InvalidInput
from market.feed import ClosedCandle, FundingUpdate, StreamStatus
from market.files import SAMPLE_DATA_DIR, read_candles, read_funding
from market.replay import ReplayFeed

PAIRS = ["BTCUSDT", "SOLUSDT"]
START = pd.Timestamp("2025-05-15 02:00", tz="UTC")  # first candle 15:33 on 05-04, ceil to 16:00, + 250 h


def replay_all(pairs=PAIRS, **kwargs) -> tuple[ReplayFeed, list]:
    async def run():
        feed = ReplayFeed(SAMPLE_DATA_DIR, speed=None, **kwargs)
        events = []

        async def listener(event):
            events.append(event)

        feed.add_listener(listener)
        await feed.start(pairs)
        await feed.run_to_end()
        return feed, events

    return asyncio.run(run())


@pytest.fixture(scope="module")
def replayed() -> tuple[ReplayFeed, list]:
    return replay_all(start=pd.Timestamp("2025-06-01 00:00", tz="UTC"))


def emitted(events: list, pair: str, timeframe: str) -> pd.DataFrame:
    rows = [(e.timestamp, e.open, e.high, e.low, e.close, e.volume) for e in events
            if isinstance(e, ClosedCandle) and e.pair == pair and e.timeframe == timeframe]
    return pd.DataFrame(rows, columns=["timestamp", "open", "high", "low", "close", "volume"])


async def test_start_prefills_250_hours_of_warm_up():
    feed = ReplayFeed(SAMPLE_DATA_DIR, speed=None)
    await feed.start(PAIRS)
    h1 = feed.candles("BTCUSDT", "1h")
    assert feed.now() == START
    assert len(h1) == 250
    assert h1["timestamp"].iloc[-1] == pd.Timestamp("2025-05-15 01:00", tz="UTC")
    assert h1["close"].iloc[-1] == 102979.2


async def test_buffers_are_bounded_by_the_buffer_length():
    feed = ReplayFeed(SAMPLE_DATA_DIR, speed=None, buffer_length=500)
    await feed.start(PAIRS)
    m1 = feed.candles("SOLUSDT", "1m")
    assert len(m1) == 500
    assert m1["timestamp"].iloc[-1] == START - pd.Timedelta(minutes=1)


@pytest.mark.parametrize("pair", PAIRS)
def test_every_1m_candle_after_start_is_emitted_once_and_equals_the_file(replayed, pair):
    source = read_candles(SAMPLE_DATA_DIR, pair, "1m")
    expected = source[source["timestamp"] >= pd.Timestamp("2025-06-01", tz="UTC")].reset_index(drop=True)
    pd.testing.assert_frame_equal(emitted(replayed[1], pair, "1m"), expected, check_dtype=False)


@pytest.mark.parametrize("timeframe", ["15m", "1h"])
def test_higher_timeframes_are_resampled_from_1m(replayed, timeframe):
    source = resample(read_candles(SAMPLE_DATA_DIR, "BTCUSDT", "1m"), timeframe)
    expected = source[source["timestamp"] >= pd.Timestamp("2025-06-01", tz="UTC")].reset_index(drop=True)
    pd.testing.assert_frame_equal(emitted(replayed[1], "BTCUSDT", timeframe), expected, check_dtype=False)


def test_a_15m_candle_comes_right_after_the_last_1m_candle_of_its_bucket(replayed):
    events = [e for e in replayed[1] if isinstance(e, ClosedCandle) and e.pair == "SOLUSDT"]
    for index, event in enumerate(events):
        if event.timeframe == "15m":
            previous = events[index - 1]
            assert (previous.timeframe, previous.timestamp) == ("1m", event.timestamp + pd.Timedelta(minutes=14))


def test_funding_events_carry_the_next_settlement_of_the_funding_file(replayed):
    funding = read_funding(SAMPLE_DATA_DIR, "BTCUSDT")
    after_start = funding["timestamp"] > pd.Timestamp("2025-06-01", tz="UTC")
    upcoming = funding[after_start & (funding["timestamp"] <= pd.Timestamp("2025-06-03 16:00", tz="UTC"))]
    events = [e for e in replayed[1] if isinstance(e, FundingUpdate) and e.pair == "BTCUSDT"]
    assert [e.next_funding_time for e in events] == list(upcoming["timestamp"])
    assert [e.rate for e in events] == list(upcoming["funding_rate"])
    assert {e.interval_hours for e in events} == {8.0}


def test_funding_updates_are_emitted_at_the_previous_settlement_time(replayed):
    events = replayed[1]
    index = next(i for i, e in enumerate(events) if isinstance(e, FundingUpdate)
                 and e.pair == "SOLUSDT" and e.next_funding_time == pd.Timestamp("2025-06-02 08:00", tz="UTC"))
    candle = next(e for e in reversed(events[:index]) if isinstance(e, ClosedCandle) and e.pair == "SOLUSDT")
    assert candle.close_time == pd.Timestamp("2025-06-02 00:00", tz="UTC")


def test_the_replay_ends_with_a_finished_status_per_pair(replayed):
    feed, events = replayed
    assert [e.pair for e in events[-2:] if isinstance(e, StreamStatus)] == PAIRS
    assert feed.finished and feed.now() == pd.Timestamp("2025-06-03 15:32", tz="UTC")
    assert feed.status()[0].last_closed["1m"] == pd.Timestamp("2025-06-03 15:31", tz="UTC")


def test_tick_sizes_are_inferred_from_the_closes(replayed):
    assert (replayed[0].tick_size("BTCUSDT"), replayed[0].tick_size("SOLUSDT")) == (0.1, 0.01)


async def test_advance_emits_exactly_the_candles_that_closed_in_the_interval():
    feed = ReplayFeed(SAMPLE_DATA_DIR, speed=None)
    closed = []

    async def listener(event):
        if isinstance(event, ClosedCandle):
            closed.append((event.pair, event.timeframe, event.timestamp))

    feed.add_listener(listener)
    await feed.start(["ETHUSDT"])
    await feed.advance(30.5)
    assert feed.now() == START + pd.Timedelta(minutes=30.5)
    assert len(closed) == 30 + 2 and closed[-1] == ("ETHUSDT", "15m", START + pd.Timedelta(minutes=15))


async def test_real_time_clock_advances_speed_minutes_per_second():
    feed = ReplayFeed(SAMPLE_DATA_DIR, speed=10.0, tick_seconds=0.01)
    last = []

    async def listener(event):
        if isinstance(event, ClosedCandle) and event.timeframe == "1m":
            last.append(event.timestamp)

    feed.add_listener(listener)
    await feed.start(["XRPUSDT"])
    await asyncio.sleep(0.5)
    await feed.stop()
    elapsed = feed.now() - START
    assert pd.Timedelta(minutes=3) < elapsed < pd.Timedelta(minutes=8)
    assert last[-1] + pd.Timedelta(minutes=2) > feed.now() >= last[-1] + pd.Timedelta(minutes=1)


async def test_unknown_pair_is_refused_with_the_pairs_that_exist():
    with pytest.raises(DataUnavailable, match="no 1m candles for DOGEUSDT .*BNBUSDT, BTCUSDT"):
        await ReplayFeed(SAMPLE_DATA_DIR, speed=None).start(["DOGEUSDT"])


async def test_a_warm_up_longer_than_the_data_is_refused():
    with pytest.raises(DataUnavailable, match="lower warmup_hours"):
        await ReplayFeed(SAMPLE_DATA_DIR, speed=None, warmup_hours=1000).start(PAIRS)


async def test_a_start_given_as_text_is_read_as_utc():
    feed = ReplayFeed(SAMPLE_DATA_DIR, speed=None, start="2025-06-02T12:00Z")
    await feed.start(["LINKUSDT"])
    assert feed.now() == pd.Timestamp("2025-06-02 12:00", tz="UTC")
    assert feed.candles("LINKUSDT", "1m")["timestamp"].iloc[-1] == pd.Timestamp("2025-06-02 11:59", tz="UTC")


async def test_the_clock_cannot_go_backwards():
    feed = ReplayFeed(SAMPLE_DATA_DIR, speed=None)
    await feed.start(["BNBUSDT"])
    with pytest.raises(InvalidInput, match="backwards"):
        await feed.advance(-1)


async def test_the_clock_follows_each_emitted_minute_during_a_catch_up():
    feed = ReplayFeed(SAMPLE_DATA_DIR, speed=None)
    seen = []

    async def listener(event):
        if isinstance(event, ClosedCandle) and event.timeframe == "1m":
            seen.append((event.timestamp + pd.Timedelta(minutes=1), feed.now()))

    feed.add_listener(listener)
    await feed.start(["ETHUSDT"])
    await feed.advance(90)
    assert len(seen) == 90
    assert [now for _, now in seen] == [close for close, _ in seen]
    assert seen[-1][1] == START + pd.Timedelta(minutes=90)
