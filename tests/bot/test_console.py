"""``python -m bot`` without a token: the console chat on stdin/stdout, offline, ending cleanly at EOF."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


pytestmark = pytest.mark.slow


def run_console(lines: str, replay_dir: Path, tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k != "TELEGRAM_BOT_TOKEN"}
    environment.update({"REPLAY_DATA_DIR": str(replay_dir), "STORAGE_PATH": str(tmp_path / "state.json"),
                        "CONSOLE_DIR": str(tmp_path / "console"), "REPLAY_SPEED": "1", **env})
    return subprocess.run([sys.executable, "-m", "bot"], input=lines, capture_output=True, text=True, cwd=tmp_path,
                          env=environment, timeout=120)


def test_console_answers_with_the_same_handlers_and_writes_photos(replay_dir: Path, tmp_path: Path) -> None:
    done = run_console("/pairs\n/levels SOLUSDT\n/tune\n", replay_dir, tmp_path)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "bot> 2 tracked pairs\n     ETHUSDT, SOLUSDT" in out
    photo = next(line for line in out.splitlines() if line.startswith("bot> [photo] "))
    path = Path(photo.removeprefix("bot> [photo] "))
    assert path.parent == tmp_path / "console" and path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert "Pick a parameter to change:" in out and "[b1] tolerance" in out  # the console user is an admin


def test_console_with_stdin_closed_shuts_down_cleanly(replay_dir: Path, tmp_path: Path) -> None:
    done = run_console("", replay_dir, tmp_path)
    assert done.returncode == 0 and done.stderr == ""
    assert done.stdout.startswith("SignalTracker console.")


def test_invalid_settings_stop_start_up_with_one_line(replay_dir: Path, tmp_path: Path) -> None:
    done = run_console("", replay_dir, tmp_path, REPLAY_SPEED="fast")
    assert done.returncode == 2
    assert done.stderr == "bot: invalid setting REPLAY_SPEED: Input should be a valid number, unable to parse " \
                          "string as a number\n"
