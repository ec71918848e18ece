"""Market commands: /levels, /signal, /signals, /pairs, /status, /stats."""

from __future__ import annotations

import asyncio
from html import escape

from telegram import InputFile, Update
from telegram.constants import ParseMode
from telegram.ext import Application, CommandHandler, ContextTypes

from bot import render
from bot.drawing import draw_on_request
from bot.arguments import parse_levels, parse_pair_only, parse_signals
from bot.handlers.common import COMMAND_UPDATES, chat_args, command, reply, service_of


@command("levels")
async def levels(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    request = parse_levels(chat_args(context))
    view = await draw_on_request(service_of(context).levels, request.pair, request.timeframe)
    await update.effective_message.reply_photo(
        InputFile(view.chart, filename=f"{view.pair}_{view.timeframe}_levels.png"),
        caption=render.levels_caption(view), parse_mode=ParseMode.HTML)
    await reply(update, render.levels_json(view))


@command("signal")
async def signal(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    request = parse_pair_only("signal", chat_args(context))
    view = await asyncio.to_thread(service_of(context).signal_now, request.pair)
    await reply(update, render.signal_view(view))


@command("signals")
async def signals(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    request = parse_signals(chat_args(context))
    await reply(update, render.recent_signals(service_of(context).recent_signals(request.count)))


@command("pairs")
async def pairs(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    service = service_of(context)
    tracked = service.pairs()
    if not service.feed.progress().done:  # during start-up: say how far it got, not "0 tracked pairs"
        chosen = f"\nchosen: {', '.join(tracked)}" if tracked else ""
        await reply(update, f"⏳ {escape(service.starting_note())}{chosen}")
        return
    await reply(update, f"<b>{len(tracked)} tracked pairs</b>\n" + ", ".join(tracked))


@command("status")
async def status(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await reply(update, render.status(service_of(context).status()))


@command("stats")
async def stats(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await reply(update, render.scorecard(service_of(context).scorecard()))


def register(app: Application) -> None:
    """/levels and /signal take a while (a chart, the engines): other updates do not wait for them."""
    for name, handler in (("levels", levels), ("signal", signal)):
        app.add_handler(CommandHandler(name, handler, filters=COMMAND_UPDATES, block=False))
    for name, handler in (("signals", signals), ("pairs", pairs), ("status", status), ("stats", stats)):
        app.add_handler(CommandHandler(name, handler, filters=COMMAND_UPDATES))
