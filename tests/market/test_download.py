"""HistoryDownloader through real ccxt against the local Bybit v5 / Binance USDT-M server serving data/sample."""

from __future__ import annotations

import asyncio
import logging

import numpy as np
import pandas as pd
import pytest

from engines.errors import InvalidInput, MarketError
from market.download import HistoryDownloader, missing_ranges, read_stored_candles
from market.files import write_atomic
from market.exchanges import make_exchange
from market.files import read_candles, read_funding
from market.history import HistoryClient
from market.retry import RetryPolicy
from tests.conftest import SAMPLE
from tests.market.exchange_http_server import ExchangeHttpServer
from tests.market.recorded_market import RecordedMarket

NOW = pd.Timestamp("2025-05-20 12:00:30", tz="UTC")
START = pd.Timestamp("2025-05-17 12:00", tz="UTC")  # 3 days: 4,320 candles, pages of 1,000 end mid-window
PAIRS = ["BTCUSDT", "SOLUSDT"]
EXCHANGES = ["bybit", "binanceusdm"]
KLINES = {"bybit": "/v5/market/kline", "binanceusdm": "/fapi/v1/klines"}
FUNDING = {"bybit": "/v5/market/funding/history", "binanceusdm": "/fapi/v1/fundingRate"}
FAST = RetryPolicy(attempts=4, base_delay=0.001, max_delay=0.01)


def real_candles(pair: str, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    frame = read_candles(SAMPLE, pair, "1m")
    return frame[(frame["timestamp"] >= start) & (frame["timestamp"] < end)].reset_index(drop=True)


def real_funding(pair: str, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    frame = read_funding(SAMPLE, pair)
    return frame[(frame["timestamp"] >= start) & (frame["timestamp"] < end)].reset_index(drop=True)


@pytest.fixture
def market() -> RecordedMarket:
    return RecordedMarket(SAMPLE, PAIRS, NOW)


@pytest.fixture
async def server(market):
    running = ExchangeHttpServer(market, timeout_seconds=1.5)
    await running.start()
    yield running
    await running.stop()


@pytest.fixture
async def make_downloader(server, market, tmp_path):
    clients = []

    def make(exchange_id: str, **options) -> HistoryDownloader:
        client = HistoryClient(exchange_id, server.url, cache_dir=None, retry=options.pop("retry", FAST),
                               timeout_ms=1000, rate_limit=options.pop("rate_limit", False), clock=lambda: market.now)
        clients.append(client)
        return HistoryDownloader(client, tmp_path / exchange_id, **options)

    yield make
    for client in clients:
        await client.close()


def requests_to(server: ExchangeHttpServer, path: str, since: int = 0) -> list[str]:
    return [r for r in server.requests[since:] if r.startswith(path)]


@pytest.mark.parametrize("exchange_id", EXCHANGES)
async def test_files_hold_exactly_the_real_closed_candles_and_funding(make_downloader, server, exchange_id):
    downloader = make_downloader(exchange_id)
    summary = await downloader.download(PAIRS, START)
    for pair in PAIRS:
        stored = read_candles(downloader.dest, pair, "1m")
        pd.testing.assert_frame_equal(stored, real_candles(pair, START, NOW.floor("min")))
        pd.testing.assert_frame_equal(read_funding(downloader.dest, pair), real_funding(pair, START, NOW))
    assert [r.candles_added for r in summary.results] == [4320, 4320]
    assert [r.funding_added for r in summary.results] == [9, 9]
    assert len(requests_to(server, KLINES[exchange_id])) == 2 * 5  # 4,320 candles in pages of 1,000


@pytest.mark.parametrize("exchange_id", EXCHANGES)
async def test_the_still_open_candle_is_never_stored(make_downloader, market, exchange_id):
    market.now = pd.Timestamp("2025-05-20 12:00:03", tz="UTC")  # 12:00 closed 3 s ago: within the grace
    downloader = make_downloader(exchange_id)
    await downloader.download(["SOLUSDT"], START, funding=False)
    assert read_candles(downloader.dest, "SOLUSDT", "1m")["timestamp"].iloc[-1] == pd.Timestamp("2025-05-20 11:58",
                                                                                                 tz="UTC")


@pytest.mark.parametrize("exchange_id", EXCHANGES)
async def test_a_rerun_asks_only_for_what_is_new(make_downloader, server, market, exchange_id):
    downloader = make_downloader(exchange_id)
    await downloader.download(PAIRS, START)
    before = len(server.requests)
    again = await downloader.download(PAIRS, START)
    assert again.candles_added == 0 and len(server.requests) - before <= 2 * len(PAIRS)
    assert requests_to(server, KLINES[exchange_id], before) == []
    market.advance(5)
    before = len(server.requests)
    later = await downloader.download(PAIRS, START)
    assert later.candles_added == 10
    assert len(requests_to(server, KLINES[exchange_id], before)) == 2
    pd.testing.assert_frame_equal(read_candles(downloader.dest, "BTCUSDT", "1m"),
                                  real_candles("BTCUSDT", START, market.now.floor("min")))


async def test_holes_in_a_file_are_fetched_and_nothing_else(make_downloader, server):
    downloader = make_downloader("bybit")
    full = real_candles("SOLUSDT", START, NOW.floor("min"))
    holes = [(pd.Timestamp("2025-05-18 03:10", tz="UTC"), pd.Timestamp("2025-05-18 03:17", tz="UTC")),
             (pd.Timestamp("2025-05-19 22:00", tz="UTC"), pd.Timestamp("2025-05-19 22:01", tz="UTC"))]
    keep = np.ones(len(full), dtype=bool)
    for a, b in holes:
        keep &= ~((full["timestamp"] >= a) & (full["timestamp"] < b)).to_numpy()
    write_atomic(full[keep].reset_index(drop=True), downloader.candle_path("SOLUSDT"))
    summary = await downloader.download(["SOLUSDT"], START, funding=False)
    assert summary.candles_added == 8
    pd.testing.assert_frame_equal(read_candles(downloader.dest, "SOLUSDT", "1m"), full)
    starts = [int(r.split("start=")[1].split("&")[0]) for r in requests_to(server, KLINES["bybit"])]
    assert starts == [a.value // 1_000_000 for a, _ in holes]


async def test_a_hole_on_the_exchange_stays_a_hole(make_downloader, market):
    gap = (pd.Timestamp("2025-05-18 08:00", tz="UTC"), pd.Timestamp("2025-05-18 08:30", tz="UTC"))
    market.drop("BTCUSDT", *gap)
    downloader = make_downloader("binanceusdm")
    summary = await downloader.download(["BTCUSDT"], START, funding=False)
    stored = read_candles(downloader.dest, "BTCUSDT", "1m")
    assert summary.candles_added == 4320 - 30
    assert not ((stored["timestamp"] >= gap[0]) & (stored["timestamp"] < gap[1])).any()


@pytest.mark.parametrize("exchange_id", EXCHANGES)
async def test_rate_limits_server_errors_and_timeouts_are_retried(make_downloader, server, caplog, exchange_id):
    downloader = make_downloader(exchange_id)
    for fault in ("429", "500", "timeout"):
        server.inject(fault, KLINES[exchange_id])
    server.inject("429", FUNDING[exchange_id])
    with caplog.at_level(logging.WARNING, logger="market.retry"):
        await downloader.download(["SOLUSDT"], START)
    pd.testing.assert_frame_equal(read_candles(downloader.dest, "SOLUSDT", "1m"),
                                  real_candles("SOLUSDT", START, NOW.floor("min")))
    assert len(read_funding(downloader.dest, "SOLUSDT")) == 9
    assert len(caplog.records) == 4


async def test_a_pair_that_keeps_failing_is_named_and_the_others_are_saved(make_downloader, server):
    downloader = make_downloader("bybit", retry=RetryPolicy(attempts=2, base_delay=0.001, max_delay=0.001))
    server.inject("500", "symbol=SOLUSDT", times=2)
    with pytest.raises(MarketError, match=r"bybit download failed for 1 of 2 pairs .*SOLUSDT: bybit SOL/USDT:USDT 1m "
                                          r"candles from .* failed after 2 attempts"):
        await downloader.download(PAIRS, START, funding=False)
    pd.testing.assert_frame_equal(read_candles(downloader.dest, "BTCUSDT", "1m"),
                                  real_candles("BTCUSDT", START, NOW.floor("min")))


async def test_an_interrupted_run_leaves_valid_files_and_resumes_where_it_stopped(make_downloader, server):
    downloader = make_downloader("bybit", chunk_pages=1, concurrency=1)
    task = asyncio.create_task(downloader.download(["BTCUSDT"], START, funding=False))
    while len(requests_to(server, KLINES["bybit"])) < 3:
        await asyncio.sleep(0.001)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    partial = read_stored_candles(downloader.candle_path("BTCUSDT"))
    assert 1000 <= len(partial) <= 3000 and len(partial) % 1000 == 0
    pd.testing.assert_frame_equal(partial, real_candles("BTCUSDT", START, START + pd.Timedelta(minutes=len(partial))))
    before = len(server.requests)
    resumed = await downloader.download(["BTCUSDT"], START, funding=False)
    assert resumed.candles_added == 4320 - len(partial)
    assert len(requests_to(server, KLINES["bybit"], before)) == 5 - len(partial) // 1000
    pd.testing.assert_frame_equal(read_candles(downloader.dest, "BTCUSDT", "1m"),
                                  real_candles("BTCUSDT", START, NOW.floor("min")))


async def test_concurrent_pairs_share_one_paced_client(make_downloader, server):
    downloader = make_downloader("bybit", rate_limit=True)
    await downloader.download(["BTCUSDT", "SOLUSDT"], START)
    times = server.request_times
    assert len(times) == 2 + 2 * (5 + 1)  # markets (2 pages), then 5 kline + 1 funding a pair
    assert times[-1] - times[0] >= 0.036 * (len(times) - 1)  # never faster than the pace below


def test_bybit_market_data_is_paced_at_half_its_documented_ip_limit():
    exchange = make_exchange("bybit")
    for path in ("v5/market/kline", "v5/market/funding/history", "v5/market/instruments-info"):
        seconds = exchange.rateLimit * exchange.api["public"]["get"][path]["cost"] / 1000
        assert 1 / seconds == 25  # requests/s; Bybit allows 50 GET/s per IP (docs/v5/rate-limit)


async def test_funding_comes_in_pages(make_downloader, server):
    downloader = make_downloader("bybit")
    start = pd.Timestamp("2025-05-04 16:00", tz="UTC")  # 15.8 days of 8 h funding: 48 events, 2 windows of 200 h
    await downloader.download(["BTCUSDT"], start, funding=True)
    pd.testing.assert_frame_equal(read_funding(downloader.dest, "BTCUSDT"), real_funding("BTCUSDT", start, NOW))
    assert len(read_funding(downloader.dest, "BTCUSDT")) == 48
    assert len(requests_to(server, FUNDING["bybit"])) == 2


@pytest.mark.parametrize("exchange_id", EXCHANGES)
async def test_unknown_pairs_are_named_with_the_nearest_valid_ones(make_downloader, exchange_id):
    with pytest.raises(InvalidInput, match=f"^{exchange_id} has no USDT perpetual SOLUSTD \\(nearest: SOLUSDT\\); "
                                           f"{exchange_id} has no USDT perpetual BNBUSDT \\(nearest: BTCUSDT\\)$"):
        await make_downloader(exchange_id).resolve_pairs(["SOLUSTD", "BNBUSDT"], None)


@pytest.mark.parametrize("exchange_id", EXCHANGES)
async def test_top_pairs_are_ranked_by_real_24h_turnover(make_downloader, market, exchange_id):
    expected = sorted(PAIRS, key=market.turnover_24h, reverse=True)
    assert await make_downloader(exchange_id).resolve_pairs(None, 2) == expected
    assert await make_downloader(exchange_id).resolve_pairs(None, 1) == expected[:1]


def test_missing_ranges_are_the_head_the_holes_and_the_tail():
    minute = 60_000
    stored = np.array([2, 3, 5, 6, 9]) * minute
    assert missing_ranges(stored, 0, 12 * minute) == [(0, 2 * minute), (4 * minute, 5 * minute),
                                                      (7 * minute, 9 * minute), (10 * minute, 12 * minute)]
    assert missing_ranges(stored, 5 * minute, 7 * minute) == []
    assert missing_ranges(np.array([], dtype=np.int64), 0, 3 * minute) == [(0, 3 * minute)]
