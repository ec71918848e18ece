"""Child process of the bot crash test: the real bot on a replay, until it is killed or the replay ends.

Usage: ``python crash_bot.py REPLAY_DIR STATE_FILE START END``. Runs the real Application (handlers,
JobQueue, broadcaster) against :class:`bot.local_api.LocalBotApi` on a manual-clock replay from START,
one minute at a time as fast as it goes, the way the live bot meets candles. Prints, flushed:

- ``ready`` once the bot runs (after start-up reconciliation and resumed sends);
- ``sent {json}`` for every message the Bot API accepted (the line is written before the bot
  gets Telegram's answer, so a kill can only ever make the bot know less than this list);
- ``confirmed <chat>`` once the bot has recorded that a message to ``chat`` went out (its id);
- ``at <iso time>`` after each replayed minute whose jobs have finished;
- ``done`` after END, once every queued message was sent.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from bot.app import build_application, running
from bot.local_api import BotMessage, LocalBotApi
from bot.settings import load_settings
from market.replay import ReplayFeed

TOKEN = "123456789:AAHsecretTokenForTests_xyz-123"
ADMIN, CHANNEL = 1001, -1001234567890
SUBSCRIBERS = (2002, 2003, 2004)


_PRINTING = threading.Lock()  # journal writes run in worker threads: keep lines whole


def emit(line: str) -> None:
    with _PRINTING:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def announce(kind: str, message: BotMessage) -> None:
    if kind == "sent":
        emit("sent " + json.dumps({"chat": message.chat_id, "method": message.method, "text": message.text}))


def confirming(mark: Callable[..., None]) -> Callable[..., None]:
    """``mark`` that also prints ``confirmed <chat>`` after recording a message id."""
    def recorded(signal_key: str, chat_id: int, state: str, **fields: Any) -> None:
        mark(signal_key, chat_id, state, **fields)
        if state in ("photo_sent", "sent"):
            emit(f"confirmed {chat_id}")
    return recorded


async def main(replay_dir: Path, state: Path, start: str, end: str) -> None:
    api = LocalBotApi(on_event=announce)
    for chat in (ADMIN, *SUBSCRIBERS):
        api.add_chat(chat)
    api.add_chat(CHANNEL, "channel", title="Signals", username="signals_channel")
    settings = load_settings(telegram_bot_token=TOKEN, admin_ids=str(ADMIN), broadcast_chat_ids=str(CHANNEL),
                             replay_data_dir=replay_dir, storage_path=state,
                             telegram_rate_limit=False)  # the local Bot API has no flood limits to pace for
    feed = ReplayFeed(replay_dir, speed=None, start=start)
    app = build_application(settings, feed=feed, request=api)
    journal = app.bot_data["service"].journal
    journal.mark, journal.mark_result = confirming(journal.mark), confirming(journal.mark_result)
    until = pd.Timestamp(end, tz="UTC")
    async with running(app):
        jobs, broadcaster = app.bot_data["jobs"], app.bot_data["broadcaster"]
        emit("ready")
        while feed.now() < until:
            await feed.advance(1)
            while jobs.backlog:
                await asyncio.sleep(0.001)
            emit(f"at {feed.now().isoformat()}")
        await broadcaster.drain()
    emit("done")


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    asyncio.run(main(Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], sys.argv[4]))
