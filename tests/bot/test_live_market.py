"""The bot on the live feed: the real Application with BybitFeed (real pybit, real ccxt) against the local
Bybit v5 WebSocket and REST servers replaying the real SOLUSDT candles of ``data/sample``.

SOLUSDT's 1h candle of 2025-05-20 16:00 gives a MACRO SHORT signal at its close, 17:00 UTC
(default parameters); every test starts the bot just after that close.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from bot.app import build_application, running
from bot.local_api import LocalBotApi
from bot.service import HOLE_WAIT
from bot.settings import load_settings
from market.bybit_feed import BybitFeed
from market.history import HistoryClient
from market.retry import RetryPolicy
from tests.bot.conftest import ADMIN, CHANNEL, TOKEN, Harness
from tests.conftest import SAMPLE
from tests.market.bybit_ws_server import BybitWsServer
from tests.market.exchange_http_server import ExchangeHttpServer
from tests.market.recorded_market import RecordedMarket

pytestmark = pytest.mark.slow
SOL_KEY = "MACRO:SOLUSDT:SHORT:2025-05-20T17:00:00Z"
CLOSE = pd.Timestamp("2025-05-20 17:00", tz="UTC")
MINUTE = pd.Timedelta(minutes=1)
QUIET_RETRY = RetryPolicy(attempts=2, base_delay=0.001, max_delay=0.01, quiet=True)


@dataclass
class Exchange:
    market: RecordedMarket
    http: ExchangeHttpServer
    ws: BybitWsServer


@pytest.fixture
async def exchange() -> AsyncIterator[Exchange]:
    market = RecordedMarket(SAMPLE, ["SOLUSDT"], CLOSE + pd.Timedelta(seconds=30))
    http, ws = ExchangeHttpServer(market), BybitWsServer(market)
    await http.start()
    await ws.start()
    yield Exchange(market, http, ws)
    await ws.stop()
    await http.stop()


@contextlib.asynccontextmanager
async def live_bot(exchange: Exchange, storage: Path) -> AsyncIterator[Harness]:
    api = LocalBotApi()
    api.add_chat(ADMIN)
    api.add_chat(CHANNEL, "channel", title="Signals", username="signals_channel")
    settings = load_settings(telegram_bot_token=TOKEN, admin_ids=str(ADMIN), broadcast_chat_ids=str(CHANNEL),
                             market_source="bybit", pairs="SOLUSDT", storage_path=storage,
                             bybit_rest_url=exchange.http.url, bybit_ws_url=exchange.ws.url)

    def clock() -> pd.Timestamp:
        return exchange.market.now

    rest = HistoryClient("bybit", exchange.http.url, cache_dir=None, retry=QUIET_RETRY, timeout_ms=3000,
                         rate_limit=False, clock=clock)
    feed = BybitFeed(exchange.ws.url, rest, silence_seconds=60.0, watchdog_seconds=0.05, book_interval_seconds=0.0,
                     open_timeout=2.0, reconnect=RetryPolicy(attempts=1, base_delay=0.01, max_delay=0.1), clock=clock)
    app = build_application(settings, feed=feed, request=api)
    async with running(app):
        yield Harness(api, app, feed)


async def step(bot: Harness, exchange: Exchange) -> None:
    """One market minute: the stream pushes it, the bot handles it (and its jobs finish)."""
    await exchange.ws.step()
    minute = exchange.market.now.floor("min") - MINUTE
    await bot.until(lambda: bot.service.feed.status()[0].last_closed.get("1m") == minute)
    await bot.service.feed.drain()
    await bot.until(lambda: bot.jobs.backlog == 0)


async def test_while_bybit_is_down_the_bot_replays_nothing_and_says_how_far_start_up_got(exchange, tmp_path):
    exchange.http.inject("500", "/v5/", times=3000)
    async with live_bot(exchange, tmp_path / "state.json") as bot:
        await bot.until(lambda: {s.name: s for s in bot.service.feed.sources()}["Bybit REST"].failures >= 3)
        [status] = await bot.ask("/status")
        assert "⏳ starting, 0 of 1 pairs loaded; Bybit REST failing since 17:00:30 UTC, retrying" in status.text
        assert "🔴 Bybit REST: failing since 17:00:30 UTC (" in status.text
        [levels] = await bot.ask("/levels SOLUSDT")
        assert levels.text == ("⚠️ starting, 0 of 1 pairs loaded; Bybit REST failing since 17:00:30 UTC, retrying; "
                               "SOLUSDT is not ready yet, try again in a minute")
        [pairs] = await bot.ask("/pairs")
        assert pairs.text == ("⏳ starting, 0 of 1 pairs loaded; Bybit REST failing since 17:00:30 UTC, retrying\n"
                              "chosen: SOLUSDT")
        [backtest] = await bot.ask("/backtest 7d")
        await bot.until(lambda: backtest.text.startswith("⚠️"))
        assert backtest.text == "⚠️ starting, 0 of 1 pairs loaded: try again in a minute"
        assert bot.service.source == "bybit" and bot.app.bot_data["replay_dir"] is None
        assert bot.in_chat(CHANNEL) == [] and bot.service.paper.positions() == []
        exchange.http.faults.clear()  # Bybit answers again
        await bot.until(lambda: bot.service.feed.progress().done)
        await bot.until(lambda: len(bot.in_chat(CHANNEL)) == 2)  # the signal of the candle closed before the start
        [status] = await bot.ask("/status")
        assert "⏳" not in status.text and "🟢 Bybit REST: ok since 17:00:30 UTC" in status.text
        assert "🟢 Bybit WebSocket: connected since 17:00:30 UTC" in status.text
        assert [d.chat_id for d in bot.service.journal.deliveries(SOL_KEY)] == [CHANNEL]


async def test_the_candle_closed_just_before_a_restart_is_decided_and_sent_once(exchange, tmp_path):
    storage = tmp_path / "state.json"
    async with live_bot(exchange, storage) as first:
        await first.until(lambda: len(first.in_chat(CHANNEL)) == 2)
        for _ in range(3):
            await step(first, exchange)
        assert len(first.in_chat(CHANNEL)) == 2
        opened = exchange.market.frames[("SOLUSDT", "1m")].loc[CLOSE, "open"]
        assert first.service.paper.get(SOL_KEY).entry_price == opened
    exchange.market.advance(5)  # back 5 minutes later: the 16:00 candle is still the last closed 1h candle
    exchange.http.inject("500", "/v5/", times=3000)  # and Bybit's REST is down for a while
    async with live_bot(exchange, storage) as second:
        await second.until(lambda: {s.name: s for s in second.service.feed.sources()}["Bybit REST"].failures >= 2)
        [positions] = await second.ask("/positions")
        assert positions.text == ("⚠️ starting, 0 of 1 pairs loaded; Bybit REST failing since 17:08:30 UTC, retrying; "
                                  "positions show once their pairs are loaded")
        exchange.http.faults.clear()
        await second.until(lambda: "MACRO SOLUSDT" in second.service.job_runs)
        await second.until(lambda: second.jobs.backlog == 0)
        assert second.service.job_runs["MACRO SOLUSDT"].summary == f"{SOL_KEY} already handled"
        await step(second, exchange)
        assert second.in_chat(CHANNEL) == []
        assert [d.chat_id for d in second.service.journal.deliveries(SOL_KEY)] == [CHANNEL]
        [positions] = await second.ask("/positions")
        assert positions.text.splitlines()[2] == "SOLUSDT SHORT MACRO"


async def test_a_decision_made_late_fills_at_the_first_price_after_it(exchange, tmp_path):
    exchange.market.now = CLOSE + pd.Timedelta(minutes=3, seconds=30)  # started 3.5 minutes after the close
    async with live_bot(exchange, tmp_path / "state.json") as bot:
        await bot.until(lambda: bot.service.paper.get(SOL_KEY) is not None)
        assert bot.service.journal.get(SOL_KEY).note.endswith("; late: fills from 2025-05-20 17:04 UTC")
        # the decision's summary says "admitted when 17:00 + 1 min has closed" until the admission ran
        await bot.until(lambda: "broadcast queued" in getattr(bot.service.job_runs.get("MACRO SOLUSDT"), "summary", ""))
        assert bot.service.job_runs["MACRO SOLUSDT"].summary == f"{SOL_KEY}: position opened (late), broadcast queued"
        await step(bot, exchange)  # 17:03 closes: before the decision, no fill
        assert bot.service.paper.get(SOL_KEY).status == "pending"
        await step(bot, exchange)
        position = bot.service.paper.get(SOL_KEY)
        await bot.until(lambda: len(bot.in_chat(CHANNEL)) == 2)
        photo = bot.in_chat(CHANNEL)[0]
    assert pd.Timestamp(position.entry_time) == CLOSE + 4 * MINUTE  # not 17:00: the decision came at 17:03:30
    assert photo.text.splitlines()[-1] == ("⏰ late: decided after a delay; the paper position enters at the "
                                           "first price from 17:04 UTC, not at the entry above")
    assert position.entry_price == exchange.market.frames[("SOLUSDT", "1m")].loc[CLOSE + 4 * MINUTE, "open"]


async def test_funding_is_charged_at_the_last_rate_bybit_announced_before_the_settlement(exchange, tmp_path):
    exchange.market.now = CLOSE - pd.Timedelta(seconds=90)
    settlement = CLOSE + 4 * MINUTE
    exchange.ws.funding["SOLUSDT"] = ("0.0001", settlement)
    async with live_bot(exchange, tmp_path / "state.json") as bot:
        await bot.until(lambda: bot.service.feed.progress().done and bot.service.feed.status()[0].connected)
        await step(bot, exchange)
        await step(bot, exchange)  # 16:59 closes, then the 1h candle: the SHORT signal at 17:00
        assert bot.service.paper.get(SOL_KEY) is not None
        for rate in ("0.00025", "0.0002", "-0.0004"):  # Bybit's prediction moves: 17:01:30, 17:02:30, 17:03:30
            exchange.ws.funding["SOLUSDT"] = (rate, settlement)
            await step(bot, exchange)
        exchange.ws.funding["SOLUSDT"] = ("0.0009", settlement + pd.Timedelta(hours=8))  # the next one
        await step(bot, exchange)  # 17:03 closes at 17:04, the settlement; then the ticker names the next one
        await step(bot, exchange)
        position = bot.service.paper.get(SOL_KEY)
    assert pd.Timestamp(position.entry_time) == CLOSE
    assert position.funding_paid == pytest.approx(-1 * -0.0004 * position.notional, rel=1e-12)
    assert pd.Timestamp(position.funded_until) == settlement


async def test_open_positions_wait_at_a_missing_minute_and_resolve_on_it_once_it_is_filled(exchange, tmp_path):
    async with live_bot(exchange, tmp_path / "state.json") as bot:
        await bot.until(lambda: "MACRO SOLUSDT" in bot.service.job_runs and bot.jobs.backlog == 0)
        bot.service.feed.gap_wait_seconds = 0.3
        await step(bot, exchange)  # 17:00 closes: the SHORT fills at its open
        paper = bot.service.paper
        assert paper.get(SOL_KEY).status == "open" and paper.needs_candles_since("SOLUSDT") == CLOSE + MINUTE
        exchange.http.inject("500", "kline", times=3000)  # REST cannot fill the hole for now
        exchange.ws.silent = True
        await exchange.ws.step()  # the stream misses 17:01
        exchange.ws.silent = False
        await step(bot, exchange)  # 17:02 comes after the feed's wait, with 17:01 missing
        await step(bot, exchange)
        assert bot.service.feed.first_missing_minute("SOLUSDT") == CLOSE + MINUTE
        assert paper.needs_candles_since("SOLUSDT") == CLOSE + MINUTE  # waiting at the hole, not past it
        [positions] = await bot.ask("/positions")
        assert positions.text.splitlines()[-1] == ("⏳ waiting for the 17:01 UTC candle the feed missed: "
                                                   "TP/SL are checked on it first")
        exchange.http.faults.clear()
        await bot.until(lambda: bot.service.feed.first_missing_minute("SOLUSDT") is None)
        await step(bot, exchange)  # 17:04: the filled 17:01 and what followed, in order
        position = paper.get(SOL_KEY)
        assert position.status == "open" and paper.needs_candles_since("SOLUSDT") == CLOSE + 5 * MINUTE


async def test_positions_go_on_across_a_hole_still_missing_after_the_wait(exchange, tmp_path, caplog):
    async with live_bot(exchange, tmp_path / "state.json") as bot:
        await bot.until(lambda: "MACRO SOLUSDT" in bot.service.job_runs and bot.jobs.backlog == 0)
        bot.service.feed.gap_wait_seconds = 0.3
        await step(bot, exchange)  # 17:00 closes: the SHORT fills at its open
        exchange.http.inject("500", "kline", times=30000)  # the hole is never filled
        exchange.ws.silent = True
        await exchange.ws.step()  # the stream misses 17:01
        exchange.ws.silent = False
        for _ in range(int(HOLE_WAIT / MINUTE)):
            await step(bot, exchange)  # up to 17:16: the positions wait at 17:01
        assert bot.service.paper.needs_candles_since("SOLUSDT") == CLOSE + MINUTE
        await step(bot, exchange)  # 17:17 is more than 15 min after the hole: they go on across it
        assert bot.service.feed.first_missing_minute("SOLUSDT") == CLOSE + MINUTE
        assert bot.service.paper.needs_candles_since("SOLUSDT") in (None, CLOSE + 18 * MINUTE)
        assert any("is still missing after 0 days 00:15:00; positions are resolved across the hole" in r.message
                   for r in caplog.records)
