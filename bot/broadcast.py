"""Posting signals and their results to channels and subscribed chats, effectively once.

A signal goes to ``BROADCAST_CHAT_IDS`` plus every subscriber whose filters match: the "explain"
chart with a short caption, then the signal JSON as a reply to it (subscribers with
``format=cornix``: one plain-text message in Cornix's layout instead). The chats are chosen at the
admission and queued in the same write (:mod:`bot.signal_journal` describes the states), so what
is queued survives a crash or a stop and is sent by :meth:`Broadcaster.resume` at the next start.
Each chat is sent to in its own task, so one slow or failing chat never holds up the others.

Each message is sent and retried on its own: flood control (429 ``retry_after``) is honoured by
PTB's ``AIORateLimiter``, then by up to ``RETRY_LIMIT`` waits here, for that message only (a
``RetryAfter`` on the JSON reply never sends the photo again). A chat that is gone ("chat not
found", "bot was blocked", kicked) loses its subscription. When a position closes, the result is
posted as a reply to the signal's photo in every chat that got it; once every result of a signal is
posted, its delivery records are pruned (the journal keeps the signal and its outcome).
Journal writes run in worker threads, never on the event loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from telegram import Bot, InputFile, Message, ReplyParameters
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError

from bot import render
from bot.drawing import draw
from bot.paper import PaperPosition
from bot.service import BotService
from bot.signal_journal import Delivery
from engines.errors import StorageError
from engines.models import Signal

logger = logging.getLogger(__name__)
GONE_MESSAGES = ("chat not found", "bot was blocked", "bot was kicked", "user is deactivated",
                 "have no rights to send", "not enough rights")
RETRY_LIMIT = 2


def chat_is_gone(error: TelegramError) -> bool:
    return isinstance(error, (Forbidden, BadRequest)) and any(m in error.message.lower() for m in GONE_MESSAGES)


def _seconds(wait: float | timedelta) -> float:
    return wait.total_seconds() if isinstance(wait, timedelta) else float(wait)


class Broadcaster:
    """Sends signals and results; see the module docstring."""

    def __init__(self, bot: Bot, service: BotService, channels: tuple[int | str, ...]) -> None:
        self.bot, self.service, self.channels = bot, service, channels
        self._inflight: dict[str, asyncio.Task[dict[int | str, str]]] = {}
        self._results: set[asyncio.Task[None]] = set()
        service.delivery_targets = self.targets  # the admission queues its deliveries to these chats

    # ---- tasks -------------------------------------------------------------------------------
    def start(self, signal: Signal, chart: Callable[[], bytes]) -> asyncio.Task[dict[int | str, str]]:
        """Send ``signal``'s queued deliveries in the background; returns the task."""
        task = asyncio.get_running_loop().create_task(self.broadcast(signal, chart), name=f"broadcast {signal.key}")
        self._inflight[signal.key] = task
        task.add_done_callback(lambda done: self._finished(signal.key, done))
        return task

    def _finished(self, key: str, task: asyncio.Task[dict[int | str, str]]) -> None:
        if self._inflight.get(key) is task:
            self._inflight.pop(key)
        if not task.cancelled() and task.exception() is not None:
            logger.error("broadcast of %s failed", key, exc_info=task.exception())

    def start_result(self, position: PaperPosition) -> asyncio.Task[None]:
        """Post a closed position's queued results in the background; returns the task."""
        return self._start_result(position.key)

    def _start_result(self, key: str) -> asyncio.Task[None]:
        running = next((t for t in self._results if t.get_name() == f"result {key}"), None)
        if running is not None:  # one sender per signal's results, or a result could go out twice
            return running
        task = asyncio.get_running_loop().create_task(self.announce_close(key), name=f"result {key}")
        self._results.add(task)
        task.add_done_callback(self._results.discard)
        return task

    def resume(self) -> int:
        """At start-up: send everything the queue still holds (deliveries first, then results)."""
        from bot.jobs import explain_chart  # the jobs module imports this one

        unfinished = self.service.journal.unfinished()
        for key in dict.fromkeys(d.signal_key for d in unfinished):
            entry = self.service.journal.get(key)
            if entry is None:
                logger.error("queued delivery of unknown signal %s dropped", key)
                continue
            timeframe = "15m" if entry.signal.type == "SCALP" else "1h"
            signal = entry.signal
            logger.info("resuming the delivery of %s", key)
            self.start(signal, lambda signal=signal, tf=timeframe: explain_chart(self.service, signal, (), tf))
        results = list(dict.fromkeys(key for key, _ in self.service.journal.unfinished_results()))
        for key in results:
            self._start_result(key)
        return len(unfinished) + len(results)

    @property
    def queued(self) -> int:
        return len(self._inflight) + len(self._results)

    async def drain(self, timeout: float | None = None) -> None:
        """Wait for every background send (tests; shutdown with a ``timeout``: the rest stays queued)."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while pending := [*self._inflight.values(), *self._results]:
            left = None if deadline is None else deadline - loop.time()
            if left is not None and left <= 0:
                logger.warning("stopping with %d broadcast(s) unsent (flood control); they stay queued for the "
                               "next start", len(pending))
                for task in pending:
                    task.cancel()
                await asyncio.gather(*pending, return_exceptions=True)
                return
            await asyncio.wait(pending, timeout=left)

    # ---- signals -----------------------------------------------------------------------------
    def targets(self, signal: Signal) -> list[int | str]:
        chats: list[int | str] = list(self.channels)
        chats += [s.chat_id for s in self.service.subscriptions.matching(signal) if s.chat_id not in chats]
        return chats

    async def broadcast(self, signal: Signal, chart: Callable[[], bytes]) -> dict[int | str, str]:
        """Send ``signal`` to every chat it is queued for; returns chat -> outcome."""
        unfinished = await asyncio.to_thread(self.service.journal.unfinished)
        pending = [d for d in unfinished if d.signal_key == signal.key]
        if not pending:
            return {}
        needs_photo = any(not self._wants_cornix(d.chat_id) and _photo_pending(d) for d in pending)
        png = await draw(chart) if needs_photo else b""  # cornix text and photos already sent need no chart
        outcomes = await asyncio.gather(*(self._deliver(signal, d, png) for d in pending))
        return {d.chat_id: outcome for d, outcome in zip(pending, outcomes)}

    def _late_fill_from(self, signal: Signal) -> datetime | None:
        position = self.service.paper.get(signal.key)
        return None if position is None else position.fills_from

    async def _deliver(self, signal: Signal, delivery: Delivery, png: bytes) -> str:
        chat, photo_id = delivery.chat_id, delivery.message_id
        if self._wants_cornix(chat):
            return await self._deliver_cornix(signal, chat)
        if _photo_pending(delivery):
            await self._mark(signal.key, chat, "sending")
            caption = render.signal_caption(signal, self._late_fill_from(signal))
            photo = await self._attempt(chat, lambda: self.bot.send_photo(
                chat, InputFile(png, filename=f"{signal.pair}_signal.png"), caption=caption, parse_mode=ParseMode.HTML))
            if isinstance(photo, TelegramError):
                return await self._failed(signal, chat, photo)
            photo_id = photo.message_id
            await self._mark(signal.key, chat, "photo_sent", message_id=photo_id)
        data = await self._attempt(chat, lambda: self.bot.send_message(
            chat, render.signal_json(signal), parse_mode=ParseMode.HTML,
            reply_parameters=ReplyParameters(photo_id, allow_sending_without_reply=True)))
        if isinstance(data, TelegramError):  # the photo is out: the signal counts as delivered
            logger.error("the JSON of %s did not reach chat %s: %s", signal.key, chat, data.message)
            await self._mark(signal.key, chat, "sent", json_error=data.message)
            return f"sent without JSON: {data.message}"
        await self._mark(signal.key, chat, "sent", json_id=data.message_id)
        return "sent"

    def _wants_cornix(self, chat: int | str) -> bool:
        sub = self.service.subscriptions.get(chat) if isinstance(chat, int) else None
        return sub is not None and sub.format == "cornix"

    async def _deliver_cornix(self, signal: Signal, chat: int | str) -> str:
        """One plain-text message its copy-trading bot parses; results reply to it."""
        await self._mark(signal.key, chat, "sending")
        sent = await self._attempt(chat, lambda: self.bot.send_message(chat, render.signal_cornix(signal)))
        if isinstance(sent, TelegramError):
            return await self._failed(signal, chat, sent)
        await self._mark(signal.key, chat, "sent", message_id=sent.message_id)
        return "sent"

    async def _attempt(self, chat: int | str, send: Callable[[], Awaitable[Message]]) -> Message | TelegramError:
        """One message: sent, or the error that stopped it (flood control waited out ``RETRY_LIMIT`` times)."""
        for attempt in range(RETRY_LIMIT + 1):
            try:
                return await send()
            except RetryAfter as e:  # the rate limiter's own retries were used up
                if attempt == RETRY_LIMIT:
                    return e
                logger.warning("flood control for chat %s: waiting %s", chat, e.retry_after)
                await asyncio.sleep(_seconds(e.retry_after))
            except TelegramError as e:
                return e
        raise AssertionError("unreachable")

    async def _mark(self, signal_key: str, chat: int | str, state: str, *, result: bool = False,
                    **fields: Any) -> None:
        """Record a delivery's (or with ``result`` a result's) new state, in a worker thread."""
        mark = self.service.journal.mark_result if result else self.service.journal.mark
        try:
            await asyncio.to_thread(mark, signal_key, chat, state, **fields)
        except StorageError as e:  # the message went out (or not); only the record of it is missing
            logger.error("%s of %s to chat %s (%s) not recorded: %s", "result" if result else "delivery",
                         signal_key, chat, state, e)

    async def _failed(self, signal: Signal, chat: int | str, error: TelegramError) -> str:
        await self._mark(signal.key, chat, "failed", reason=error.message)
        if chat_is_gone(error) and isinstance(chat, int):
            await asyncio.to_thread(self.service.unsubscribe, chat)
            logger.warning("chat %s is gone (%s): subscription removed", chat, error.message)
            return "removed"
        logger.error("could not send %s to chat %s: %s", signal.key, chat, error.message)
        return f"failed: {error.message}"

    # ---- results -----------------------------------------------------------------------------
    async def announce_close(self, key: str) -> None:
        """Post the result as a reply to the signal's photo in each chat it is queued for."""
        if key in self._inflight:  # the signal itself is still on its way
            await asyncio.gather(self._inflight[key], return_exceptions=True)
        position = self.service.paper.get(key)
        journal = self.service.journal
        chats = [chat for _, chat in await asyncio.to_thread(journal.unfinished_results, key)]
        if position is None or position.status != "closed":
            logger.error("result of %s queued but its position is not closed; dropped", key)
            return
        text = render.position_closed(position)
        photos = {d.chat_id: d.message_id for d in await asyncio.to_thread(journal.deliveries, key)}
        await asyncio.gather(*(self._reply(key, chat, photos.get(chat), text) for chat in chats))
        try:
            await asyncio.to_thread(journal.prune, key)
        except StorageError as e:
            logger.warning("delivery records of %s not pruned: %s", key, e)

    async def _reply(self, key: str, chat: int, message_id: int | None, text: str) -> None:
        if message_id is None:  # the signal never reached this chat: a result alone would puzzle it
            await self._mark(key, chat, "skipped", result=True)
            return
        await self._mark(key, chat, "sending", result=True)
        sent = await self._attempt(chat, lambda: self.bot.send_message(
            chat, text, parse_mode=ParseMode.HTML,
            reply_parameters=ReplyParameters(message_id, allow_sending_without_reply=True)))
        if isinstance(sent, TelegramError):
            if chat_is_gone(sent) and isinstance(chat, int):
                await asyncio.to_thread(self.service.unsubscribe, chat)
            logger.error("could not post a result to chat %s: %s", chat, sent.message)
            await self._mark(key, chat, "failed", result=True, reason=sent.message)
            return
        await self._mark(key, chat, "sent", result=True, message_id=sent.message_id)


def _photo_pending(delivery: Delivery) -> bool:
    """The chart of ``delivery`` has not gone out yet (or its message id was never recorded)."""
    return delivery.state != "photo_sent" or delivery.message_id is None
