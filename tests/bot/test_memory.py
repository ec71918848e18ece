"""The bot's memory: glibc arenas capped, Parquet read through malloc (so freed memory goes back), no compiler."""

from __future__ import annotations

import json
import platform
import subprocess
import sys

import pandas as pd
import pyarrow
import pytest

from bot.memory import lean_process, limit_malloc_arenas
from engines.errors import DataUnavailable
from market.files import read_candles
from tests.conftest import REPO, SAMPLE


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_glibc_takes_the_arena_cap():
    assert limit_malloc_arenas() is True


def test_parquet_reads_leave_nothing_in_pyarrows_pool_once_the_frame_is_gone():
    previous = pyarrow.default_memory_pool()
    try:
        lean_process()  # what python -m bot sets up before it starts
        pool = pyarrow.default_memory_pool()
        assert pool.backend_name == "system"
        before = pool.bytes_allocated()  # what other readers in this process still hold
        frame = read_candles(SAMPLE, "BTCUSDT", "1m")
        assert len(frame) > 40_000 and pool.max_memory() > 2_000_000  # the read went through this pool
        del frame
        assert pool.bytes_allocated() - before < 100_000  # and gave its megabytes back
    finally:
        pyarrow.set_memory_pool(previous)


LIVE_PROCESS = """
import asyncio, json, sys
from pathlib import Path
from bot.app import build_application, running
from bot.local_api import LocalBotApi
from bot.settings import load_settings
from market.replay import ReplayFeed

async def main(data, folder):
    settings = load_settings(telegram_bot_token="1:test", replay_data_dir=data, storage_path=Path(folder) / "state")
    feed = ReplayFeed(data, speed=None)
    app = build_application(settings, feed=feed, request=LocalBotApi())
    async with running(app):
        jobs = app.bot_data["jobs"]
        for _ in range(6 * 4):
            await feed.advance(15)
            while jobs.backlog:
                await asyncio.sleep(0.001)
        decided = jobs.evaluated
        levels = app.bot_data["service"].levels("SOLUSDT", "15m")
    print(json.dumps({"decided": decided, "levels": len(levels.levels),
                      "loaded": sorted(m for m in ("numba", "llvmlite") if m in sys.modules)}))

asyncio.run(main(Path(sys.argv[1]), sys.argv[2]))
"""


def test_the_live_bot_decides_without_loading_numba(tmp_path):
    """Six replayed hours of 6 pairs through the real Application: every decision and /levels run the
    kernels interpreted, so the compiler (~90 MB resident) never enters the bot process."""
    completed = subprocess.run([sys.executable, "-c", LIVE_PROCESS, str(SAMPLE), str(tmp_path)], cwd=REPO,
                               capture_output=True, text=True, timeout=300, check=True)
    report = json.loads(completed.stdout.strip().splitlines()[-1])
    assert report["decided"] >= 6 * 24 + 6 * 6  # 6 pairs: every 15m close, and MACRO every hour
    assert report["levels"] > 0
    assert report["loaded"] == []


FRAGMENTED_HEAP = """
import sys
from bot.memory import give_back_freed_memory

def rss_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) // 1024

chunks = [bytes(2000) for _ in range(100_000)]  # ~200 MB of malloc'd blocks
kept = chunks[::50]  # one block in 50 survives: glibc cannot shrink the heap from its top
del chunks
freed = rss_mb()
give_back_freed_memory()
print(freed, rss_mb())
"""


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="malloc_trim is glibc's")
def test_freed_heap_pages_go_back_after_a_whole_history_job():
    out = subprocess.run([sys.executable, "-c", FRAGMENTED_HEAP], cwd=REPO, capture_output=True, text=True,
                         timeout=60, check=True).stdout.split()
    freed, after = int(out[0]), int(out[1])
    assert freed > 150 and after < freed - 100  # without malloc_trim the freed blocks stay resident


async def test_a_whole_history_job_gives_memory_back_even_when_it_fails(monkeypatch):
    from bot.handlers import common

    calls = []
    monkeypatch.setattr(common, "give_back_freed_memory", lambda: calls.append("given back"))

    def failing_job() -> None:
        raise DataUnavailable("no candles")

    with pytest.raises(DataUnavailable):
        await common.whole_history_job(failing_job)
    assert await common.whole_history_job(lambda x: x + 1, 1) == 2
    assert calls == ["given back", "given back"]


async def test_the_bot_hands_freed_memory_back_after_each_hourly_batch(harness, monkeypatch):
    import bot.jobs

    hours = []
    def given_back(collect: bool) -> None:
        assert collect is False  # a full collection every hour would stall the bot too long
        hours.append(harness.feed.now().floor("h"))

    monkeypatch.setattr(bot.jobs, "give_back_freed_memory", given_back)
    start = harness.feed.now()
    await harness.advance(120)  # two hourly closes, eight 15m closes
    assert hours == [start.floor("h") + pd.Timedelta(hours=1), start.floor("h") + pd.Timedelta(hours=2)]
