"""Admin commands: /params, /tune (typed or with an inline keyboard), /rollback, /pause, /resume.

Callback data (≤ 64 bytes): ``tk:<key>`` pick a parameter, ``tv:<key>:<value>`` preview a value,
``ta:<key>:<value>`` apply it, ``tc`` cancel. Every callback re-checks that the presser is an admin.

The confirmation shows the change at once with Apply/Cancel and a "computing…" line, which a
background task (the engines in a worker thread) replaces with old vs new parameters on the bot's
last two weeks. Apply works at any moment; the audit log keeps what the message showed then
(``shown``: the numbers, or ``computing``, or why they were unavailable).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, TelegramError
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes

from bot import render
from bot.arguments import parse_tune
from bot.params_book import diff
from bot.handlers.common import (COMMAND_UPDATES, callback, chat_args, command, extra, is_admin, reply, service_of,
                                 whole_history_job, who)
from bot.views import TunePreview
from engines.errors import InvalidInput, SignalTrackerError
from engines.params import PARAM_SPECS, param_spec, parse_value

logger = logging.getLogger(__name__)
CHOICES_PER_PARAM = 5
KEEP_PREVIEWS = 50


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
        context.application.create_task(_warm_previews(context), name="tune preview warm-up")
        return
    preview = service_of(context).tune_preview({request.key: request.value})
    markup = confirm_keyboard(request.key, request.value)
    message = await reply(update, render.tune_preview_effect(preview), markup)
    _start_impact(context, (message.chat_id, message.message_id), preview, {request.key: request.value},
                  lambda text: message.edit_text(text, parse_mode=ParseMode.HTML, reply_markup=markup))


@command("rollback")
async def rollback(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    version, found = await asyncio.to_thread(service_of(context).rollback, who=who(update))
    logger.info("parameters rolled back to v%d by %s", version.version, who(update))
    await reply(update, render.rolled_back(version, found))


@command("pause")
async def pause(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    changed = await asyncio.to_thread(service_of(context).set_paused, True, who=who(update))
    await reply(update, "⏸ Paused: no new positions or broadcasts until /resume." if changed else "Already paused.")


@command("resume")
async def resume(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    changed = await asyncio.to_thread(service_of(context).set_paused, False, who=who(update))
    await reply(update, "▶️ Resumed." if changed else "Not paused.")


async def _show(update: Update, text: str, markup: InlineKeyboardMarkup | None = None, *,
                gone: str = "This message can no longer be changed; send /tune again.") -> None:
    """Put ``text`` in the message whose button was pressed; pressing the same button twice is fine."""
    try:
        await update.callback_query.edit_message_text(text, parse_mode=ParseMode.HTML, reply_markup=markup)
    except BadRequest as e:
        if "not modified" in e.message:
            return
        logger.info("could not edit the /tune message: %s", e.message)
        raise InvalidInput(gone) from e


@callback
async def on_tune_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    if not is_admin(update, context):
        raise InvalidInput("Only admins can change parameters. Nothing was changed.")
    action, _, rest = query.data.partition(":")
    service = service_of(context)
    if action == "tc":
        _shown(context).pop(_message_key(update), None)
        await _show(update, "Cancelled. Nothing was changed.")
    elif action == "tk":
        param_spec(rest)
        await _show(update, render.tune_pick_value(rest, service.params), values_keyboard(rest))
    else:
        key, _, text = rest.partition(":")
        change = {key: parse_value(key, text)}
        if action == "tv":
            preview, markup = service.tune_preview(change), confirm_keyboard(key, text)
            await _show(update, render.tune_preview_effect(preview), markup)
            _start_impact(context, _message_key(update), preview, change,
                          lambda shown: query.edit_message_text(shown, parse_mode=ParseMode.HTML, reply_markup=markup))
            return
        before, message = service.params, _message_key(update)
        version = await asyncio.to_thread(service.tune_apply, change, who=who(update),
                                          shown=_shown(context).get(message))
        _shown(context).pop(message, None)
        logger.info("parameters v%d by %s: %s", version.version, who(update), change)
        await _show(update, render.tune_applied(version, diff(before, version.params)),
                    gone=f"Parameters v{version.version} are in force; this message could not be updated.")


MessageKey = tuple[int, int]


def _shown(context: ContextTypes.DEFAULT_TYPE) -> dict[MessageKey, dict[str, Any]]:
    """What each open /tune confirmation shows now, by (chat id, message id)."""
    return extra(context).setdefault("tune_shown", {})


def _message_key(update: Update) -> MessageKey:
    message = update.callback_query.message
    return message.chat.id, message.message_id


def _start_impact(context: ContextTypes.DEFAULT_TYPE, key: MessageKey, preview: TunePreview,
                  change: dict[str, Any], edit: Callable[[str], Awaitable[object]]) -> None:
    """Show "computing…" now; a background task replaces it with the numbers unless the message moved on."""
    shown = _shown(context)
    shown[key] = {"state": "computing"}
    for stale in list(shown)[:-KEEP_PREVIEWS]:  # confirmations nobody answered
        del shown[stale]
    context.application.create_task(_show_impact(context, key, preview, change, edit), name=f"tune preview {key}")


async def _warm_previews(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Compute the current parameters' side of the preview while the admin picks a value."""
    service = service_of(context)
    lock: asyncio.Lock = extra(context).setdefault("tune_preview_lock", asyncio.Lock())
    try:
        async with lock:
            await whole_history_job(service.impact_previews.warm, service.feed, extra(context).get("replay_dir"),
                                    service.params)
    except SignalTrackerError as e:  # the preview itself will say why
        logger.info("tune preview warm-up skipped: %s", e)
    except Exception:  # noqa: BLE001 - a warm-up must never take anything down
        logger.exception("tune preview warm-up failed")


async def _show_impact(context: ContextTypes.DEFAULT_TYPE, key: MessageKey, preview: TunePreview,
                       change: dict[str, Any], edit: Callable[[str], Awaitable[object]]) -> None:
    service = service_of(context)
    lock: asyncio.Lock = extra(context).setdefault("tune_preview_lock", asyncio.Lock())
    try:
        async with lock:
            impact = await whole_history_job(service.tune_impact, change, extra(context).get("replay_dir"))
        shown, text = {"state": "shown", **impact.as_json()}, render.tune_preview_effect(preview, impact)
    except SignalTrackerError as e:
        shown, text = {"state": "unavailable", "reason": str(e)}, render.tune_preview_effect(preview, problem=str(e))
    except Exception:  # noqa: BLE001 - a failed preview must not take the confirmation down
        logger.exception("tune preview failed")
        shown, text = {"state": "unavailable", "reason": "internal error"}, \
            render.tune_preview_effect(preview, problem="internal error (logged)")
    if _shown(context).get(key) != {"state": "computing"}:
        return  # applied or cancelled meanwhile: leave that message alone
    _shown(context)[key] = shown
    try:
        await edit(text)
    except TelegramError as e:  # e.g. the message was deleted: the preview is best effort
        logger.warning("could not show the tune preview in %s: %s", key, e)


def register(app: Application) -> None:
    for name, handler in (("params", params), ("tune", tune), ("rollback", rollback), ("pause", pause),
                          ("resume", resume)):
        app.add_handler(CommandHandler(name, handler, filters=COMMAND_UPDATES))
    app.add_handler(CallbackQueryHandler(on_tune_button, pattern=r"^(tk|tv|ta):|^tc$"))
