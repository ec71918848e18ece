"""CandleSequencer on real SOLUSDT candles: order, duplicates, gaps and backfill merges."""

from __future__ import annotations

import pandas as pd
import pytest

from engines.candles import resample
from market.candle_sequencer import CandleSequencer, Gap
from market.feed import ClosedCandle
from market.files import read_candles
from tests.conftest import SAMPLE

START = pd.Timestamp("2025-05-20 10:00", tz="UTC")


@pytest.fixture(scope="module")
def sol() -> dict[str, list[ClosedCandle]]:
    m1 = read_candles(SAMPLE, "SOLUSDT", "1m")
    m1 = m1[(m1["timestamp"] >= START - pd.Timedelta(hours=1)) & (m1["timestamp"] < START + pd.Timedelta(hours=2))]
    out = {}
    for timeframe in ("1m", "15m", "1h"):
        frame = resample(m1, timeframe)
        out[timeframe] = [ClosedCandle("SOLUSDT", timeframe, r.timestamp, r.open, r.high, r.low, r.close, r.volume)
                          for r in frame.itertuples(index=False)]
    return out


def after(candles: list[ClosedCandle], stamp: pd.Timestamp) -> list[ClosedCandle]:
    return [c for c in candles if c.timestamp >= stamp]


def fresh() -> CandleSequencer:
    last = {"1m": START - pd.Timedelta(minutes=1), "15m": START - pd.Timedelta(minutes=15),
            "1h": START - pd.Timedelta(hours=1)}
    return CandleSequencer("SOLUSDT", last)


def test_a_15m_candle_received_before_its_last_1m_candle_waits_for_it(sol):
    sequencer = fresh()
    minutes = after(sol["1m"], START)
    emitted = []
    for candle in minutes[:14]:
        emitted += sequencer.offer(candle)
    assert sequencer.offer(after(sol["15m"], START)[0]) == []
    emitted += sequencer.offer(minutes[14])
    assert [(c.timeframe, str(c.timestamp.time())) for c in emitted[-2:]] == [("1m", "10:14:00"), ("15m", "10:00:00")]


def test_duplicates_are_dropped(sol):
    sequencer = fresh()
    first = after(sol["1m"], START)[0]
    assert sequencer.offer(first) == [first]
    assert sequencer.offer(first) == []


def test_a_gap_holds_candles_until_the_backfill_fills_it(sol):
    sequencer = fresh()
    minutes = after(sol["1m"], START)
    sequencer.offer(minutes[0])
    assert sequencer.offer(minutes[5]) == [] and sequencer.needs_backfill
    assert sequencer.offer(minutes[6]) == []
    assert sequencer.backfill_start("1m") == minutes[1].timestamp
    merged = sequencer.merge_backfill(minutes[1:6])
    assert merged == minutes[1:7] and not sequencer.needs_backfill


def test_a_backfill_overlapping_the_stream_emits_every_candle_once_in_order(sol):
    sequencer = fresh()
    sequencer.hold()
    everything = [c for tf in ("1m", "15m", "1h") for c in after(sol[tf], START)]
    for candle in (c for c in everything if c.close_time > START + pd.Timedelta(minutes=50)):
        sequencer.offer(candle)  # the stream, from 10:50 on, 1h candles before 1m candles
    rest = [c for c in everything if c.close_time <= START + pd.Timedelta(minutes=70)]
    merged = sequencer.merge_backfill(rest)
    expected = sorted(everything, key=lambda c: (c.close_time, ("1m", "15m", "1h").index(c.timeframe)))
    assert merged == expected


def test_candles_received_again_while_holding_are_held_once(sol):
    sequencer = fresh()
    sequencer.hold()
    minutes = after(sol["1m"], START)[:30]
    for _ in range(3):  # a stream that repeats itself across reconnects
        for candle in minutes:
            assert sequencer.offer(candle) == []
    assert sequencer.held == minutes


def test_a_hole_rest_cannot_fill_is_emitted_around_once_allowed_and_recorded(sol):
    sequencer = fresh()
    minutes = after(sol["1m"], START)
    quarter = after(sol["15m"], START)[0]
    sequencer.offer(minutes[0])
    for candle in minutes[3:15] + [quarter]:  # 10:01 and 10:02 never come
        assert sequencer.offer(candle) == []
    assert sequencer.merge_backfill([]) == [] and sequencer.needs_backfill  # REST had nothing either
    emitted = sequencer.merge_backfill([], allow_gaps=True)
    assert emitted == minutes[3:15] + [quarter] and not sequencer.needs_backfill
    assert sequencer.gaps == [Gap("SOLUSDT", "1m", minutes[1].timestamp, minutes[2].timestamp)]
    assert str(sequencer.gaps[0]) == "2 1m candle(s) missing at 05-20 10:01-10:02 UTC"
    assert sequencer.offer(minutes[15]) == [minutes[15]]  # and the stream flows again
    sequencer.close_gap(sequencer.gaps[0])
    assert sequencer.gaps == []
