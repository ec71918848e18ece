"""/drift in replay mode: a week through the real bot (jobs, risk book, paper positions, a /tune in the
middle) and the backtester's replay of the same week with the same parameter versions agree on every
signal sent (data/sample, real candles)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
import pytest

from bot.drift_inputs import params_periods
from engines.backtest.drift import measure_drift
from tests.bot.conftest import bot_harness
from tests.conftest import SAMPLE

pytestmark = pytest.mark.slow
PAIRS = ("ETHUSDT", "SOLUSDT")
START = "2025-05-20T00:00Z"
HALF_WEEK = int(3.5 * 24 * 60)


@pytest.fixture(scope="module")
def sample_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("drift")
    for pair in PAIRS:
        for kind in ("1m", "funding"):
            (folder / f"{pair}_{kind}.parquet").symlink_to(SAMPLE / f"{pair}_{kind}.parquet")
    return folder


async def test_a_replayed_week_has_no_drift_with_a_tune_in_the_middle(sample_dir: Path, tmp_path: Path) -> None:
    async with bot_harness(sample_dir, tmp_path / "state.json", start=START) as bot:
        await bot.advance(HALF_WEEK)
        [preview] = await bot.ask("/tune tolerance 0.2")
        await bot.click(preview, "ta:tolerance:0.2")
        await bot.advance(HALF_WEEK)
        service = bot.service
        report = service.drift(7, sample_dir)
        [reply] = await bot.ask("/drift 7d", timeout=120)
        await bot.until(lambda: reply.edits == 1, timeout=120)
        print(reply.text)
        print(report.as_json())
        sent = [e for e in service.journal.entries(traded_only=True)]
        assert report.sent == len(sent)
        assert report.matched == report.sent
        assert report.mismatches == ()
        periods = params_periods(service.params_book)
        print([(p.version, str(p.since)) for p in periods])
        # the same comparison with only today's parameters does not match: the versions matter
        request = service.drift_inputs(7, sample_dir)
        today = dataclasses.replace(request, periods=(dataclasses.replace(periods[-1], since=periods[0].since),))
        wrong = measure_drift(today)
        print(wrong.as_json())
        assert 0
