"""CandleStore on real BTCUSDT 15m candles: bounded buffers, late inserts, and readers in worker threads."""

from __future__ import annotations

import threading

import pandas as pd
import pytest

import market.candle_store as candle_store
from engines.candles import resample
from market.candle_store import CandleStore
from market.feed import ClosedCandle
from market.files import read_candles
from tests.conftest import SAMPLE


@pytest.fixture(scope="module")
def btc_15m() -> list[ClosedCandle]:
    frame = resample(read_candles(SAMPLE, "BTCUSDT", "1m"), "15m").iloc[:300]
    return [ClosedCandle("BTCUSDT", "15m", r.timestamp, r.open, r.high, r.low, r.close, r.volume)
            for r in frame.itertuples(index=False)]


def store_with(candles: list[ClosedCandle], length: int = 250) -> CandleStore:
    store = CandleStore(length)
    store.add_pair("BTCUSDT")
    for candle in candles:
        store.append(candle)
    return store


def test_a_frame_built_in_a_worker_while_the_loop_appends_is_not_left_behind_as_the_cache(btc_15m, monkeypatch):
    """The worker copies the rows, the loop appends the next candle, then the worker finishes its frame."""
    store = store_with(btc_15m[:200])
    building, appended = threading.Event(), threading.Event()
    worker_thread: list[int] = []
    real_validate = candle_store.validate_candles

    def slow_in_the_worker(frame: pd.DataFrame, name: str) -> pd.DataFrame:
        if threading.get_ident() in worker_thread:
            building.set()
            assert appended.wait(5)
        return real_validate(frame, name=name)

    monkeypatch.setattr(candle_store, "validate_candles", slow_in_the_worker)
    seen: list[pd.DataFrame] = []

    def worker() -> None:
        worker_thread.append(threading.get_ident())
        seen.append(store.frame("BTCUSDT", "15m"))

    thread = threading.Thread(target=worker)
    thread.start()
    assert building.wait(5)
    store.append(btc_15m[200])  # the loop: a new candle closed
    appended.set()
    thread.join(5)
    assert seen[0]["timestamp"].iloc[-1] == btc_15m[199].timestamp  # the worker asked before the append
    decision_frame = store.frame("BTCUSDT", "15m")  # the decision of the new candle
    assert decision_frame["timestamp"].iloc[-1] == btc_15m[200].timestamp
    assert len(decision_frame) == 201 and decision_frame["close"].iloc[-1] == btc_15m[200].close


def test_late_candles_are_inserted_in_place_once(btc_15m):
    store = store_with(btc_15m[:10] + btc_15m[13:20])
    assert store.insert(btc_15m[10:14]) == 3
    frame = store.frame("BTCUSDT", "15m")
    assert list(frame["timestamp"]) == [c.timestamp for c in btc_15m[:20]]
    assert store.insert(btc_15m[10:13]) == 0


def expected_frame(candles: list[ClosedCandle]) -> pd.DataFrame:
    return pd.DataFrame({"timestamp": pd.DatetimeIndex([c.timestamp for c in candles]).as_unit("ms"),
                         **{k: [getattr(c, k) for c in candles] for k in ("open", "high", "low", "close", "volume")}})


@pytest.mark.parametrize("length", [1, 7, 250])
def test_a_buffer_holds_exactly_the_last_candles_through_many_wraps(btc_15m, length):
    store = store_with(btc_15m[:5], length)
    for k in range(5, 300):
        store.append(btc_15m[k])
        if k % 37 == 0 or k == 299:
            pd.testing.assert_frame_equal(store.frame("BTCUSDT", "15m"), expected_frame(btc_15m[max(0, k + 1 - length):k + 1]))
    assert store.last_timestamp("BTCUSDT", "15m") == btc_15m[299].timestamp
    assert not store.append(btc_15m[299]) and not store.append(btc_15m[10])


def test_a_loaded_frame_keeps_its_last_rows_and_the_late_candle_before_them_is_not_taken(btc_15m):
    store = store_with([], 100)
    store.load("BTCUSDT", "15m", expected_frame(btc_15m[:150]))
    pd.testing.assert_frame_equal(store.frame("BTCUSDT", "15m"), expected_frame(btc_15m[50:150]))
    assert store.insert(btc_15m[10:20]) == 0  # older than the buffer reaches
    assert store.last_timestamp("BTCUSDT", "15m") == btc_15m[149].timestamp


def test_a_buffer_is_compact_arrays_not_python_rows(btc_15m):
    store = store_with(btc_15m, 250)
    assert store._rings[("BTCUSDT", "15m")].nbytes == 2 * 250 * 48
