"""Bot benchmark: cold start to ready, a 15m close to all 25 pairs decided, RSS after a replayed day.

The real Application runs (Updater, handlers, JobQueue, AIORateLimiter) against the local Bot API,
on a manual-clock replay of real Binance 1m candles (May 2025). By default the repository's
``data/sample`` (6 pairs); to reach 25 pairs the others are the same real candles under alias names
(``BTC2USDT`` ...), so every pair does the full work. One channel is the broadcast target.

Figures: the decision batch of a close (all pairs, one job; both engines on the hour) as ``/status``
reports it, and the wall time from the close's last candle event to the batch finished.

    .venv/bin/python benchmarks/bench_bot.py [--closes 8] [--hours 24] [--data DIR]
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
from bot.memory import lean_process  # noqa: E402
from bot.settings import load_settings  # noqa: E402
from market.files import list_symbols  # noqa: E402
from market.replay import ReplayFeed  # noqa: E402

DATA = REPO / "data" / "sample"
PAIR_COUNT = 25
CHANNEL = -1009999


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def replay_folder(source: Path, target: Path) -> list[str]:
    """25 pairs: the real pairs of ``source``, then aliases of them (same real candles)."""
    real = list_symbols(source, "1m")
    if not real:
        raise SystemExit(f"no *_1m.parquet files in {source}")
    names = list(real)
    for n in range(PAIR_COUNT - len(real)):
        names.append(real[n % len(real)].removesuffix("USDT") + f"{2 + n // len(real)}USDT")
    for k, name in enumerate(names[:PAIR_COUNT]):
        origin = real[k % len(real)]
        (target / f"{name}_1m.parquet").symlink_to((source / f"{origin}_1m.parquet").resolve())
        funding = source / f"{origin}_funding.parquet"
        if funding.exists():
            (target / f"{name}_funding.parquet").symlink_to(funding.resolve())
    return names[:PAIR_COUNT]


async def settle(app) -> None:  # noqa: ANN001
    jobs = app.bot_data["jobs"]
    await asyncio.sleep(0)
    while jobs.backlog:
        await asyncio.sleep(0.001)


async def main(closes: int, hours: float, source: Path) -> None:
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder) / "replay"
        data.mkdir()
        pairs = replay_folder(source, data)
        api = LocalBotApi()
        api.add_chat(CHANNEL, "channel", title="bench")
        settings = load_settings(telegram_bot_token="1:bench", broadcast_chat_ids=str(CHANNEL), replay_data_dir=data,
                                 storage_path=Path(folder) / "state.json", pairs=",".join(pairs))
        lean_process()  # as python -m bot does
        feed = ReplayFeed(data, speed=None)
        app = build_application(settings, feed=feed, request=api)
        async with running(app):
            print(f"cold start to ready: {time.perf_counter() - STARTED:.2f} s "
                  f"(imports, {len(pairs)} pairs loaded, app polling); RSS {rss_mb():.0f} MB")
            await warm_up(app, feed)
            print(f"RSS after the first decision batch: {rss_mb():.0f} MB "
                  f"({'numba loaded' if 'numba' in sys.modules else 'numba not loaded: the kernels run interpreted'})")
            jobs = app.bot_data["jobs"]
            quarter, hour, walls = [], [], []
            for _ in range(closes):
                to_close = 15 - feed.now().minute % 15 - 1
                await feed.advance(to_close)
                await settle(app)
                before = len(jobs.batches)
                started = time.perf_counter()
                await feed.advance(1)
                await settle(app)
                walls.append(time.perf_counter() - started)
                close, seconds, decided = jobs.batches[-1]
                assert len(jobs.batches) == before + 1 and decided >= len(pairs), (len(jobs.batches), decided)
                (hour if close.minute == 0 else quarter).append(seconds)
            every = quarter + hour
            print(f"15m close -> {len(pairs)} pairs decided (one batch; /status figure): median "
                  f"{statistics.median(every) * 1000:.0f} ms, max {max(every) * 1000:.0f} ms over {len(every)} closes "
                  f"(goal <= 200 ms median, <= 400 ms max); on the hour ({2 * len(pairs)} decisions): "
                  f"{', '.join(f'{s * 1000:.0f}' for s in hour) or 'none'} ms")
            print(f"close -> batch done, wall (candle events + batch): median {statistics.median(walls) * 1000:.0f} ms, "
                  f"max {max(walls) * 1000:.0f} ms; RSS {rss_mb():.0f} MB")
            started = time.perf_counter()
            await feed.advance(hours * 60)
            await settle(app)
            sent = sum(1 for m in api.messages if m.chat_id == CHANNEL and m.method == "sendPhoto")
            queued = app.bot_data["broadcaster"].queued
            print(f"replayed {hours:g} h in {time.perf_counter() - started:.1f} s; RSS {rss_mb():.0f} MB "
                  f"(goal <= 300 MB); {len(app.bot_data['service'].paper.positions())} paper positions; {sent} signals "
                  f"posted to the channel, {queued} sends still held by Telegram's 20/min group limit")


async def warm_up(app, feed: ReplayFeed) -> None:  # noqa: ANN001
    """One 15m close first, so first-use costs (engine states built from the buffers) are not counted as latency."""
    await feed.advance(15)
    await settle(app)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--closes", type=int, default=8)
    parser.add_argument("--hours", type=float, default=24)
    parser.add_argument("--data", type=Path, default=DATA, help="folder of <PAIR>_1m.parquet files (default data/sample)")
    args = parser.parse_args()
    asyncio.run(main(args.closes, args.hours, args.data))
