"""``signaltracker drift``: bad input is one line and exit status 2 (the full run is in tests/bot/test_drift.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main
from bot.params_book import ParamsBook
from storage import TinyDBStore
from tests.conftest import SAMPLE


def _fresh_state(folder: Path) -> Path:
    """A state file as a bot leaves it on its first start (parameter version 1, nothing decided)."""
    store = TinyDBStore(folder / "state.json")
    ParamsBook(store)
    store.close()
    return folder / "state.json"


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["drift", *args])
    return code, capsys.readouterr().err


def test_a_missing_state_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert _run(capsys, "--state", str(tmp_path / "none.json"), "--data", str(SAMPLE)) == (
        2, f"signaltracker drift: --state: no state file at {tmp_path / 'none.json'}\n")


def test_a_file_that_is_not_a_state_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bogus = tmp_path / "notes.txt"
    bogus.write_text("hello")
    code, err = _run(capsys, "--state", str(bogus), "--data", str(SAMPLE))
    assert code == 2
    assert err.startswith(f"signaltracker drift: --state: {bogus} is not a bot state file (")


def test_bad_days(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    state = _fresh_state(tmp_path)
    assert _run(capsys, "--state", str(state), "--data", str(SAMPLE), "--days", "nan") == (
        2, "signaltracker drift: --days: a number of days from 0 to 366, got nan\n")


def test_a_state_without_decisions_needs_an_end(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    state = _fresh_state(tmp_path)
    assert _run(capsys, "--state", str(state), "--data", str(SAMPLE), "--pairs", "SOLUSDT") == (
        2, f"signaltracker drift: --state: {state} records no decision yet; give --end\n")


def test_an_empty_state_over_a_day_replays_what_would_have_been_sent(capsys: pytest.CaptureFixture[str],
                                                                     tmp_path: Path) -> None:
    state = _fresh_state(tmp_path)
    assert main(["drift", "--state", str(state), "--data", str(SAMPLE), "--pairs", "SOLUSDT", "--days", "2",
                 "--end", "2025-05-30T00:00Z"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [
        "drift 2025-05-28T00:00:00+00:00 .. 2025-05-30T00:00:00+00:00 (parameters v1)",
        "Drift: the bot sent no signal, the replay would have sent 1; paper P&L +0.00 vs replay -1,233.42 USDT",
        "matched 0, sent but not replayed 0, replayed but not sent 1, replayed trades 1, sent still open 0",
        "  missed 2025-05-29T21:00:00+00:00 SCALP SOLUSDT SHORT @167.19: the bot has no record of this decision"]
