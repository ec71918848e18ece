"""Benchmark: the live feed (real pybit + ccxt) against local Bybit servers replaying real candles.

The servers (Bybit v5 WebSocket + REST, from tests/market) run in a separate process, so the
numbers are the feed's. For every pair with 1m candles in the data folder (default: the bundled
sample, 6 pairs; per-pair figures are printed to scale from):

- throughput: stream messages per second through BybitFeed (kline.1/15/60, tickers and
  orderbook.50 of every pair, sent as fast as the server can);
- latency: from the server sending a ``kline.1`` confirm to the listener receiving that
  ClosedCandle (median, p99, max), at one replayed minute per 50 ms.

    .venv/bin/python benchmarks/bench_market.py [--data DIR] [--minutes 300]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import multiprocessing
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from multiprocessing.connection import Connection
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from market.bybit_feed import BybitFeed  # noqa: E402
from market.feed import ClosedCandle  # noqa: E402
from market.files import list_symbols  # noqa: E402
from market.history import HistoryClient  # noqa: E402
from market.retry import RetryPolicy  # noqa: E402

DEFAULT_DATA = REPO / "data" / "sample"  # or --data: a folder made by `signaltracker download`
START = pd.Timestamp("2025-05-28 00:00:30", tz="UTC")


def serve(conn: Connection, data_dir: Path, pairs: list[str]) -> None:
    """Server process: answers ("step", minutes, pause), ("subscribed", topics), ("stop",)."""
    asyncio.run(_serve(conn, data_dir, pairs))


async def _serve(conn: Connection, data_dir: Path, pairs: list[str]) -> None:
    from tests.market.bybit_ws_server import BybitWsServer
    from tests.market.exchange_http_server import ExchangeHttpServer
    from tests.market.recorded_market import RecordedMarket

    market = RecordedMarket(data_dir, pairs, START)
    http, ws = ExchangeHttpServer(market), BybitWsServer(market)
    await http.start()
    await ws.start()
    conn.send((http.url, ws.url))
    loop = asyncio.get_running_loop()
    while (command := await loop.run_in_executor(None, conn.recv))[0] != "stop":
        if command[0] == "subscribed":
            conn.send(ws.subscribed_clients(command[1]))
            continue
        ws.confirm_sent_at.clear()
        for _ in range(command[1]):
            await ws.step()
            await asyncio.sleep(command[2])
        conn.send((ws.messages_sent, dict(ws.confirm_sent_at), market.now))
    await ws.stop()
    await http.stop()


def with_local_exchange(data_dir: Path, pairs: list[str], bench: Callable[[Connection], Awaitable[None]]) -> None:
    """Start the local Bybit servers over ``data_dir`` in their own process and run ``bench(conn)`` against them."""
    parent, child = multiprocessing.Pipe()
    server = multiprocessing.get_context("spawn").Process(target=serve, args=(child, data_dir, pairs), daemon=True)
    server.start()
    try:
        asyncio.run(bench(parent))
    finally:
        server.join(timeout=10)


class Remote:
    """The parent's handle on the server process (and its market clock)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.now = START
        self.sent = 0

    async def ask(self, *command) -> object:
        self.conn.send(command)
        return await asyncio.get_running_loop().run_in_executor(None, self.conn.recv)

    async def step(self, minutes: int, pause: float) -> dict:
        self.sent, sent_at, self.now = await self.ask("step", minutes, pause)
        return sent_at


async def run(conn: Connection, pairs: list[str], minutes: int) -> None:
    remote = Remote(conn)
    http_url, ws_url = await asyncio.get_running_loop().run_in_executor(None, conn.recv)
    rest = HistoryClient("bybit", http_url, cache_dir=None, rate_limit=False, clock=lambda: remote.now,
                         retry=RetryPolicy(attempts=5, base_delay=0.01, max_delay=0.1))
    feed = BybitFeed(ws_url, rest, silence_seconds=60, watchdog_seconds=0.2, book_interval_seconds=0.0,
                     history_counts={"1m": 60, "15m": 20, "1h": 10}, clock=lambda: remote.now)
    received: dict[tuple[str, int], float] = {}

    async def listener(event) -> None:
        if isinstance(event, ClosedCandle) and event.timeframe == "1m":
            received[(event.pair, int(event.timestamp.value // 1_000_000))] = time.perf_counter()

    feed.add_listener(listener)
    began = time.perf_counter()
    await feed.start(pairs)
    while not await remote.ask("subscribed", len(pairs) * 5):
        await asyncio.sleep(0.01)
    print(f"start-up ({len(pairs)} pairs: instruments, history x 3 timeframes, connect, subscribe, backfill): "
          f"{time.perf_counter() - began:.2f} s")

    await remote.step(0, 0.0)
    await asyncio.sleep(0.5)
    sent_before, before, began = remote.sent, feed.messages_received, time.perf_counter()
    await remote.step(minutes, 0.0)
    sending = time.perf_counter() - began
    sent = remote.sent - sent_before
    while feed.messages_received - before < sent and time.perf_counter() - began < 120:
        await asyncio.sleep(0.001)
    await feed.drain()
    elapsed, count = time.perf_counter() - began, feed.messages_received - before
    print(f"throughput: {count} messages in {elapsed:.2f} s = {count / elapsed:,.0f} messages/s through the feed "
          f"({count / elapsed / len(pairs):,.0f} per pair; Bybit sends roughly 50-60 per pair per second "
          f"with orderbook.50 at 20 ms); the server took {sending:.2f} s to send them")

    received.clear()
    sent_at = await remote.step(minutes // 2, 0.05)
    await asyncio.sleep(0.2)
    await feed.drain()
    delays = sorted(received[(pair, start)] - at for (pair, interval, start), at in sent_at.items()
                    if interval == "1" and (pair, start) in received)
    p99 = delays[int(0.99 * (len(delays) - 1))]
    print(f"kline.1 confirm -> listener ({len(delays)} candles of {len(pairs)} pairs, one minute per 50 ms): "
          f"median {statistics.median(delays) * 1000:.2f} ms, p99 {p99 * 1000:.2f} ms, max {delays[-1] * 1000:.2f} ms")
    await feed.stop()
    conn.send(("stop",))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--minutes", type=int, default=300)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    pairs = list_symbols(args.data, "1m")
    with_local_exchange(args.data, pairs, lambda conn: run(conn, pairs, args.minutes))


if __name__ == "__main__":
    main()
