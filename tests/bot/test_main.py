"""Start-up through the real entry point (``python -m bot`` in a subprocess) with broken configurations:
one line naming the setting and exit status 2, or the bot starts without the bad part."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import REPO, SAMPLE

pytestmark = pytest.mark.slow
TOKEN = "123456789:AAHsecretTokenForTests_xyz-123"
START_TIMEOUT = 180


def run_bot(tmp_path: Path, stdin: str = "", **settings: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(REPO), "HOME": os.environ.get("HOME", str(tmp_path)),
           "STORAGE_PATH": str(tmp_path / "state.json"), "CONSOLE_DIR": str(tmp_path / "console"),
           "CACHE_DIR": str(tmp_path / "cache"), **settings}
    return subprocess.run([sys.executable, "-m", "bot"], cwd=tmp_path, env=env, input=stdin, text=True,
                          capture_output=True, timeout=START_TIMEOUT)


def refused(result: subprocess.CompletedProcess[str]) -> str:
    """The one line the bot gave when it refused to start (log lines before it aside)."""
    assert result.returncode == 2, result.stderr[-2000:]
    lines = [line + "\n" for line in result.stderr.splitlines() if line.startswith("bot: ")]
    assert "Traceback" not in result.stderr and len(lines) == 1, result.stderr[-2000:]
    assert result.stderr.endswith(lines[0])
    return lines[0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pair_folder(tmp_path: Path, *pairs: str) -> Path:
    folder = tmp_path / "data"
    folder.mkdir(exist_ok=True)
    for pair in pairs:
        (folder / f"{pair}_1m.parquet").symlink_to(SAMPLE / f"{pair}_1m.parquet")
    return folder


@pytest.mark.parametrize(("settings", "line"), [
    ({"LOG_LEVEL": "bogus"}, "bot: invalid setting LOG_LEVEL: expected one of DEBUG, INFO, WARNING, ERROR, CRITICAL "
                             "(or nothing)\n"),
    ({"REPLAY_SPEED": "nan"}, "bot: invalid setting REPLAY_SPEED: Input should be a finite number\n"),
    ({"REPLAY_SPEED": "inf"}, "bot: invalid setting REPLAY_SPEED: Input should be a finite number\n"),
    ({"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_BASE_URL": "api.telegram.org/bot"},
     "bot: invalid setting TELEGRAM_BASE_URL: expected a URL starting with http:// or https://, with a host\n"),
    ({"BYBIT_WS_URL": "https://stream.bybit.com"},
     "bot: invalid setting BYBIT_WS_URL: expected a URL starting with ws:// or wss://, with a host\n"),
    ({"REPLAY_DATA_DIR": "/nonexistent"}, "bot: invalid setting REPLAY_DATA_DIR: data folder /nonexistent does not "
                                          "exist\n"),
])
def test_a_bad_setting_is_one_line_and_exit_2(tmp_path: Path, settings: dict[str, str], line: str) -> None:
    assert refused(run_bot(tmp_path, **settings)) == line


def test_an_unreachable_telegram_is_one_line_without_the_token(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}/bot"
    line = refused(run_bot(tmp_path, TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_BASE_URL=url,
                           REPLAY_DATA_DIR=str(pair_folder(tmp_path, "SOLUSDT"))))
    assert line.startswith(f"bot: cannot reach Telegram at TELEGRAM_BASE_URL={url} (")
    assert TOKEN not in line and TOKEN.split(":")[1] not in line


class RefusingBotApi(BaseHTTPRequestHandler):
    """A Bot API that answers every request as Telegram answers a revoked token."""

    def do_POST(self) -> None:  # noqa: N802 - the http.server hook
        body = json.dumps({"ok": False, "error_code": 401, "description": "Unauthorized"}).encode()
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST

    def log_message(self, *args: object) -> None:
        pass


def test_a_token_telegram_refuses_is_one_line_without_the_token(tmp_path: Path) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), RefusingBotApi)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/bot"
        line = refused(run_bot(tmp_path, TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_BASE_URL=url,
                               REPLAY_DATA_DIR=str(pair_folder(tmp_path, "SOLUSDT"))))
    finally:
        server.shutdown()
    assert line == "bot: invalid setting TELEGRAM_BOT_TOKEN: Telegram refused the token\n"


def test_a_corrupt_parquet_file_is_one_line_naming_the_file(tmp_path: Path) -> None:
    folder = pair_folder(tmp_path, "SOLUSDT")
    (folder / "ETHUSDT_1m.parquet").write_bytes((SAMPLE / "ETHUSDT_1m.parquet").read_bytes()[:4096])  # cut short
    line = refused(run_bot(tmp_path, REPLAY_DATA_DIR=str(folder)))
    assert line.startswith("bot: invalid setting REPLAY_DATA_DIR: ETHUSDT_1m.parquet is not a readable Parquet file (")


def test_a_pair_whose_data_start_later_starts_later(tmp_path: Path) -> None:
    """ETHUSDT's file begins 20 days after SOLUSDT's: the replay starts, ETHUSDT joins when its candles do."""
    folder = pair_folder(tmp_path, "SOLUSDT")
    eth = pd.read_parquet(SAMPLE / "ETHUSDT_1m.parquet")
    eth[eth["timestamp"] >= pd.Timestamp("2025-05-25", tz="UTC")].to_parquet(folder / "ETHUSDT_1m.parquet")
    result = run_bot(tmp_path, stdin="/pairs\n/levels ETHUSDT\n", REPLAY_DATA_DIR=str(folder), REPLAY_SPEED="1")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "2 tracked pairs" in result.stdout and "ETHUSDT, SOLUSDT" in result.stdout
    assert "ETHUSDT has 0 closed 15m candles, levels need 121" in result.stdout
