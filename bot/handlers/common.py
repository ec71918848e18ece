"""What every handler shares: the service, admin checks, replies, and turning errors into usage lines."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from telegram import InlineKeyboardMarkup, Message, Update
from telegram.constants import ParseMode
from telegram.ext import ContextTypes, filters

from bot import render
from bot.arguments import UsageError
from bot.commands import COMMANDS
from bot.memory import give_back_freed_memory
from bot.service import BotService
from engines.errors import SignalTrackerError

logger = logging.getLogger(__name__)
Handler = Callable[[Update, ContextTypes.DEFAULT_TYPE], Awaitable[None]]
COMMAND_UPDATES = filters.UpdateType.MESSAGE | filters.UpdateType.CHANNEL_POST
T = TypeVar("T")


def service_of(context: ContextTypes.DEFAULT_TYPE) -> BotService:
    return context.application.bot_data["service"]


def is_admin(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    user = update.effective_user
    return user is not None and user.id in context.application.bot_data["admin_ids"]


def who(update: Update) -> str:
    user = update.effective_user
    if user is None:
        return "unknown"
    return f"{user.id}" + (f" (@{user.username})" if user.username else f" ({user.first_name})")


async def reply(update: Update, text: str, markup: InlineKeyboardMarkup | None = None) -> Message:
    return await update.effective_message.reply_text(text, parse_mode=ParseMode.HTML, reply_markup=markup,
                                                     disable_web_page_preview=True)


def command(name: str) -> Callable[[Handler], Handler]:
    """Wrap a command handler: refuse non-admins for admin commands, turn project errors into replies."""
    spec = COMMANDS[name]

    def wrap(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def run(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
            if spec.admin and not is_admin(update, context):
                logger.warning("refused /%s for %s", name, who(update))
                await reply(update, render.refused(name))
                return
            try:
                await handler(update, context)
            except UsageError as e:
                await reply(update, render.usage_error(e.problem, COMMANDS[e.command]))
            except SignalTrackerError as e:
                await reply(update, render.failure(str(e)))
        return run
    return wrap


def callback(handler: Callable[..., Awaitable[None]]) -> Handler:
    """Wrap a callback-query handler: always answer the query; project errors become an alert."""
    @functools.wraps(handler)
    async def run(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        try:
            await handler(update, context)
        except SignalTrackerError as e:
            await query.answer(str(e)[:190], show_alert=True)
            return
        await query.answer()
    return run


def chat_args(context: ContextTypes.DEFAULT_TYPE) -> list[str]:
    return list(context.args or [])


def extra(context: ContextTypes.DEFAULT_TYPE) -> dict[str, Any]:
    return context.application.bot_data


async def whole_history_job(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a backtest, /drift replay or /tune preview in a worker thread; afterwards hand the memory it freed
    back to the system (:func:`bot.memory.give_back_freed_memory`), whether it succeeded or not."""
    try:
        return await asyncio.to_thread(function, *args, **kwargs)
    finally:
        await asyncio.to_thread(give_back_freed_memory)
