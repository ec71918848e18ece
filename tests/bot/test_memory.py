"""The bot's memory settings: glibc arenas capped, Parquet read through malloc (so freed memory goes back)."""

from __future__ import annotations

import platform

import pyarrow
import pytest

from bot.memory import lean_process, limit_malloc_arenas
from market.files import read_candles
from tests.conftest import SAMPLE


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
