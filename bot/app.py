"""Builds the bot: the PTB ``Application`` with its handlers, the service, the feed and the jobs.

    app = build_application(settings, feed=feed, store=store, request=LocalBotApi())  # console / tests
    async with running(app):  # initialize, start, poll, start the feed; stop all on exit
        ...

Without ``request`` the app talks to ``TELEGRAM_BASE_URL`` with PTB's httpx transport.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

from telegram import BotCommand
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder
from telegram.request import BaseRequest

from bot.backtest_queue import BacktestQueue
from bot.broadcast import Broadcaster
from bot.commands import CATALOG
from bot.handlers import admin, drift, general, market, subscriptions, trading
from bot.jobs import attach
from bot.service import BotService
from bot.settings import BotSettings
from engines.errors import DataUnavailable, InvalidInput, SignalTrackerError
from market.feed import MarketFeed
from market.files import list_symbols
from storage import StateStore, open_store

logger = logging.getLogger(__name__)
CONSOLE_TOKEN = "0:console"
RATE_LIMIT_RETRIES = 3
POLL_TIMEOUT_SECONDS = 10
TOP_PAIRS = 25
SHUTDOWN_DRAIN_SECONDS = 10.0
MARKET_START = "market_start"


def replay_feed(settings: BotSettings) -> MarketFeed:
    from market.replay import ReplayFeed
    return ReplayFeed(settings.replay_data_dir, speed=settings.replay_speed)


def make_feed(settings: BotSettings) -> MarketFeed:
    """The market feed the settings ask for."""
    if settings.market_source == "bybit":
        try:
            from market.bybit_feed import BybitFeed
            from market.history import HistoryClient
            from market.retry import RetryPolicy
        except ImportError as e:
            raise InvalidInput("MARKET_SOURCE=bybit is not available in this build; use replay") from e
        quiet = RetryPolicy(quiet=True)  # the feed reports REST failures itself, once a minute
        return BybitFeed(settings.bybit_ws_url,
                         HistoryClient("bybit", settings.bybit_rest_url, cache_dir=settings.cache_dir, retry=quiet),
                         fallback_rest=HistoryClient("kraken", settings.kraken_rest_url, cache_dir=settings.cache_dir,
                                                     retry=quiet), universe_size=TOP_PAIRS)
    return replay_feed(settings)


async def tracked_pairs(settings: BotSettings, feed: MarketFeed) -> list[str]:
    """``PAIRS`` if set; else every pair of the replay folder, or (empty) Bybit's top 25 chosen by the feed."""
    if settings.pairs or settings.market_source == "bybit":
        return list(settings.pairs)
    pairs = list_symbols(settings.replay_data_dir, "1m")
    if not pairs:
        raise DataUnavailable(f"no 1m candle files in REPLAY_DATA_DIR={settings.replay_data_dir}")
    return pairs


async def start_market(app: Application) -> None:
    """Start the feed: a replay at once; Bybit in the background, retrying until it answers.

    A live bot never falls back to other data: the state file and the chats are production ones.
    Until Bybit answers, nothing is emitted (so nothing is decided or sent), ``/status`` shows the
    failing source and the commands that need market data say how far start-up got.
    """
    settings: BotSettings = app.bot_data["settings"]
    service: BotService = app.bot_data["service"]
    if settings.market_source != "bybit":
        await service.feed.start(await tracked_pairs(settings, service.feed))
        return
    pairs = await tracked_pairs(settings, service.feed)
    app.bot_data[MARKET_START] = asyncio.create_task(_start_live(service, pairs), name="market-start")


async def _start_live(service: BotService, pairs: list[str]) -> None:
    try:
        await service.feed.start(pairs)
    except SignalTrackerError as e:  # e.g. a configured pair Bybit does not list: retrying cannot help
        service.start_error = str(e)
        logger.error("market data cannot start: %s", e)
        return
    except Exception as e:  # noqa: BLE001 - the bot stays up and says so in /status
        service.start_error = f"internal error ({type(e).__name__})"
        logger.exception("market data cannot start")
        return
    logger.info("market data live: %d pairs from %s", len(service.feed.pairs()), service.source)


def build_application(settings: BotSettings, *, feed: MarketFeed, store: StateStore | None = None,
                      request: BaseRequest | None = None, extra_admins: tuple[int, ...] = ()) -> Application:
    """The Application with every handler registered and the service in ``bot_data``."""
    builder = ApplicationBuilder().token(settings.token() or CONSOLE_TOKEN)
    if settings.telegram_rate_limit:
        builder = builder.rate_limiter(AIORateLimiter(max_retries=RATE_LIMIT_RETRIES))
    if request is not None:
        builder = builder.request(request).get_updates_request(request)
    else:
        builder = builder.base_url(settings.telegram_base_url)
    app = builder.build()
    store = store if store is not None else open_store(settings.storage_path)
    source = f"{settings.market_source} ({Path(settings.replay_data_dir).name} × {settings.replay_speed:g})" \
        if settings.market_source == "replay" else settings.market_source
    service = BotService(feed, store, source=source)
    broadcaster = Broadcaster(app.bot, service, settings.broadcast_chat_ids)
    app.bot_data.update(service=service, broadcaster=broadcaster, admin_ids=set(settings.admin_ids) | set(extra_admins),
                        replay_dir=Path(settings.replay_data_dir) if settings.market_source == "replay" else None,
                        backtest_queue=BacktestQueue(), settings=settings)
    app.bot_data["jobs"] = attach(app, service, broadcaster)
    for module in (general, market, trading, admin, subscriptions, drift):
        module.register(app)
    general.register_fallbacks(app)
    return app


async def publish_commands(app: Application) -> None:
    await app.bot.set_my_commands([BotCommand(c.name, c.summary[:256]) for c in CATALOG])


@contextlib.asynccontextmanager
async def running(app: Application) -> AsyncIterator[Application]:
    """Run ``app`` (long polling, JobQueue, market feed) until the block exits; then stop everything."""
    service: BotService = app.bot_data["service"]
    await app.initialize()
    try:
        await publish_commands(app)
        await app.start()
        await app.updater.start_polling(timeout=POLL_TIMEOUT_SECONDS, drop_pending_updates=False)
        await start_market(app)
        await reconcile_positions(app)
        logger.info("bot ready: source %s, %s", service.source,
                    "starting" if not service.feed.progress().done else f"{len(service.feed.pairs())} pairs")
        yield app
    finally:
        await _stop(app, service)


async def reconcile_positions(app: Application) -> None:
    """Before any new decision: resolve open positions on the candles that closed while the bot was down,
    then send what the outgoing queue holds."""
    service: BotService = app.bot_data["service"]
    for position in await asyncio.to_thread(service.reconcile_positions):
        logger.info("%s closed while the bot was down: %s at %s", position.key, position.exit_reason,
                    position.exit_price)
    if resumed := app.bot_data["broadcaster"].resume():  # what the queue held, and the results just queued
        logger.info("resuming %d queued message(s)", resumed)


async def _stop(app: Application, service: BotService) -> None:
    starting = app.bot_data.pop(MARKET_START, None)
    if starting is not None and not starting.done():
        starting.cancel()
        await asyncio.gather(starting, return_exceptions=True)
    try:
        await service.feed.stop()
    except Exception:  # noqa: BLE001 - shutdown goes on whatever the feed did
        logger.exception("the market feed did not stop cleanly")
    await app.bot_data["broadcaster"].drain(timeout=SHUTDOWN_DRAIN_SECONDS)
    if app.updater and app.updater.running:
        await app.updater.stop()
    if app.running:
        await app.stop()
    await app.shutdown()
    service.store.close()
