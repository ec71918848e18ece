"""The application as a whole: restart on the same storage file, the global error handler, the token in logs."""

from __future__ import annotations

import io
import logging
import subprocess
import sys
from pathlib import Path

import pytest
from telegram import Update
from telegram.ext import CommandHandler, ContextTypes

from bot.app import build_application, make_feed, tracked_pairs
from bot.local_api import LocalBotApi
from bot.redaction import install_token_redaction
from bot.settings import load_settings
from market.replay import ReplayFeed
from tests.bot.conftest import ADMIN, CHANNEL, TOKEN, TRADER, Harness, bot_harness
from tests.conftest import SAMPLE

pytestmark = pytest.mark.slow
ETH_KEY = "MACRO:ETHUSDT:LONG:2025-05-15T03:00:00Z"


async def test_state_survives_a_restart_and_no_signal_is_sent_twice(replay_dir: Path, tmp_path: Path) -> None:
    storage = tmp_path / "state.json"
    async with bot_harness(replay_dir, storage) as first:
        await first.ask("/subscribe pairs=ETHUSDT", user=TRADER)
        [preview] = await first.ask("/tune tolerance 0.2")
        await first.click(preview, "ta:tolerance:0.2")
        await first.advance(62)
        assert len(first.in_chat(CHANNEL)) == 2 and len(first.in_chat(TRADER)) == 3
    async with bot_harness(replay_dir, storage) as second:
        assert second.service.params.tolerance == 0.2
        assert second.service.params_book.current().version == 2
        assert second.service.subscriptions.get(TRADER).pairs == ("ETHUSDT",)
        [positions] = await second.ask("/positions")
        assert positions.text.splitlines()[2] == "ETHUSDT LONG MACRO"
        await second.advance(62)  # the replay starts over: the same 03:00 signal comes again
        assert second.in_chat(CHANNEL) == [] and second.in_chat(TRADER) == []
        assert [d.chat_id for d in second.service.journal.deliveries(ETH_KEY)] == [CHANNEL, TRADER]


async def test_an_exception_in_a_handler_is_logged_and_the_user_told(harness: Harness,
                                                                     caplog: pytest.LogCaptureFixture) -> None:
    async def broken(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        raise RuntimeError("division by a bug")

    harness.app.handlers[0].insert(0, CommandHandler("broken", broken))  # ahead of the unknown-command fallback
    [reply] = await harness.ask("/broken")
    assert reply.text == "⚠️ Something went wrong on our side. It has been logged; please try again in a minute."
    assert any(r.exc_info and "division by a bug" in str(r.exc_info[1]) for r in caplog.records)
    [pairs] = await harness.ask("/pairs")
    assert pairs.text.startswith("2 tracked pairs")


async def test_no_log_line_and_no_reply_contains_the_token(replay_dir: Path, tmp_path: Path) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root = logging.getLogger()
    root.addHandler(handler)
    level, root.level = root.level, logging.DEBUG
    installed = install_token_redaction(TOKEN)
    try:
        async with bot_harness(replay_dir, tmp_path / "state.json") as bot:
            async def leak(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
                raise RuntimeError(f"failed calling {context.bot.base_url}/getMe for {context.application}")

            bot.app.handlers[0].insert(0, CommandHandler("leak", leak))
            await bot.ask("/leak")
            await bot.ask("/levels SOLUSDT", replies=2)
            await bot.advance(62)
    finally:
        root.removeHandler(handler)
        root.level = level
        for other in root.handlers:
            other.removeFilter(installed)
    logged = stream.getvalue()
    assert "[REDACTED]" in logged and TOKEN not in logged
    assert all(TOKEN not in m.text for m in bot.api.messages)
    assert any(c.method == "sendPhoto" and c.params["chat_id"] == CHANNEL for c in bot.api.calls)
    assert ADMIN in {m.chat_id for m in bot.api.messages}


async def test_bybit_feed_takes_the_configured_endpoints_cache_and_quiet_retries(tmp_path: Path) -> None:
    settings = load_settings(market_source="bybit", bybit_rest_url="http://127.0.0.1:9", cache_dir=tmp_path / "cache")
    feed = make_feed(settings)
    try:
        assert feed.rest.cache_dir == tmp_path / "cache" / "bybit"
        assert feed.fallback_rest.cache_dir == tmp_path / "cache" / "kraken"
        assert feed.rest.retry.quiet and feed.universe_size == 25  # the feed ranks the top 25 itself
        assert await tracked_pairs(settings, feed) == []
    finally:
        await feed.rest.close()
        await feed.fallback_rest.close()


def test_importing_the_bot_does_not_load_ccxt() -> None:
    code = "import bot.app, sys; assert 'ccxt' not in sys.modules, 'ccxt was imported'"
    result = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[2],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_the_flood_limiter_is_in_place_unless_switched_off(tmp_path) -> None:
    def limiter(**overrides: object) -> object:
        settings = load_settings(storage_path=tmp_path / f"{len(overrides)}.sqlite", **overrides)
        return build_application(settings, feed=ReplayFeed(SAMPLE, speed=None), request=LocalBotApi()).bot.rate_limiter

    assert type(limiter()).__name__ == "AIORateLimiter"
    assert limiter(telegram_rate_limit=False) is None
