"""The bot on the live feed: RSS and decision time with ``MARKET_SOURCE=bybit`` over a replayed day.

The real Application with BybitFeed (real pybit WebSocket, real ccxt REST) against the local Bybit v5
servers of the tests (``tests/market``), run in a separate process so their memory is not counted,
replaying real Binance 1m candles (``data/sample``; 25 pairs = the 6 real ones and aliases of them,
as in ``bench_bot.py``). The market clock steps one minute at a time; the bot reads each minute
from the stream (kline.1/15/60, tickers, order books) as it would from Bybit.

    .venv/bin/python benchmarks/bench_bot_bybit.py [--hours 24] [--data DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from bench_bot import CHANNEL, replay_folder, rss_mb  # noqa: E402
from bench_market import Remote, with_local_exchange  # noqa: E402
from bot.app import build_application, running  # noqa: E402
from bot.local_api import LocalBotApi  # noqa: E402
from bot.memory import lean_process  # noqa: E402
from bot.settings import load_settings  # noqa: E402
from market.bybit_feed import BybitFeed  # noqa: E402
from market.history import HistoryClient  # noqa: E402
from market.retry import RetryPolicy  # noqa: E402

DATA = REPO / "data" / "sample"
MINUTE = pd.Timedelta(minutes=1)


async def until(condition, timeout: float = 60.0) -> None:  # noqa: ANN001
    began = time.perf_counter()
    while not condition():
        if time.perf_counter() - began > timeout:
            raise TimeoutError("the bot did not catch up with the stream")
        await asyncio.sleep(0.002)


async def bench(conn, pairs: list[str], hours: float, folder: Path) -> None:  # noqa: ANN001
    remote = Remote(conn)
    http_url, ws_url = await asyncio.get_running_loop().run_in_executor(None, conn.recv)
    api = LocalBotApi()
    api.add_chat(CHANNEL, "channel", title="bench")
    settings = load_settings(telegram_bot_token="1:bench", broadcast_chat_ids=str(CHANNEL), market_source="bybit",
                             pairs=",".join(pairs), storage_path=folder / "state", bybit_rest_url=http_url,
                             bybit_ws_url=ws_url, telegram_rate_limit=False)
    rest = HistoryClient("bybit", http_url, cache_dir=folder / "cache", rate_limit=False, clock=lambda: remote.now,
                         retry=RetryPolicy(attempts=5, base_delay=0.01, max_delay=0.1, quiet=True))
    feed = BybitFeed(ws_url, rest, silence_seconds=600, watchdog_seconds=0.5, book_interval_seconds=0.0,
                     clock=lambda: remote.now)
    lean_process()
    app = build_application(settings, feed=feed, request=api)
    async with running(app):
        await until(lambda: feed.progress().done, timeout=300)
        while not await remote.ask("subscribed", len(pairs) * 5):
            await asyncio.sleep(0.01)
        print(f"ready on the live feed, {len(pairs)} pairs: RSS {rss_mb():.0f} MB")
        jobs, began = app.bot_data["jobs"], time.perf_counter()
        for _ in range(int(hours * 60)):
            await remote.step(1, 0.0)
            minute = remote.now.floor("min") - MINUTE
            await until(lambda: all(s.last_closed.get("1m") == minute for s in feed.status()))
            await feed.drain()
            await until(lambda: jobs.backlog == 0)
        batches = [seconds for _, seconds, _ in jobs.batches]
        sent = sum(1 for m in api.messages if m.chat_id == CHANNEL and m.method == "sendPhoto")
        print(f"replayed {hours:g} h of the stream in {time.perf_counter() - began:.0f} s; RSS {rss_mb():.0f} MB "
              f"(goal <= 300 MB); numba {'loaded' if 'numba' in sys.modules else 'not loaded'}")
        print(f"decision batches (last {len(batches)}): median {statistics.median(batches) * 1000:.0f} ms, "
              f"max {max(batches) * 1000:.0f} ms; {len(app.bot_data['service'].paper.positions())} paper positions, "
              f"{sent} signals posted")
    conn.send(("stop",))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--hours", type=float, default=24)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder) / "market"
        data.mkdir()
        pairs = replay_folder(args.data, data)
        with_local_exchange(data, pairs, lambda conn: bench(conn, pairs, args.hours, Path(folder)))


if __name__ == "__main__":
    main()
