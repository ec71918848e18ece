"""/drift [Nd]: the signals the bot sent over the last N days against the backtester's replay of them.

The replay runs in a worker thread in its turn of the backtest queue (one heavy job at a time; a
later request is told its place); a "computing…" message is edited with the report.
"""

from __future__ import annotations

import re
from html import escape

from telegram import Update
from telegram.constants import ParseMode
from telegram.ext import Application, CommandHandler, ContextTypes

from bot import render
from bot.arguments import UsageError
from bot.backtest_queue import BacktestQueue, place_text
from bot.handlers.common import COMMAND_UPDATES, chat_args, command, extra, reply, service_of, whole_history_job
from engines.errors import SignalTrackerError

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
    queue: BacktestQueue = extra(context).setdefault("backtest_queue", BacktestQueue())
    title = f"Replaying the last {days}d to compare with what was sent"
    ahead = queue.ahead
    message = await reply(update, f"⏳ {escape(title)}…" + (f"\n{place_text(ahead)}" if ahead else ""))
    async with queue.turn():
        if ahead:
            await message.edit_text(f"⏳ {escape(title)}…", parse_mode=ParseMode.HTML)
        try:
            report = await whole_history_job(service.drift, days, extra(context).get("replay_dir"),
                                             service.paper.positions())
        except SignalTrackerError as e:
            await message.edit_text(render.failure(str(e)), parse_mode=ParseMode.HTML)
            return
        await message.edit_text(render.drift_report(report), parse_mode=ParseMode.HTML)


def register(app: Application) -> None:
    app.add_handler(CommandHandler("drift", drift, filters=COMMAND_UPDATES, block=False))
