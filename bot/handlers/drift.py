"""/drift [Nd]: the signals the bot sent over the last N days against the backtester's replay of them.

The replay runs in a worker thread under the backtest lock (one heavy job at a time); a
"computing…" message is edited with the report.
"""

from __future__ import annotations

import asyncio
import re
from html import escape

from telegram import Update
from telegram.constants import ParseMode
from telegram.ext import Application, CommandHandler, ContextTypes

from bot import render
from bot.arguments import UsageError
from bot.handlers.common import COMMAND_UPDATES, chat_args, command, extra, reply, service_of
from engines.errors import InvalidInput, SignalTrackerError

DEFAULT_DAYS = 7
MAX_DAYS = 60
_DAYS = re.compile(r"^([0-9]{1,3})d?$")


def parse_drift(args: list[str]) -> int:
    """``[]`` -> 7; ``["3d"]`` or ``["3"]`` -> 3 (1-60)."""
    if len(args) > 1:
        raise UsageError("drift", f"too many arguments: {' '.join(args[1:])!r}")
    if not args:
        return DEFAULT_DAYS
    match = _DAYS.match(args[0].lower())
    if not match or not 1 <= int(match.group(1)) <= MAX_DAYS:
        raise UsageError("drift", f"period must be days like 7d (1d-{MAX_DAYS}d), got {args[0][:20]!r}")
    return int(match.group(1))


@command("drift")
async def drift(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    days = parse_drift(chat_args(context))
    service = service_of(context)
    lock: asyncio.Lock = extra(context)["backtest_lock"]
    if lock.locked():
        raise InvalidInput("a backtest or drift replay is already running; try again when it has finished")
    async with lock:
        message = await reply(update, f"⏳ {escape(f'Replaying the last {days}d to compare with what was sent')}…")
        try:
            report = await asyncio.to_thread(service.drift, days, extra(context).get("replay_dir"),
                                             service.paper.positions())
        except SignalTrackerError as e:
            await message.edit_text(render.failure(str(e)), parse_mode=ParseMode.HTML)
            return
        await message.edit_text(render.drift_report(report), parse_mode=ParseMode.HTML)


def register(app: Application) -> None:
    app.add_handler(CommandHandler("drift", drift, filters=COMMAND_UPDATES, block=False))
