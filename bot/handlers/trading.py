"""Trading commands: /backtest (a child process, edited progress message), /positions (+chart button), /close."""

from __future__ import annotations

import asyncio
import logging
import time
from html import escape
from pathlib import Path

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Message, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes

from bot import render
from bot.drawing import draw, draw_on_request
from bot.arguments import parse_backtest, parse_pair_only
from bot.backtest_queue import BacktestQueue, place_text
from bot.backtest_child import run_in_child
from bot.backtest_runner import ExchangeCache, backtest_job
from bot.handlers.common import COMMAND_UPDATES, callback, chat_args, command, extra, reply, service_of, who
from engines.errors import SignalTrackerError

logger = logging.getLogger(__name__)
PROGRESS_EVERY_SECONDS = 1.0


class ProgressMessage:
    """Edits one message with the latest progress line, at most once a second, from any thread."""

    def __init__(self, message: Message, loop: asyncio.AbstractEventLoop, title: str) -> None:
        self._message, self._loop, self._title = message, loop, title
        self._last = 0.0
        self._tasks: set[asyncio.Future[object]] = set()

    def __call__(self, line: str) -> None:
        now = time.monotonic()
        if now - self._last < PROGRESS_EVERY_SECONDS:
            return
        self._last = now
        future = asyncio.run_coroutine_threadsafe(self._edit(line), self._loop)
        self._tasks.add(future)
        future.add_done_callback(self._tasks.discard)

    async def _edit(self, line: str) -> None:
        try:
            await self._message.edit_text(f"⏳ {self._title}\n{escape(line)}", parse_mode=ParseMode.HTML)
        except BadRequest as e:  # "message is not modified" and friends: progress is best effort
            logger.debug("progress edit skipped: %s", e)


def exchange_cache(context: ContextTypes.DEFAULT_TYPE) -> ExchangeCache | None:
    """The exchange cache live backtests read (``MARKET_SOURCE=bybit`` and not fallen back to a replay)."""
    settings = extra(context).get("settings")
    if settings is None or settings.market_source != "bybit" or extra(context).get("replay_dir") is not None:
        return None
    return ExchangeCache("bybit", settings.bybit_rest_url, Path(settings.cache_dir) / "bybit")


@command("backtest")
async def backtest(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    request = parse_backtest(chat_args(context))
    service = service_of(context)
    params = service.params.with_changes(**request.changes)
    for pair in request.pairs:
        service.require_pair(pair)
    queue: BacktestQueue = extra(context).setdefault("backtest_queue", BacktestQueue())
    title = f"Backtest {request.days}d {', '.join(request.pairs) or 'all pairs'}"
    ahead = queue.ahead
    message = await reply(update, f"⏳ {escape(title)}\n{place_text(ahead) if ahead else 'starting…'}")
    async with queue.turn():
        if ahead:
            await message.edit_text(f"⏳ {escape(title)}\nstarting…", parse_mode=ParseMode.HTML)
        progress = ProgressMessage(message, asyncio.get_running_loop(), title)
        try:
            job = backtest_job(request, feed=service.feed, params=params, replay_dir=extra(context)["replay_dir"],
                               exchange=exchange_cache(context))
            result = await asyncio.to_thread(run_in_child, job, progress)  # the bot keeps its live size
        except SignalTrackerError as e:
            await message.edit_text(render.failure(str(e)), parse_mode=ParseMode.HTML)
            return
    await message.edit_text(render.backtest_done(title, result.report), parse_mode=ParseMode.HTML)
    await reply(update, render.preformatted(result.report.to_text()))
    chat = update.effective_message
    import charts  # matplotlib on the first chart only

    png = await draw(charts.render_equity_chart, result.report.equity, title=title[:90],
                     band=result.report.random_band)
    await chat.reply_photo(InputFile(png, filename="equity.png"), caption=escape(title))
    await chat.reply_document(InputFile(result.trades_csv, filename="trades.csv"),
                              caption=f"{result.report.metrics.trades} trades")


def _chart_buttons(keys: list[tuple[str, str]]) -> InlineKeyboardMarkup | None:
    if not keys:
        return None
    return InlineKeyboardMarkup([[InlineKeyboardButton(f"📈 {label}", callback_data=f"pc:{key}")]
                                 for label, key in keys])


@command("positions")
async def positions(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    service = service_of(context)
    views = service.positions()
    keys = [(f"{v.position.signal.pair} {v.position.signal.side}", v.position.key) for v in views]
    await reply(update, render.positions(views, service.paper.equity), _chart_buttons(keys))


@callback
async def on_position_chart(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    key = update.callback_query.data.removeprefix("pc:")
    png = await draw_on_request(service_of(context).position_chart, key)
    await update.effective_message.reply_photo(InputFile(png, filename="position.png"),
                                               caption=escape(key.replace(":", " ")))


@command("close")
async def close(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    request = parse_pair_only("close", chat_args(context))
    position = await asyncio.to_thread(service_of(context).close_position, request.pair)
    logger.info("paper position %s closed by %s", position.key, who(update))
    await reply(update, render.position_closed(position))
    extra(context)["broadcaster"].start_result(position)


def register(app: Application) -> None:
    app.add_handler(CommandHandler("backtest", backtest, filters=COMMAND_UPDATES, block=False))
    for name, handler in (("positions", positions), ("close", close)):
        app.add_handler(CommandHandler(name, handler, filters=COMMAND_UPDATES))
    app.add_handler(CallbackQueryHandler(on_position_chart, pattern=r"^pc:", block=False))
