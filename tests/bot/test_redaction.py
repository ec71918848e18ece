"""The token is redacted from log lines: formatted arguments, tracebacks, and httpx's request URLs."""

from __future__ import annotations

import http.server
import io
import json
import logging
import threading
from collections.abc import Iterator

import pytest
from telegram import Bot
from telegram.request import HTTPXRequest

from bot.redaction import REDACTED, TokenRedactingFilter, install_token_redaction

TOKEN = "123456789:AAH-redaction-test_token"


@pytest.fixture
def log_stream() -> Iterator[tuple[io.StringIO, logging.Logger]]:
    logger = logging.getLogger("redaction-test")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    install_token_redaction(TOKEN, logger)
    yield stream, logger
    logger.removeHandler(handler)


def test_arguments_and_tracebacks_are_redacted(log_stream: tuple[io.StringIO, logging.Logger]) -> None:
    stream, logger = log_stream
    logger.info("calling %s", f"https://api.telegram.org/bot{TOKEN}/getMe")
    try:
        raise RuntimeError(f"bad token {TOKEN}")
    except RuntimeError:
        logger.exception("failed")
    text = stream.getvalue()
    assert TOKEN not in text
    assert f"https://api.telegram.org/bot{REDACTED}/getMe" in text and f"RuntimeError: bad token {REDACTED}" in text


def test_url_encoded_token_is_redacted_too() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "GET /bot%s", ("123456789%3AAAH-redaction-test_token",),
                               None)
    TokenRedactingFilter(TOKEN).filter(record)
    assert record.getMessage() == f"GET /bot{REDACTED}"


class _GetMe(http.server.BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = json.dumps({"ok": True, "result": {"id": 1, "is_bot": True, "first_name": "T", "username": "t_bot"}})
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args: object) -> None:
        return None


async def test_httpx_request_lines_are_redacted() -> None:
    server = http.server.HTTPServer(("127.0.0.1", 0), _GetMe)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    httpx_logger = logging.getLogger("httpx")
    root = logging.getLogger()
    root.addHandler(handler)
    level, httpx_logger.level = httpx_logger.level, logging.INFO
    installed = install_token_redaction(TOKEN)
    try:
        bot = Bot(TOKEN, base_url=f"http://127.0.0.1:{server.server_port}/bot", request=HTTPXRequest())
        async with bot:
            assert bot.username == "t_bot"
    finally:
        server.shutdown()
        root.removeHandler(handler)
        httpx_logger.level = level
        for other in root.handlers:
            other.removeFilter(installed)
    text = stream.getvalue()
    assert f"/bot{REDACTED}/getMe" in text and TOKEN not in text
