"""Bot benchmark: cold start to ready, 15m close to all 25 pairs decided and broadcasts queued, RSS after a day.

The real Application runs (Updater, handlers, JobQueue, AIORateLimiter) against the local Bot API,
on a manual-clock replay of real Binance 1m candles (May 2025). The shared set has 11 pairs with a full
month of 1m data; to reach 25 the other 14 are the same real candles under alias names
(``AVAX2USDT`` ...), so every pair does the full work. One channel is the broadcast target.

    .venv/bin/python benchmarks/bench_bot.py [--closes 8] [--hours 24]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

STARTED = time.perf_counter()
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bot.app import build_application, running  # noqa: E402
from bot.local_api import LocalBotApi  # noqa: E402
from bot.settings import load_settings  # noqa: E402
from market.replay import ReplayFeed  # noqa: E402

DATA = REPO.parent / "shared" / "data" / "binance_usdm_perp"
PAIR_COUNT = 25
CHANNEL = -1009999


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


FULL_MONTH = ("AVAXUSDT", "BCHUSDT", "BNBUSDT", "BTCUSDT", "ENAUSDT", "ETHUSDT", "LINKUSDT", "LTCUSDT",
              "SOLUSDT", "SUIUSDT", "XRPUSDT")  # the pairs with 1m data from 2025-05-04 on (room for warm-up)


def replay_folder(target: Path) -> list[str]:
    """25 pairs: the 11 real pairs with a full month, then aliases of them (same real candles)."""
    real = list(FULL_MONTH)
    names = list(real)
    for n in range(PAIR_COUNT - len(real)):
        names.append(real[n % len(real)].removesuffix("USDT") + f"{2 + n // len(real)}USDT")
    for name, source in zip(names, real * 3):
        (target / f"{name}_1m.parquet").symlink_to(DATA / "1m_2025-05" / f"{source}_1m.parquet")
        funding = DATA / "funding" / f"{source}_funding.parquet"
        if funding.exists():
            (target / f"{name}_funding.parquet").symlink_to(funding)
    return names


async def settle(app) -> None:  # noqa: ANN001
    jobs = app.bot_data["jobs"]
    await asyncio.sleep(0)
    while jobs.backlog:
        await asyncio.sleep(0.001)


async def main(closes: int, hours: float) -> None:
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder) / "replay"
        data.mkdir()
        pairs = replay_folder(data)
        api = LocalBotApi()
        api.add_chat(CHANNEL, "channel", title="bench")
        settings = load_settings(telegram_bot_token="1:bench", broadcast_chat_ids=str(CHANNEL), replay_data_dir=data,
                                 storage_path=Path(folder) / "state.json", pairs=",".join(pairs))
        feed = ReplayFeed(data, speed=None)
        app = build_application(settings, feed=feed, request=api)
        async with running(app):
            print(f"cold start to ready: {time.perf_counter() - STARTED:.2f} s "
                  f"(imports, {len(pairs)} pairs loaded, app polling)")
            await warm_up(app, feed)
            latencies = []
            for _ in range(closes):
                to_close = 15 - feed.now().minute % 15 - 1
                await feed.advance(to_close)
                await settle(app)
                before = app.bot_data["jobs"].evaluated
                started = time.perf_counter()
                await feed.advance(1)
                await settle(app)
                latencies.append(time.perf_counter() - started)
                assert app.bot_data["jobs"].evaluated - before >= len(pairs)
            print(f"15m close -> {len(pairs)} pairs evaluated + broadcasts queued: median "
                  f"{statistics.median(latencies) * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms "
                  f"over {closes} closes")
            started = time.perf_counter()
            await feed.advance(hours * 60)
            await settle(app)
            sent = sum(1 for m in api.messages if m.chat_id == CHANNEL and m.method == "sendPhoto")
            queued = app.bot_data["broadcaster"].queued
            print(f"replayed {hours:g} h in {time.perf_counter() - started:.1f} s; RSS {rss_mb():.0f} MB; "
                  f"{len(app.bot_data['service'].paper.positions())} paper positions; {sent} signals posted to the "
                  f"channel, {queued} sends still held by Telegram's 20/min group limit")


async def warm_up(app, feed: ReplayFeed) -> None:  # noqa: ANN001
    """One 15m close first, so numba compilation is not counted as latency."""
    await feed.advance(15)
    await settle(app)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--closes", type=int, default=8)
    parser.add_argument("--hours", type=float, default=24)
    args = parser.parse_args()
    asyncio.run(main(args.closes, args.hours))
