"""/backtest: runs in a child process with an edited progress message; metrics, equity PNG, trades.csv."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import signal
from pathlib import Path

import pytest

from bot.arguments import parse_backtest
from bot.backtest_child import run_in_child
from bot.backtest_runner import backtest_job, run_backtest_job, run_chat_backtest
from charts import render_equity_chart
from engines.errors import JobFailed
from tests.bot.conftest import ADMIN, Harness

pytestmark = pytest.mark.slow
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


async def test_backtest_replies_with_metrics_equity_png_and_trades_csv(harness: Harness) -> None:
    progress, metrics, equity, trades = await harness.ask("/backtest 7d ETHUSDT,SOLUSDT tolerance=0.2", replies=4,
                                                          timeout=120)
    verdict, done = progress.text.splitlines()
    assert progress.edits >= 1 and done.startswith("✅ Backtest 7d ETHUSDT, SOLUSDT: ")
    assert verdict.startswith("Edge: ") and "percentile of 200 random-entry runs; mean per trade" in verdict
    assert verdict in metrics.text.splitlines()  # the same line in the full report
    assert equity.method == "sendPhoto" and equity.file.data.startswith(PNG_MAGIC)
    assert trades.method == "sendDocument" and trades.file.filename == "trades.csv"
    rows = list(csv.DictReader(io.StringIO(trades.file.data.decode())))
    assert trades.text == f"{len(rows)} trades"
    assert any(line.split()[:2] == ["trades", str(len(rows))] for line in metrics.text.splitlines())
    assert {row["pair"] for row in rows} <= {"ETHUSDT", "SOLUSDT"}
    assert all("2025-05-08T02:00:00Z" <= row["entry_time"] <= "2025-05-15T02:00:00Z" for row in rows)


async def test_the_bot_keeps_answering_while_a_backtest_runs(harness: Harness) -> None:
    harness.api.send_text("/backtest 7d", user_id=ADMIN)
    await harness.ask("/pairs", replies=2)  # the progress message, then the answer to /pairs
    await harness.until(lambda: any(m.method == "sendDocument" for m in harness.in_chat(ADMIN)), timeout=120)
    order = [m.method for m in harness.in_chat(ADMIN)]
    assert order.index("sendDocument") > [m.text for m in harness.in_chat(ADMIN)].index(
        "2 tracked pairs\nETHUSDT, SOLUSDT")


async def test_backtest_longer_than_the_data_says_how_much_there_is(harness: Harness) -> None:
    [progress] = await harness.ask("/backtest 30d")
    await harness.until(lambda: progress.text.startswith("⚠️"))
    assert progress.text == "⚠️ the bot has 10.4 days of data before now; ask for at most 10d"


@pytest.mark.parametrize(("text", "expected"), [
    ("/backtest 7d DOGEUSDT", "⚠️ DOGEUSDT is not tracked; tracked pairs: ETHUSDT, SOLUSDT"),
    ("/backtest 7d touches=9", "⚠️ touches: a whole number from 2 to 4, got 9"),
])
async def test_backtest_errors_say_what_is_allowed(harness: Harness, text: str, expected: str) -> None:
    [reply] = await harness.ask(text)
    assert reply.text == expected


async def test_the_equity_png_shows_the_random_entry_band(harness: Harness) -> None:
    _, _, equity, _ = await harness.ask("/backtest 3d ETHUSDT", replies=4, timeout=120)
    result = run_chat_backtest(parse_backtest(["3d", "ETHUSDT"]), feed=harness.service.feed,
                               params=harness.service.params, replay_dir=harness.app.bot_data["replay_dir"],
                               progress=lambda text: None)
    report = result.report
    expected = render_equity_chart(report.equity, title="Backtest 3d ETHUSDT", band=report.random_band)
    assert equity.file.data == expected


def _kill_backtest_children() -> None:
    """SIGKILL this process's ``python -m bot.backtest_child`` children (what the kernel's OOM killer does)."""
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":\t", 1) for line in status.read_text().splitlines() if ":\t" in line)
            cmdline = (status.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if fields.get("PPid", "").strip() == str(os.getpid()) and b"bot.backtest_child" in cmdline:
            os.kill(int(status.parent.name), signal.SIGKILL)


async def test_the_backtest_runs_in_a_child_and_the_bot_survives_its_death(harness: Harness) -> None:
    """The backtest is a child process: killed (as the OOM killer would) it ends with a clear reply, and the bot
    goes on; a second backtest then runs to the end, with the trades of the same backtest run in-process."""
    job = backtest_job(parse_backtest(["3d", "ETHUSDT"]), feed=harness.service.feed, params=harness.service.params,
                       replay_dir=harness.app.bot_data["replay_dir"])
    with pytest.raises(JobFailed, match=r"killed, most likely out of memory: try fewer days or pairs"):
        await asyncio.to_thread(run_in_child, job, lambda text: _kill_backtest_children())
    assert (await asyncio.to_thread(run_in_child, job, lambda text: None)).trades_csv == \
        run_backtest_job(job, lambda text: None).trades_csv
    [status] = await harness.ask("/status")
    assert status.text.startswith("Status · replay")  # the bot answers on
