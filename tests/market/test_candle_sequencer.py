"""CandleSequencer on real SOLUSDT candles: order, duplicates, gaps and backfill merges."""

from __future__ import annotations

import pandas as pd
import pytest

from engines.candles import resample
from market.candle_sequencer import CandleSequencer
from market.feed import ClosedCandle
from market.files import read_candles
from tests.conftest import M1_2025

START = pd.Timestamp("2025-05-20 10:00", tz="UTC")


@pytest.fixture(scope="module")
def sol() -> dict[str, list[ClosedCandle]]:
    m1 = read_candles(M1_2025, "SOLUSDT", "1m")
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
