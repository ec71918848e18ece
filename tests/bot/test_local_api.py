"""The local Bot API answers with real Bot API shapes at PTB's request seam."""

from __future__ import annotations

import time

import pytest
from telegram import Bot, InputFile
from telegram.error import BadRequest, Forbidden, RetryAfter

from bot.local_api import LocalBotApi

TOKEN = "1:local"


@pytest.fixture
async def bot_and_api() -> tuple[Bot, LocalBotApi]:
    api = LocalBotApi(clock=lambda: 1_747_274_400.0)
    api.add_chat(42)
    api.add_chat(-100777, "channel", title="News", username="news")
    bot = Bot(TOKEN, request=api, get_updates_request=api)
    await bot.initialize()
    yield bot, api
    await bot.shutdown()


async def test_get_me_is_a_bot(bot_and_api: tuple[Bot, LocalBotApi]) -> None:
    bot, _ = bot_and_api
    assert (bot.username, bot.bot.is_bot) == ("signaltracker_bot", True)


async def test_get_updates_honours_offset_and_parses_commands(bot_and_api: tuple[Bot, LocalBotApi]) -> None:
    bot, api = bot_and_api
    api.send_text("/levels SOLUSDT", user_id=42)
    api.send_text("hello", user_id=42)
    first = await bot.get_updates(timeout=0)
    assert [u.message.text for u in first] == ["/levels SOLUSDT", "hello"]
    assert first[0].message.entities[0].type == "bot_command" and first[0].message.entities[0].length == 7
    assert first[0].message.date.timestamp() == 1_747_274_400
    assert await bot.get_updates(offset=first[-1].update_id + 1, timeout=0) == ()


async def test_long_poll_waits_for_the_timeout(bot_and_api: tuple[Bot, LocalBotApi]) -> None:
    bot, _ = bot_and_api
    started = time.monotonic()
    assert await bot.get_updates(timeout=1) == ()
    assert time.monotonic() - started >= 0.95


async def test_photo_upload_and_callback_query_shape(bot_and_api: tuple[Bot, LocalBotApi]) -> None:
    bot, api = bot_and_api
    sent = await bot.send_photo(42, InputFile(b"\x89PNG\r\n\x1a\nxx", filename="c.png"), caption="<b>hi</b>",
                                parse_mode="HTML")
    assert sent.photo[-1].file_size == 10 and sent.caption == "hi"
    assert api.messages[-1].file.filename == "c.png" and api.messages[-1].file.data == b"\x89PNG\r\n\x1a\nxx"
    api.click(api.messages[-1], "pc:x", user_id=42)
    [update] = await bot.get_updates(timeout=0)
    assert update.callback_query.chat_instance == "ci42" and update.callback_query.message.message_id == sent.message_id


async def test_channel_by_username_and_channel_posts(bot_and_api: tuple[Bot, LocalBotApi]) -> None:
    bot, api = bot_and_api
    message = await bot.send_message("@news", "x")
    assert message.chat.id == -100777 and message.sender_chat.id == -100777
    api.send_channel_post(-100777, "/subscribe")
    [update] = await bot.get_updates(timeout=0)
    assert update.channel_post.chat.type == "channel" and update.effective_user is None


async def test_errors_look_like_telegram_errors(bot_and_api: tuple[Bot, LocalBotApi]) -> None:
    bot, api = bot_and_api
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.send_message(5, "x")
    api.throttle_next_send(42, retry_after=3)
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(42, "x")
    assert caught.value.retry_after == 3
    api.block_chat(42)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(42, "x")
    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.send_message(-100777, "x" * 4097)
