"""Admin commands: /params, /tune (typed or with an inline keyboard), /rollback, /pause, /resume.

Callback data (≤ 64 bytes): ``tk:<key>`` pick a parameter, ``tv:<key>:<value>`` preview a value,
``ta:<key>:<value>`` apply it, ``tc`` cancel. Every callback re-checks that the presser is an admin.
"""

from __future__ import annotations

import logging

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes

from bot import render
from bot.arguments import parse_tune
from bot.params_book import diff
from bot.handlers.common import COMMAND_UPDATES, callback, chat_args, command, is_admin, reply, service_of, who
from engines.errors import InvalidInput
from engines.params import PARAM_SPECS, parse_value

logger = logging.getLogger(__name__)
CHOICES_PER_PARAM = 5


def value_choices(key: str) -> list[str]:
    """A few values spread over ``key``'s range, as text."""
    spec = PARAM_SPECS[key]
    if spec.choices:
        return list(spec.choices)
    low, high = float(spec.minimum), float(spec.maximum)
    steps = [low + (high - low) * i / (CHOICES_PER_PARAM - 1) for i in range(CHOICES_PER_PARAM)]
    if spec.kind is int:
        return [str(v) for v in dict.fromkeys(int(round(s)) for s in steps)]
    return [f"{s:.4g}" for s in steps]


def _rows(buttons: list[InlineKeyboardButton], width: int) -> list[list[InlineKeyboardButton]]:
    return [buttons[i:i + width] for i in range(0, len(buttons), width)]


def keys_keyboard() -> InlineKeyboardMarkup:
    buttons = [InlineKeyboardButton(key, callback_data=f"tk:{key}") for key in PARAM_SPECS]
    return InlineKeyboardMarkup(_rows(buttons, 2) + [[InlineKeyboardButton("Cancel", callback_data="tc")]])


def values_keyboard(key: str) -> InlineKeyboardMarkup:
    buttons = [InlineKeyboardButton(v, callback_data=f"tv:{key}:{v}") for v in value_choices(key)]
    return InlineKeyboardMarkup(_rows(buttons, 3) + [[InlineKeyboardButton("Cancel", callback_data="tc")]])


def confirm_keyboard(key: str, value: object) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton("✅ Apply", callback_data=f"ta:{key}:{value}"),
                                  InlineKeyboardButton("Cancel", callback_data="tc")]])


@command("params")
async def params(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await reply(update, render.params_table(service_of(context).params_book.current()))


@command("tune")
async def tune(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    request = parse_tune(chat_args(context))
    if request.key is None:
        await reply(update, "Pick a parameter to change:", keys_keyboard())
        return
    preview = service_of(context).tune_preview({request.key: request.value})
    await reply(update, render.tune_preview(preview), confirm_keyboard(request.key, request.value))


@command("rollback")
async def rollback(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    version, found = service_of(context).rollback(who=who(update))
    logger.info("parameters rolled back to v%d by %s", version.version, who(update))
    await reply(update, render.rolled_back(version, found))


@command("pause")
async def pause(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    changed = service_of(context).set_paused(True, who=who(update))
    await reply(update, "⏸ Paused: no new positions or broadcasts until /resume." if changed else "Already paused.")


@command("resume")
async def resume(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    changed = service_of(context).set_paused(False, who=who(update))
    await reply(update, "▶️ Resumed." if changed else "Not paused.")


@callback
async def on_tune_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    if not is_admin(update, context):
        raise InvalidInput("Only admins can change parameters. Nothing was changed.")
    action, _, rest = query.data.partition(":")
    service = service_of(context)
    if action == "tc":
        await query.edit_message_text("Cancelled. Nothing was changed.")
    elif action == "tk":
        await query.edit_message_text(render.tune_pick_value(rest, service.params), parse_mode=ParseMode.HTML,
                                      reply_markup=values_keyboard(rest))
    else:
        key, _, text = rest.partition(":")
        change = {key: parse_value(key, text)}
        if action == "tv":
            await query.edit_message_text(render.tune_preview(service.tune_preview(change)),
                                          parse_mode=ParseMode.HTML, reply_markup=confirm_keyboard(key, text))
            return
        before = service.params
        version = service.tune_apply(change, who=who(update))
        logger.info("parameters v%d by %s: %s", version.version, who(update), change)
        await query.edit_message_text(render.tune_applied(version, diff(before, version.params)),
                                      parse_mode=ParseMode.HTML)


def register(app: Application) -> None:
    for name, handler in (("params", params), ("tune", tune), ("rollback", rollback), ("pause", pause),
                          ("resume", resume)):
        app.add_handler(CommandHandler(name, handler, filters=COMMAND_UPDATES))
    app.add_handler(CallbackQueryHandler(on_tune_button, pattern=r"^(tk|tv|ta):|^tc$"))
