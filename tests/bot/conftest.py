"""A running bot for end-to-end tests: the real Application, Updater, handlers and JobQueue,
talking to :class:`bot.local_api.LocalBotApi` at PTB's request seam, on a manual-clock replay of
real Binance candles (SOLUSDT, ETHUSDT, May 2025)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from telegram.ext import Application

from bot.app import build_application, running
from bot.jobs import MarketJobs
from bot.local_api import BotMessage, LocalBotApi
from bot.service import BotService
from bot.settings import load_settings
from market.replay import ReplayFeed
from tests.conftest import FUNDING, M1_2025

ADMIN, TRADER, CHANNEL = 1001, 2002, -1001234567890
TOKEN = "123456789:AAHsecretTokenForTests_xyz-123"
PAIRS = ("ETHUSDT", "SOLUSDT")


@pytest.fixture(scope="session")
def replay_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two pairs of real 1m candles and funding, linked into a folder of their own."""
    folder = tmp_path_factory.mktemp("replay")
    for pair in PAIRS:
        (folder / f"{pair}_1m.parquet").symlink_to(M1_2025 / f"{pair}_1m.parquet")
        (folder / f"{pair}_funding.parquet").symlink_to(FUNDING / f"{pair}_funding.parquet")
    return folder


@dataclass
class Harness:
    api: LocalBotApi
    app: Application
    feed: ReplayFeed

    @property
    def service(self) -> BotService:
        return self.app.bot_data["service"]

    @property
    def jobs(self) -> MarketJobs:
        return self.app.bot_data["jobs"]

    def in_chat(self, chat_id: int) -> list[BotMessage]:
        return [m for m in self.api.messages if m.chat_id == chat_id]

    async def until(self, condition: Callable[[], bool], timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise TimeoutError("condition not met; sent: " + repr([m.text[:80] for m in self.api.messages]))
            await asyncio.sleep(0.01)

    async def ask(self, text: str, *, user: int = ADMIN, chat: int | None = None, replies: int = 1,
                  timeout: float = 30.0) -> list[BotMessage]:
        """Send ``text`` as ``user`` (in ``chat``, default the private chat) and wait for ``replies``."""
        where = user if chat is None else chat
        before = len(self.in_chat(where))
        self.api.send_text(text, user_id=user, chat_id=chat)
        await self.until(lambda: len(self.in_chat(where)) >= before + replies, timeout)
        return self.in_chat(where)[before:]

    async def post_in_channel(self, text: str, replies: int = 1) -> list[BotMessage]:
        before = len(self.in_chat(CHANNEL))
        self.api.send_channel_post(CHANNEL, text)
        await self.until(lambda: len(self.in_chat(CHANNEL)) >= before + replies)
        return self.in_chat(CHANNEL)[before:]

    async def click(self, message: BotMessage, data: str, *, user: int = ADMIN) -> None:
        answers = len(self.api.callback_answers)
        self.api.click(message, data, user_id=user)
        await self.until(lambda: len(self.api.callback_answers) > answers)

    async def advance(self, minutes: float) -> None:
        """Move the replay on and wait until every job it scheduled has finished."""
        await self.feed.advance(minutes)
        await asyncio.sleep(0)
        await self.until(lambda: self.jobs.backlog == 0, timeout=60)
        await self.app.bot_data["broadcaster"].drain()


@contextlib.asynccontextmanager
async def bot_harness(data_dir: Path, storage: Path, start: str | None = None,
                      **overrides: object) -> AsyncIterator[Harness]:
    api = LocalBotApi()
    for chat in (ADMIN, TRADER):
        api.add_chat(chat)
    api.add_chat(CHANNEL, "channel", title="Signals", username="signals_channel")
    settings = load_settings(**{"telegram_bot_token": TOKEN, "admin_ids": str(ADMIN),
                                "broadcast_chat_ids": str(CHANNEL), "replay_data_dir": data_dir,
                                "storage_path": storage, **overrides})
    feed = ReplayFeed(data_dir, speed=None, start=start)
    app = build_application(settings, feed=feed, request=api)
    async with running(app):
        yield Harness(api, app, feed)


@pytest.fixture
async def harness(replay_dir: Path, tmp_path: Path) -> AsyncIterator[Harness]:
    async with bot_harness(replay_dir, tmp_path / "state.json") as running_bot:
        yield running_bot
