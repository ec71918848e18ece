"""HistoryClient through real ccxt against the local Bybit/Kraken server serving real candles."""

from __future__ import annotations

import logging

import pandas as pd
import pytest

from engines.candles import resample
from engines.errors import DataUnavailable, MarketError
from market.files import read_candles
from market.history import HistoryClient, startup_counts
from market.retry import RetryPolicy
from tests.conftest import M1_2025
from tests.market.conftest import FAST_RETRY, NOW

MINUTE = pd.Timedelta(minutes=1)


def source(pair: str, timeframe: str) -> pd.DataFrame:
    return resample(read_candles(M1_2025, pair, timeframe="1m"), timeframe)


def closed_before(frame: pd.DataFrame, timeframe: str, now: pd.Timestamp, count: int) -> pd.DataFrame:
    step = pd.Timedelta(minutes={"1m": 1, "15m": 15, "1h": 60}[timeframe])
    return frame[frame["timestamp"] + step <= now].iloc[-count:].reset_index(drop=True)


def test_start_up_loads_the_largest_lookbacks():
    assert startup_counts() == {"1m": 240, "15m": 150, "1h": 250}


@pytest.mark.parametrize(("exchange_id", "timeframe", "count"),
                         [("bybit", "15m", 150), ("bybit", "1h", 250), ("bybit", "1m", 1500), ("kraken", "1h", 250)])
async def test_recent_candles_equal_the_real_closed_candles(make_history, exchange_id, timeframe, count):
    frame = await make_history(exchange_id).recent("BTCUSDT", timeframe, count)
    pd.testing.assert_frame_equal(frame, closed_before(source("BTCUSDT", timeframe), timeframe, NOW, count))


async def test_the_still_open_candle_is_left_out(make_history):
    frame = await make_history().fetch("SOLUSDT", "1m", NOW.floor("min") - pd.Timedelta(minutes=5))
    assert list(frame["timestamp"]) == [NOW.floor("min") - MINUTE * k for k in range(5, 0, -1)]


async def test_the_cache_is_filled_incrementally(make_history, http_server, recorded_market, tmp_path):
    client = make_history(cache_dir=tmp_path)
    await client.recent("ETHUSDT", "15m", 150)
    recorded_market.advance(45)
    frame = await client.recent("ETHUSDT", "15m", 150)
    last_kline = http_server.requests[-1]
    assert "start=1747742400000" in last_kline  # 12:00, the first candle the cache lacked
    assert frame["timestamp"].iloc[-1] == pd.Timestamp("2025-05-20 12:30", tz="UTC")
    cached = pd.read_parquet(tmp_path / "bybit" / "ETHUSDT_15m.parquet")
    assert len(cached) == 153


async def test_tick_size_comes_from_instruments_info(make_history):
    client = make_history()
    assert (await client.tick_size("BTCUSDT"), await client.tick_size("SOLUSDT")) == (0.1, 0.01)


async def test_linear_tickers_carry_turnover_for_the_ranking(make_history, recorded_market):
    rows = {row["symbol"]: row for row in await make_history().linear_tickers()}
    assert float(rows["SOLUSDT"]["turnover24h"]) == pytest.approx(recorded_market.turnover_24h("SOLUSDT"))


async def test_an_unknown_pair_is_data_unavailable(make_history):
    with pytest.raises(DataUnavailable, match="no market DOGE/USDT:USDT"):
        await make_history().fetch("DOGEUSDT", "1m", NOW - pd.Timedelta(minutes=5))


@pytest.mark.parametrize("fault", ["429", "500", "timeout", "malformed"])
@pytest.mark.parametrize("exchange_id", ["bybit", "kraken"])
async def test_transient_faults_are_retried_and_logged(make_history, http_server, caplog, fault, exchange_id):
    client = make_history(exchange_id)
    await client.load_markets()
    http_server.inject(fault, "kline" if exchange_id == "bybit" else "OHLC", times=3)
    with caplog.at_level(logging.WARNING, logger="market.retry"):
        frame = await client.recent("SOLUSDT", "1h", 24)
    pd.testing.assert_frame_equal(frame, closed_before(source("SOLUSDT", "1h"), "1h", NOW, 24))
    assert len(caplog.records) == 3


async def test_faults_beyond_the_attempts_become_a_market_error(make_history, http_server):
    client = make_history(retry=RetryPolicy(attempts=2, base_delay=0.001, max_delay=0.001))
    http_server.inject("500", "kline", times=2)
    with pytest.raises(MarketError, match="failed after 2 attempts"):
        await client.fetch("SOLUSDT", "1m", NOW - pd.Timedelta(minutes=5))


async def test_load_markets_survives_a_rate_limit(make_history, http_server):
    http_server.inject("429", "instruments-info", times=2)
    assert "BTC/USDT:USDT" in await make_history().load_markets()


async def test_a_candle_the_exchange_may_still_be_updating_is_neither_returned_nor_cached(
        http_server, recorded_market, tmp_path):
    """Issue 10.9: at 12:00:00.2 on our clock the exchange (0.3 s behind) still serves 11:59 as its open candle."""
    ours = pd.Timestamp("2025-05-20 12:00:00.200", tz="UTC")
    recorded_market.now = ours - pd.Timedelta(milliseconds=300)
    client = HistoryClient("bybit", http_server.url, cache_dir=tmp_path, retry=FAST_RETRY, rate_limit=False,
                           clock=lambda: ours)
    try:
        frame = await client.recent("SOLUSDT", "1m", 10)
    finally:
        await client.close()
    assert frame["timestamp"].iloc[-1] == pd.Timestamp("2025-05-20 11:58", tz="UTC")
    cached = pd.read_parquet(tmp_path / "bybit" / "SOLUSDT_1m.parquet")
    assert cached["timestamp"].iloc[-1] == pd.Timestamp("2025-05-20 11:58", tz="UTC")


async def test_a_candle_the_exchange_has_not_closed_is_left_out_even_when_our_clock_runs_ahead(
        http_server, recorded_market):
    """Our clock 20 s ahead of Bybit's: at 12:01:10 ours, the exchange (12:00:50) still updates 12:00."""
    ours = pd.Timestamp("2025-05-20 12:01:10", tz="UTC")
    recorded_market.now = ours - pd.Timedelta(seconds=20)
    client = HistoryClient("bybit", http_server.url, cache_dir=None, retry=FAST_RETRY, rate_limit=False,
                           clock=lambda: ours)
    try:
        frame = await client.fetch("SOLUSDT", "1m", pd.Timestamp("2025-05-20 11:55", tz="UTC"))
    finally:
        await client.close()
    assert frame["timestamp"].iloc[-1] == pd.Timestamp("2025-05-20 11:59", tz="UTC")
