"""Posting signals and their results to channels and subscribed chats.

A signal goes to ``BROADCAST_CHAT_IDS`` plus every subscriber whose filters match: the "explain"
chart with a short caption, then the signal JSON as a reply to it (subscribers with
``format=cornix``: one plain-text message in Cornix's layout instead). Each chat is sent to in its
own task, so one slow or failing chat never holds up the others. Delivery is at-most-once per
(signal, chat): :meth:`SignalJournal.claim` is written before the first byte goes out (see
:mod:`bot.signal_journal` for the crash window). Flood control (429 ``retry_after``) is honoured
by PTB's ``AIORateLimiter`` (with retries); a chat that is gone ("chat not found", "bot was
blocked", kicked) loses its subscription. When a position closes, the result is posted as a
reply to the signal's message in every chat that got it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import timedelta

from telegram import Bot, InputFile, ReplyParameters
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError

from bot import render
from bot.drawing import draw
from bot.paper import PaperPosition
from bot.service import BotService
from engines.models import Signal

logger = logging.getLogger(__name__)
GONE_MESSAGES = ("chat not found", "bot was blocked", "bot was kicked", "user is deactivated",
                 "have no rights to send", "not enough rights")
RETRY_LIMIT = 2


def chat_is_gone(error: TelegramError) -> bool:
    return isinstance(error, (Forbidden, BadRequest)) and any(m in error.message.lower() for m in GONE_MESSAGES)


class Broadcaster:
    """Sends signals and results; see the module docstring."""

    def __init__(self, bot: Bot, service: BotService, channels: tuple[int | str, ...]) -> None:
        self.bot, self.service, self.channels = bot, service, channels
        self._inflight: dict[str, asyncio.Task[dict[int | str, str]]] = {}
        self._results: set[asyncio.Task[None]] = set()

    def start(self, signal: Signal, chart: Callable[[], bytes]) -> asyncio.Task[dict[int | str, str]]:
        """Broadcast in the background (flood control may hold messages for minutes); returns the task."""
        task = asyncio.get_running_loop().create_task(self.broadcast(signal, chart), name=f"broadcast {signal.key}")
        self._inflight[signal.key] = task
        task.add_done_callback(lambda done: self._finished(signal.key, done))
        return task

    def _finished(self, key: str, task: asyncio.Task[dict[int | str, str]]) -> None:
        self._inflight.pop(key, None)
        if not task.cancelled() and task.exception() is not None:
            logger.error("broadcast of %s failed", key, exc_info=task.exception())

    def start_result(self, position: PaperPosition) -> asyncio.Task[None]:
        """Announce a closed position in the background; returns the task."""
        task = asyncio.get_running_loop().create_task(self.announce_close(position), name=f"result {position.key}")
        self._results.add(task)
        task.add_done_callback(self._results.discard)
        return task

    @property
    def queued(self) -> int:
        return len(self._inflight) + len(self._results)

    async def drain(self, timeout: float | None = None) -> None:
        """Wait for every background send (tests; shutdown with a ``timeout``, then cancel the rest)."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while pending := [*self._inflight.values(), *self._results]:
            left = None if deadline is None else deadline - loop.time()
            if left is not None and left <= 0:
                logger.warning("shutting down with %d broadcast(s) unsent (flood control)", len(pending))
                for task in pending:
                    task.cancel()
                await asyncio.gather(*pending, return_exceptions=True)
                return
            await asyncio.wait(pending, timeout=left)

    def targets(self, signal: Signal) -> list[int | str]:
        chats: list[int | str] = list(self.channels)
        chats += [s.chat_id for s in self.service.subscriptions.matching(signal) if s.chat_id not in chats]
        return chats

    async def broadcast(self, signal: Signal, chart: Callable[[], bytes]) -> dict[int | str, str]:
        """Send ``signal`` to every target chat once; returns chat -> outcome."""
        chats = [c for c in self.targets(signal)
                 if self.service.journal.claim(signal.key, c, at=self.service.clock())]
        if not chats:
            return {}
        png = await draw(chart)
        outcomes = await asyncio.gather(*(self._deliver(signal, chat, png) for chat in chats))
        return dict(zip(chats, outcomes))

    async def _deliver(self, signal: Signal, chat: int | str, png: bytes) -> str:
        for attempt in range(RETRY_LIMIT + 1):
            try:
                if await self._sent_as_cornix(signal, chat):
                    return "sent"
                photo = await self.bot.send_photo(chat, InputFile(png, filename=f"{signal.pair}_signal.png"),
                                                  caption=render.signal_caption(signal), parse_mode=ParseMode.HTML)
                self.service.journal.confirm(signal.key, chat, photo.message_id)
                await self.bot.send_message(chat, render.signal_json(signal), parse_mode=ParseMode.HTML,
                                            reply_parameters=ReplyParameters(photo.message_id,
                                                                             allow_sending_without_reply=True))
                return "sent"
            except RetryAfter as e:  # the rate limiter's own retries were used up
                logger.warning("flood control for chat %s: waiting %s", chat, e.retry_after)
                wait = e.retry_after  # seconds, or a timedelta once PTB_TIMEDELTA is on
                await asyncio.sleep(wait.total_seconds() if isinstance(wait, timedelta) else float(wait))
            except TelegramError as e:
                return self._failed(signal, chat, e)
        self.service.journal.fail(signal.key, chat, "flood control")
        return "failed: flood control"

    async def _sent_as_cornix(self, signal: Signal, chat: int | str) -> bool:
        """A chat subscribed with ``format=cornix`` gets one plain-text message its copy-trading bot parses."""
        sub = self.service.subscriptions.get(chat) if isinstance(chat, int) else None
        if sub is None or sub.format != "cornix":
            return False
        message = await self.bot.send_message(chat, render.signal_cornix(signal))
        self.service.journal.confirm(signal.key, chat, message.message_id)
        return True

    def _failed(self, signal: Signal, chat: int | str, error: TelegramError) -> str:
        self.service.journal.fail(signal.key, chat, error.message)
        if chat_is_gone(error) and isinstance(chat, int):
            self.service.unsubscribe(chat)
            logger.warning("chat %s is gone (%s): subscription removed", chat, error.message)
            return "removed"
        logger.error("could not send %s to chat %s: %s", signal.key, chat, error.message)
        return f"failed: {error.message}"

    async def announce_close(self, position: PaperPosition) -> None:
        """Post the result as a reply to the original signal message in each chat that got it."""
        text = render.position_closed(position)
        if position.key in self._inflight:  # the signal itself is still on its way
            await asyncio.gather(self._inflight[position.key], return_exceptions=True)
        deliveries = self.service.journal.deliveries(position.key)
        await asyncio.gather(*(self._reply(d.chat_id, d.message_id, text) for d in deliveries))

    async def _reply(self, chat: int | str, message_id: int | None, text: str) -> None:
        try:
            reply_to = ReplyParameters(message_id, allow_sending_without_reply=True) if message_id else None
            await self.bot.send_message(chat, text, parse_mode=ParseMode.HTML, reply_parameters=reply_to)
        except TelegramError as e:
            if chat_is_gone(e) and isinstance(chat, int):
                self.service.unsubscribe(chat)
            logger.error("could not post a result to chat %s: %s", chat, e.message)
