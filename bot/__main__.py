"""``python -m bot``: the Telegram bot, or the console chat when ``TELEGRAM_BOT_TOKEN`` is absent.

Settings are checked before the heavy imports, so a bad setting fails fast with one line.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

from bot.memory import lean_process
from bot.redaction import install_token_redaction
from bot.settings import BotSettings, SettingsError, load_settings
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


def check_replay_files(settings: BotSettings) -> None:
    """A replay needs readable Parquet files in ``REPLAY_DATA_DIR``: one line naming the setting and the file if not.

    Only the files' footers are read (fast); a file damaged further in is reported when it is loaded.
    """
    if settings.market_source != "replay":
        return
    import pyarrow.parquet as pq

    from market.files import list_symbols

    folder = settings.replay_data_dir
    try:
        pairs = list(settings.pairs) or list_symbols(folder, "1m")
    except SignalTrackerError as e:
        raise SettingsError(f"invalid setting REPLAY_DATA_DIR: {e}") from e
    if not pairs:
        raise SettingsError(f"invalid setting REPLAY_DATA_DIR: no <SYMBOL>_1m.parquet files in {folder}")
    for pair in pairs:
        for path in (folder / f"{pair}_1m.parquet", folder / f"{pair}_funding.parquet"):
            if not path.exists() and path.name.endswith("_1m.parquet"):
                raise SettingsError(f"invalid setting REPLAY_DATA_DIR: {pair} is in PAIRS but {path.name} "
                                    f"is not in {folder}")
            try:
                if path.exists():
                    pq.read_schema(path)
            except (OSError, ValueError) as e:
                raise SettingsError(f"invalid setting REPLAY_DATA_DIR: {path.name} is not a readable "
                                    f"Parquet file ({e})") from e


def start_failure(error: Exception, settings: BotSettings) -> str | None:
    """One line for an error that stops the bot at start-up (the token never shown), or None if unexpected."""
    from telegram.error import InvalidToken, NetworkError

    if isinstance(error, SignalTrackerError):
        return str(error)
    if isinstance(error, InvalidToken):
        return "invalid setting TELEGRAM_BOT_TOKEN: Telegram refused the token"
    if isinstance(error, NetworkError):
        reason = str(error).replace(settings.token(), "<token>") if settings.token() else str(error)
        return f"cannot reach Telegram at TELEGRAM_BASE_URL={settings.telegram_base_url} ({reason})"
    return None


def main() -> int:
    try:
        settings = load_settings()
        check_replay_files(settings)
    except SignalTrackerError as e:
        sys.stderr.write(f"bot: {e}\n")
        return 2
    logging.basicConfig(level=settings.logging_level(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    install_token_redaction(settings.token())
    lean_process()
    try:
        asyncio.run(run_console(settings) if settings.console_mode else run_telegram(settings))
    except KeyboardInterrupt:
        return 0
    except Exception as e:  # noqa: BLE001 - known start-up failures become one line; the rest re-raise
        line = start_failure(e, settings)
        if line is None:
            raise
        sys.stderr.write(f"bot: {line}\n")
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
