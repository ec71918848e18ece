"""/subscribe and /unsubscribe: per-chat broadcast filters (private chats, groups and channels)."""

from __future__ import annotations

import asyncio

from telegram import Update
from telegram.ext import Application, CommandHandler, ContextTypes

from bot import render
from bot.arguments import parse_subscribe
from bot.handlers.common import COMMAND_UPDATES, chat_args, command, reply, service_of
from bot.subscriptions import Subscription


@command("subscribe")
async def subscribe(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    request = parse_subscribe(chat_args(context))
    sub = Subscription(chat_id=update.effective_chat.id, pairs=request.pairs, engine=request.engine,
                       min_confidence=request.min_confidence, format=request.format)
    await reply(update, render.subscribed(sub, await asyncio.to_thread(service_of(context).subscribe, sub)))


@command("unsubscribe")
async def unsubscribe(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    removed = await asyncio.to_thread(service_of(context).unsubscribe, update.effective_chat.id)
    await reply(update, "🔕 Unsubscribed: no more signals here." if removed else
                "This chat was not subscribed. /subscribe to get signals.")


def register(app: Application) -> None:
    app.add_handler(CommandHandler("subscribe", subscribe, filters=COMMAND_UPDATES))
    app.add_handler(CommandHandler("unsubscribe", unsubscribe, filters=COMMAND_UPDATES))
