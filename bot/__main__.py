"""``python -m bot``: the Telegram bot, or the console chat when ``TELEGRAM_BOT_TOKEN`` is absent.

Settings are checked before the heavy imports, so a bad setting fails fast with one line.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys

from bot.redaction import install_token_redaction
from bot.settings import BotSettings, load_settings
from engines.errors import SignalTrackerError

logger = logging.getLogger("bot")


async def run_console(settings: BotSettings) -> None:
    from bot.app import build_application, make_feed, running
    from bot.console import CONSOLE_USER_ID, ConsoleChat
    from bot.local_api import LocalBotApi

    api = LocalBotApi()
    chat = ConsoleChat(api, stdin=sys.stdin, stdout=sys.stdout, output_dir=settings.console_dir)
    for chat_id in settings.broadcast_chat_ids:
        if isinstance(chat_id, int):
            api.add_chat(chat_id, "channel")
    app = build_application(settings, feed=make_feed(settings), request=api, extra_admins=(CONSOLE_USER_ID,))
    async with running(app):
        await chat.run()


async def run_telegram(settings: BotSettings) -> None:
    from bot.app import build_application, make_feed, running

    app = build_application(settings, feed=make_feed(settings))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(number, stop.set)
    async with running(app):
        await stop.wait()


def main() -> int:
    level = os.environ.get("LOG_LEVEL", "")
    try:
        settings = load_settings()
    except SignalTrackerError as e:
        sys.stderr.write(f"bot: {e}\n")
        return 2
    default = logging.WARNING if settings.console_mode else logging.INFO
    logging.basicConfig(level=level.upper() or default, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    install_token_redaction(settings.token())
    try:
        asyncio.run(run_console(settings) if settings.console_mode else run_telegram(settings))
    except SignalTrackerError as e:
        sys.stderr.write(f"bot: {e}\n")
        return 2
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
