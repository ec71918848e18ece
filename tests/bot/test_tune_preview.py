"""/tune shows the change's effect on the bot's own last two weeks before Apply (data/sample, real candles)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.bot.conftest import Harness, bot_harness
from tests.conftest import SAMPLE

pytestmark = pytest.mark.slow
PAIRS = ("ETHUSDT", "SOLUSDT")
START = "2025-05-25T00:00Z"  # 20.4 days of candles before: enough for two weeks and the warm-up


@pytest.fixture(scope="module")
def sample_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("sample2")
    for pair in PAIRS:
        for kind in ("1m", "funding"):
            (folder / f"{pair}_{kind}.parquet").symlink_to(SAMPLE / f"{pair}_{kind}.parquet")
    return folder


@pytest.fixture
async def bot(sample_dir: Path, tmp_path: Path) -> AsyncIterator[Harness]:
    async with bot_harness(sample_dir, tmp_path / "state.json", start=START) as running_bot:
        yield running_bot


TABLE = """\
"""


async def test_the_preview_shows_old_and_new_on_each_week_and_the_audit_keeps_it(bot: Harness) -> None:
    [preview] = await bot.ask("/tune tolerance 0.2")
    assert preview.text.endswith("⏳ computing its effect on the last 14 days…")
    await bot.until(lambda: preview.edits == 1, timeout=60)
    print(preview.text)
    assert preview.buttons == [("✅ Apply", "ta:tolerance:0.2"), ("Cancel", "tc")]
    await bot.click(preview, "ta:tolerance:0.2")
    shown = bot.service.params_book.audit()[-1]["shown"]
    print(shown)
    assert 0
