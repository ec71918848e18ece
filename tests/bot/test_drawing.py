"""The chart pool: /status answers within a second while a burst of /levels is drawn; the queue is bounded."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import pytest

from bot.drawing import CHARTS, ChartPool, ChartsBusy
from tests.bot.conftest import ADMIN, bot_harness

BURST = 12


@pytest.mark.slow
async def test_status_answers_within_a_second_while_12_levels_charts_are_drawn(replay_dir: Path,
                                                                                tmp_path: Path) -> None:
    async with bot_harness(replay_dir, tmp_path / "state.json") as bot:
        users = [5000 + i for i in range(BURST)]
        for user in users:
            bot.api.send_text("/levels SOLUSDT 1h" if user % 2 else "/levels ETHUSDT", user_id=user)
        await bot.until(lambda: CHARTS.waiting >= 2, timeout=60)  # the burst is being drawn
        started = time.monotonic()
        [status] = await bot.ask("/status", user=ADMIN)
        answered = time.monotonic() - started
        drawn_before_status = sum(1 for m in bot.api.messages if m.method == "sendPhoto")
        await bot.until(lambda: sum(1 for m in bot.api.messages if m.method == "sendPhoto") == BURST, timeout=180)
    assert status.text.startswith("Status")
    print(f"/status answered in {answered * 1000:.0f} ms with {BURST - drawn_before_status} of {BURST} charts to go")
    assert answered <= 1.0, f"/status took {answered:.2f} s"
    assert drawn_before_status < BURST  # it really was answered while the charts were being drawn
    assert all(len([m for m in bot.in_chat(u)]) == 2 for u in users)  # every /levels got its chart and JSON


async def test_requests_past_the_waiting_limit_are_refused_and_broadcast_charts_are_not() -> None:
    pool = ChartPool(workers=1, max_waiting=2)
    gate = threading.Event()
    first = asyncio.ensure_future(pool.draw_on_request(gate.wait))
    second = asyncio.ensure_future(pool.draw_on_request(lambda: b"second"))
    await asyncio.sleep(0.05)
    with pytest.raises(ChartsBusy, match="2 charts are being drawn; please ask again in a minute."):
        await pool.draw_on_request(lambda: b"third")
    broadcast = asyncio.ensure_future(pool.draw(lambda: b"signal chart"))
    gate.set()
    assert await asyncio.gather(first, second, broadcast) == [True, b"second", b"signal chart"]
    assert pool.waiting == 0
    assert await pool.draw_on_request(lambda: b"again") == b"again"
