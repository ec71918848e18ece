"""/start, /help, unknown commands, and the one global error handler."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes, MessageHandler, filters

from bot import render
from bot.handlers.common import COMMAND_UPDATES, command, is_admin, reply

logger = logging.getLogger(__name__)


@command("start")
async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await reply(update, render.welcome())


@command("help")
async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await reply(update, render.help_text(is_admin(update, context)))


async def unknown(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    name, _, addressee = update.effective_message.text.split()[0].lstrip("/").partition("@")
    if addressee and addressee.lower() != (context.bot.username or "").lower():
        return  # /command@other_bot in a group: not ours to answer
    await reply(update, render.unknown_command(name))


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log every exception a handler or job raised; tell the user something went wrong."""
    logger.error("unhandled error while handling an update", exc_info=context.error)
    if isinstance(update, Update) and update.effective_message is not None:
        try:
            await update.effective_message.reply_text("⚠️ Something went wrong on our side. It has been logged; "
                                                      "please try again in a minute.")
        except Exception:  # noqa: BLE001 - the error handler must never raise
            logger.exception("could not tell the user about the error")


def register(app: Application) -> None:
    app.add_handler(CommandHandler("start", start, filters=COMMAND_UPDATES))
    app.add_handler(CommandHandler("help", help_command, filters=COMMAND_UPDATES))


async def unknown_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A button press no handler knows (forged or from an old keyboard): answer it, so the client stops waiting."""
    await update.callback_query.answer("This button does not work (any more).", show_alert=True)


def register_fallbacks(app: Application) -> None:
    """Unknown commands and buttons: registered last so every known one is tried first."""
    app.add_handler(MessageHandler(filters.COMMAND & COMMAND_UPDATES, unknown))
    app.add_handler(CallbackQueryHandler(unknown_button))
    app.add_error_handler(on_error)
