"""/drift in replay mode: a week through the real bot (jobs, risk book, paper positions, a /tune in the
middle) and the backtester's replay of the same week with the same parameter versions agree on every
signal sent (data/sample, real candles)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from bot.cli import main
from bot.drift_inputs import params_periods
from engines.backtest.drift import measure_drift
from tests.bot.conftest import bot_harness

pytestmark = pytest.mark.slow
START = "2025-05-20T00:00Z"
HALF_WEEK = int(3.5 * 24 * 60)


REPLY = """\
Drift 2025-05-20 00:00 UTC → 2025-05-27 00:00 UTC · parameters v1, v2
No drift: all 9 sent signals match the replay, which sent nothing else; paper P&L -8,887.88 vs replay -8,887.88 USDT
matched 9 · sent but not replayed 0 · replayed but not sent 0 · replayed trades 9 · sent still open 0"""


async def test_a_replayed_week_has_no_drift_with_a_tune_in_the_middle(replay_dir: Path, tmp_path: Path,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    state = tmp_path / "state.json"
    async with bot_harness(replay_dir, state, start=START) as bot:
        await bot.advance(HALF_WEEK)
        [preview] = await bot.ask("/tune tolerance 0.2")
        await bot.click(preview, "ta:tolerance:0.2")
        await bot.advance(HALF_WEEK)
        [reply] = await bot.ask("/drift 7d", timeout=120)
        assert reply.text == "⏳ Replaying the last 7d to compare with what was sent…"
        await bot.until(lambda: reply.edits == 1, timeout=180)
        assert reply.text == REPLY
        service = bot.service
        periods = params_periods(service.params_book)
        assert [(p.version, str(p.since)) for p in periods] == [(1, "1970-01-01 00:00:00+00:00"),
                                                                (2, "2025-05-23 12:00:00+00:00")]
        request = service.drift_inputs(7, replay_dir)
        assert [s.signal.key for s in request.sent] == [e.signal.key for e in service.journal.entries(traded_only=True)]
        report = measure_drift(request)
        assert (report.sent, report.matched, report.missed, report.extra) == (9, 9, 0, 0)
        # one P&L formula live and in the backtest: the paper book equals the replay to the cent
        assert (round(report.paper_pnl, 2), round(report.replay_pnl, 2)) == (-8887.88, -8887.88)

        # the same comparison with only today's parameters does not match: the versions matter
        today = dataclasses.replace(request, periods=(dataclasses.replace(periods[-1], since=periods[0].since),))
        wrong = measure_drift(today)
        assert (wrong.matched, wrong.extra, wrong.missed) == (8, 1, 0)
        assert [(m.decided_at.isoformat(), m.pair, m.reason) for m in wrong.mismatches] == [
            ("2025-05-22T21:15:00+00:00", "ETHUSDT",
             "the engines give no such signal on these candles with that parameter version")]

        # the CLI, from the state file of the running bot and the same candles, says the same
        capsys.readouterr()
        assert main(["drift", "--state", str(state), "--data", str(replay_dir), "--days", "7",
                     "--end", "2025-05-27T00:00Z", "--json"]) == 0
        assert json.loads(capsys.readouterr().out) == report.as_json()


PAUSED = """\
Drift 2025-05-19 12:00 UTC → 2025-05-23 12:00 UTC · parameters v1
Drift: 4 of 4 sent signals match the replay (100 %), 0 sent but not replayed, 1 replayed but not sent; \
paper P&L -3,384.11 vs replay -5,586.01 USDT
matched 4 · sent but not replayed 0 · replayed but not sent 1 · replayed trades 5 · sent still open 0

First 1 of 1 mismatches
• 2025-05-21 16:00 UTC MACRO SOLUSDT SHORT @172.12 — replayed, not sent: the bot decided it but did not trade it \
(paused)"""


async def test_a_signal_held_back_by_pause_is_drift_with_its_reason(replay_dir: Path, tmp_path: Path) -> None:
    async with bot_harness(replay_dir, tmp_path / "state.json", start=START) as bot:
        await bot.advance(24 * 60)
        await bot.ask("/pause")
        await bot.advance(36 * 60)
        await bot.ask("/resume")
        await bot.advance(24 * 60)
        [reply] = await bot.ask("/drift 4d")
        await bot.until(lambda: reply.edits == 1, timeout=180)
        assert reply.text == PAUSED
