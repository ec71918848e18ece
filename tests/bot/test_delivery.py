"""Each message of a broadcast is retried on its own, and what is queued survives a stop.

Real data: the ETHUSDT 1h candle closing at 2025-05-15 03:00 UTC gives a MACRO LONG that fills at
2590.07 and stops out in the 05:47 minute (see test_broadcast.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

import bot.app
from bot.local_api import BotMessage
from tests.bot.conftest import CHANNEL, Harness, bot_harness

pytestmark = pytest.mark.slow
RATE_LIMITER_TRIES = bot.app.RATE_LIMIT_RETRIES + 1


def after_the_photo(harness: Harness, action) -> None:
    """Run ``action()`` once, right after the first photo reaches the channel."""
    def hook(kind: str, message: BotMessage) -> None:
        if kind == "sent" and message.chat_id == CHANNEL and message.method == "sendPhoto":
            harness.api.on_event = None
            action()
    harness.api.on_event = hook


async def test_flood_control_on_the_json_reply_does_not_send_the_photo_again(harness: Harness) -> None:
    after_the_photo(harness, lambda: [harness.api.throttle_next_send(CHANNEL, retry_after=1)
                                      for _ in range(RATE_LIMITER_TRIES)])
    await harness.advance(61)
    photo, data = harness.in_chat(CHANNEL)
    assert (photo.method, data.method, data.reply_to) == ("sendPhoto", "sendMessage", photo.message_id)
    sends = [c.status for c in harness.api.calls if c.params.get("chat_id") == CHANNEL]
    assert sends == [200] + [429] * RATE_LIMITER_TRIES + [200]


async def test_a_failed_json_reply_keeps_the_signal_delivered_and_its_result_is_posted(harness: Harness) -> None:
    after_the_photo(harness, lambda: harness.api.refuse_next_send(
        CHANNEL, 400, "Bad Request: can't parse entities: unsupported start tag"))
    await harness.advance(61)
    [photo] = harness.in_chat(CHANNEL)
    await harness.advance(3 * 60)
    result = next(m for m in harness.in_chat(CHANNEL) if m.text.startswith("ETHUSDT LONG closed"))
    assert (result.text.splitlines()[0], result.reply_to) == ("ETHUSDT LONG closed — 🛑 stop-loss", photo.message_id)


async def test_broadcasts_held_by_flood_control_at_a_stop_are_sent_at_the_next_start(
        replay_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bot.app, "SHUTDOWN_DRAIN_SECONDS", 0.5)
    storage = tmp_path / "state.json"
    async with bot_harness(replay_dir, storage) as first:
        first.api.throttle_next_send(CHANNEL, retry_after=60)
        await first.feed.advance(61)
        await first.until(lambda: any(c.status == 429 for c in first.api.calls))
        assert first.in_chat(CHANNEL) == []
    async with bot_harness(replay_dir, storage) as second:
        await second.until(lambda: len(second.in_chat(CHANNEL)) == 2, timeout=20)
        photo, data = second.in_chat(CHANNEL)
        assert photo.text.startswith("ETHUSDT 🟢 LONG · MACRO") and data.reply_to == photo.message_id
        await second.until(lambda: second.service.journal.unfinished() == [])
