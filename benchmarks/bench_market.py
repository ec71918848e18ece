"""Benchmark: the live feed (real pybit + ccxt) against the local Bybit servers replaying real candles.

Measures, for every pair with 1m candles in the shared May-2025 window (14; the data set has no
25 pairs of 1m candles in one window, so per-pair numbers are given to scale from):

- throughput: stream messages per second through BybitFeed (kline.1/15/60, tickers, orderbook.50
  of every pair, replayed as fast as the server can send them);
- latency: time from the server sending a ``kline.1`` confirm to the listener receiving that
  ClosedCandle (median and p99), at a one-minute-per-50-ms replay pace.

    .venv/bin/python benchmarks/bench_market.py [--data DIR] [--minutes 200]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
import time
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from market.bybit_feed import BybitFeed  # noqa: E402
from market.feed import ClosedCandle  # noqa: E402
from market.files import list_symbols  # noqa: E402
from market.history import HistoryClient  # noqa: E402
from market.retry import RetryPolicy  # noqa: E402
from tests.market.bybit_ws_server import BybitWsServer  # noqa: E402
from tests.market.exchange_http_server import ExchangeHttpServer  # noqa: E402
from tests.market.recorded_market import RecordedMarket  # noqa: E402

DEFAULT_DATA = REPO.parent / "shared/data/binance_usdm_perp/1m_2025-05"
START = pd.Timestamp("2025-05-28 00:00:30", tz="UTC")


async def run(data_dir: Path, minutes: int) -> None:
    pairs = list_symbols(data_dir, "1m")
    market = RecordedMarket(data_dir, pairs, START)
    http, ws = ExchangeHttpServer(market), BybitWsServer(market)
    await http.start()
    await ws.start()
    rest = HistoryClient("bybit", http.url, cache_dir=None, rate_limit=False, clock=lambda: market.now,
                         retry=RetryPolicy(attempts=5, base_delay=0.01, max_delay=0.1))
    feed = BybitFeed(ws.url, rest, silence_seconds=30, watchdog_seconds=0.2, book_interval_seconds=0.0,
                     history_counts={"1m": 60, "15m": 20, "1h": 10}, clock=lambda: market.now)
    latencies: list[float] = []

    async def listener(event) -> None:
        if isinstance(event, ClosedCandle) and event.timeframe == "1m":
            sent = ws.confirm_sent_at.get((event.pair, "1", int(event.timestamp.value // 1_000_000)))
            if sent is not None:
                latencies.append(time.perf_counter() - sent)

    feed.add_listener(listener)
    began = time.perf_counter()
    await feed.start(pairs)
    print(f"start-up (history of {len(pairs)} pairs x 3 timeframes, connect, subscribe): "
          f"{time.perf_counter() - began:.2f} s")
    while ws.subscribed_clients(len(pairs) * 5) == 0:
        await asyncio.sleep(0.01)

    received, began = feed.messages_received, time.perf_counter()
    await ws.step(minutes)
    while feed.messages_received - received < ws.messages_sent - 0 and time.perf_counter() - began < 60:
        if all(s.last_closed.get("1m") == market.now.floor("min") - pd.Timedelta(minutes=1) for s in feed.status()):
            break
        await asyncio.sleep(0.005)
    await feed.drain()
    elapsed = time.perf_counter() - began
    count = feed.messages_received - received
    print(f"throughput: {count} messages in {elapsed:.2f} s = {count / elapsed:,.0f} messages/s "
          f"({count / elapsed / len(pairs):,.0f} per pair); {minutes} replayed minutes x {len(pairs)} pairs")

    latencies.clear()
    for _ in range(minutes // 2):
        await ws.step()
        await asyncio.sleep(0.05)
    await feed.drain()
    ordered = sorted(latencies)
    p99 = ordered[int(0.99 * (len(ordered) - 1))]
    print(f"kline confirm -> listener ({len(ordered)} candles, {len(pairs)} pairs, one minute per 50 ms): "
          f"median {statistics.median(ordered) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms, max {ordered[-1] * 1000:.1f} ms")
    await feed.stop()
    await ws.stop()
    await http.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--minutes", type=int, default=200)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(run(args.data, args.minutes))


if __name__ == "__main__":
    main()
