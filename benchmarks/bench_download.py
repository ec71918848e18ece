"""Benchmark: exchange history download and the live /backtest, against a local Bybit v5 server.

The servers (Bybit v5 REST + WebSocket from tests/market) run in a separate process and serve the
bundled real sample (data/sample: 6 pairs of Binance USDT-M 1m candles and funding). 25 pairs are
needed, so the 6 real pairs are also served under 19 alias names (``BTC2USDT`` = BTCUSDT's candles,
...): the requests, pages, bytes and files are those of 25 pairs. The server's clock stands at
2025-05-20 12:00:30. ccxt's own rate limiter is on (Bybit: one request per 20 ms), as in production.

- ``download``: 25 pairs x 7 days of closed 1m candles + funding into an empty folder (goal <= 60 s);
  then the same command again with nothing new (goal <= 2 s and <= 2 requests a pair).
- ``/backtest 7d`` in the real bot (MARKET_SOURCE=bybit, local Bot API) on the 25 pairs: with an
  empty cache (downloads the window + warm-up first; goal <= 90 s) and again with a warm one (goal <= 5 s).

    .venv/bin/python benchmarks/bench_download.py [--pairs 25] [--days 7] [--no-bot]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import multiprocessing
import sys
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from market.download import HistoryDownloader  # noqa: E402
from market.history import HistoryClient  # noqa: E402

SAMPLE = REPO / "data" / "sample"
REAL = ["BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT", "BNBUSDT", "LINKUSDT"]
NOW = pd.Timestamp("2025-05-20 12:00:30", tz="UTC")


def served_pairs(count: int) -> dict[str, str]:
    """``count`` served names -> the real pair whose candles they carry."""
    names: dict[str, str] = {}
    copy = 1
    while len(names) < count:
        for pair in REAL:
            if len(names) < count:
                names[pair if copy == 1 else f"{pair[:-4]}{copy}USDT"] = pair
        copy += 1
    return names


def serve(conn: Connection, sources: dict[str, str]) -> None:
    asyncio.run(_serve(conn, sources))


async def _serve(conn: Connection, sources: dict[str, str]) -> None:
    from tests.market.bybit_ws_server import BybitWsServer
    from tests.market.exchange_http_server import ExchangeHttpServer
    from tests.market.recorded_market import RecordedMarket

    market = RecordedMarket(SAMPLE, list(sources), NOW, sources=sources)
    http, ws = ExchangeHttpServer(market), BybitWsServer(market)
    await http.start()
    await ws.start()
    conn.send((http.url, ws.url))
    loop = asyncio.get_running_loop()
    while await loop.run_in_executor(None, conn.recv) != "stop":
        conn.send(len(http.requests))
    await ws.stop()
    await http.stop()


class Server:
    def __init__(self, sources: dict[str, str]) -> None:
        self.conn, child = multiprocessing.Pipe()
        self.process = multiprocessing.get_context("spawn").Process(target=serve, args=(child, sources), daemon=True)

    def __enter__(self) -> "Server":
        self.process.start()
        self.http_url, self.ws_url = self.conn.recv()
        return self

    def requests(self) -> int:
        self.conn.send("count")
        return self.conn.recv()

    def __exit__(self, *exc: object) -> None:
        self.conn.send("stop")
        self.process.join(10)


async def download(server: Server, pairs: list[str], days: float, dest: Path) -> tuple[float, int, int]:
    client = HistoryClient("bybit", server.http_url, cache_dir=None, clock=lambda: NOW)
    try:
        before = server.requests()
        began = time.perf_counter()
        summary = await HistoryDownloader(client, dest).download(pairs, NOW - pd.Timedelta(days=days))
        return time.perf_counter() - began, server.requests() - before, summary.candles_added
    finally:
        await client.close()


async def live_backtests(server: Server, pairs: list[str], cache: Path) -> list[float]:
    from bot.app import build_application, running
    from bot.local_api import LocalBotApi
    from bot.settings import load_settings
    from market.bybit_feed import BybitFeed

    api = LocalBotApi()
    api.add_chat(1)
    settings = load_settings(telegram_bot_token="1:bench", admin_ids="1", market_source="bybit",
                             bybit_rest_url=server.http_url, bybit_ws_url=server.ws_url, cache_dir=cache,
                             storage_path=cache.parent / "state.json", pairs=",".join(pairs))
    feed = BybitFeed(server.ws_url, HistoryClient("bybit", server.http_url, cache_dir=cache, clock=lambda: NOW),
                     clock=lambda: NOW)
    app = build_application(settings, feed=feed, request=api)
    figures, peak = [], [0.0]

    async def sample_rss() -> None:
        while True:
            peak[0] = max(peak[0], rss_mb())
            await asyncio.sleep(0.02)

    async with running(app):
        while not feed.progress().done:  # a /backtest during start-up is refused ("still starting")
            await asyncio.sleep(0.05)
        before = rss_mb()
        sampler = asyncio.create_task(sample_rss())
        for _ in range(2):
            sent = len(api.messages)
            began = time.perf_counter()
            api.send_text("/backtest 7d", user_id=1)
            while not any(m.method == "sendDocument" for m in list(api.messages)[sent:]):
                await asyncio.sleep(0.05)
            figures.append(time.perf_counter() - began)
        sampler.cancel()
        print(f"bot RSS around the two /backtest 7d: {before:.0f} MB before, {peak[0]:.0f} MB at the peak (sampled every "
              f"20 ms on the loop), {rss_mb():.0f} MB after (the backtests ran in child processes; the bot drew their charts)")
    return figures


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=25)
    parser.add_argument("--days", type=float, default=7)
    parser.add_argument("--no-bot", action="store_true", help="skip the live /backtest figures")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    sources = served_pairs(args.pairs)
    pairs = list(sources)
    print(f"{len(pairs)} pairs ({len(set(sources.values()))} real, the rest aliases of them), {args.days:g} days, "
          f"local Bybit v5 server in another process, ccxt rate limiter on")
    with Server(sources) as server, tempfile.TemporaryDirectory() as folder:
        dest = Path(folder) / "data"
        seconds, requests, candles = asyncio.run(download(server, pairs, args.days, dest))
        print(f"download, empty folder:  {seconds:6.2f} s  {requests:5d} requests  {candles:,} candles "
              f"({candles / seconds:,.0f} candles/s)  goal <= 60 s")
        seconds, requests, candles = asyncio.run(download(server, pairs, args.days, dest))
        print(f"download, nothing new:   {seconds:6.2f} s  {requests:5d} requests  {requests / len(pairs):.2f} a pair  "
              f"{candles} candles  goal <= 2 s, <= 2 a pair")
        if not args.no_bot:
            empty, warm = asyncio.run(live_backtests(server, pairs, Path(folder) / "cache"))
            print(f"/backtest 7d, empty cache: {empty:6.2f} s  goal <= 90 s")
            print(f"/backtest 7d, warm cache:  {warm:6.2f} s  goal <= 5 s")


if __name__ == "__main__":
    main()
