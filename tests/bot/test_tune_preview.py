"""/tune shows the change's effect on the bot's own last two weeks before Apply (data/sample, real candles)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.bot.conftest import Harness, bot_harness

pytestmark = pytest.mark.slow
START = "2025-05-25T00:00Z"  # 20.4 days of candles before: enough for two weeks and the warm-up


@pytest.fixture
async def bot(replay_dir: Path, tmp_path: Path) -> AsyncIterator[Harness]:
    async with bot_harness(replay_dir, tmp_path / "state.json", start=START) as running_bot:
        yield running_bot


EFFECT = """\
Change parameters (v1 → new version)?
tolerance: 0.25 → 0.2

Effect on the bot's last 14 days (2 pairs, up to 2025-05-25 00:00 UTC; each week on fresh capital; P&L in USDT; \
pctl = percentile of net P&L among 200 random-entry runs):
            trades  win%    PF     P&L pctl
prev 7d old     27  22.2  0.48  -23.7k   26
        new     28  21.4  0.47  -24.1k   26
last 7d old      8  37.5  0.14   -7.8k   22
        new      9  33.3  0.16   -8.6k   22"""


async def test_the_preview_shows_old_and_new_on_each_week_and_the_audit_keeps_it(bot: Harness) -> None:
    [preview] = await bot.ask("/tune tolerance 0.2")
    assert preview.text.endswith("⏳ computing its effect on the last 14 days…")
    await bot.until(lambda: preview.edits == 1, timeout=60)
    assert preview.text == EFFECT
    assert preview.buttons == [("✅ Apply", "ta:tolerance:0.2"), ("Cancel", "tc")]
    await bot.click(preview, "ta:tolerance:0.2")
    assert bot.service.params.tolerance == 0.2
    shown = bot.service.params_book.audit()[-1]["shown"]
    assert shown["state"] == "shown" and shown["pairs"] == 2 and shown["random_runs"] == 200
    assert shown["rows"][0] == {"params": "old", "window": "previous", "start": "2025-05-11T00:00:00+00:00",
                                "end": "2025-05-18T00:00:00+00:00", "trades": 27, "win_rate": 22.22,
                                "profit_factor": 0.478, "net_pnl": -23689.86, "percentile": 25.5}
    assert [(r["params"], r["window"], r["trades"], r["net_pnl"]) for r in shown["rows"][1:]] == [
        ("old", "last", 8, -7842.7), ("new", "previous", 28, -24113.31), ("new", "last", 9, -8646.93)]


async def test_apply_while_computing_applies_and_the_audit_says_so(bot: Harness) -> None:
    [preview] = await bot.ask("/tune sl 0.8")
    await bot.click(preview, "ta:sl:0.8")
    assert preview.text == "✅ Parameters v2 in force (by 1001 (User1001)).\nsl: 0.5 → 0.8"
    assert bot.service.params_book.audit()[-1]["shown"] == {"state": "computing"}
    await bot.until(lambda: not any(t.get_name().startswith("tune preview") for t in asyncio.all_tasks()), 60)
    assert preview.text == "✅ Parameters v2 in force (by 1001 (User1001)).\nsl: 0.5 → 0.8"
