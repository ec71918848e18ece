"""/backtest with MARKET_SOURCE=bybit: the real bot (Bot API fake) on a live Bybit feed served locally from
data/sample; the history the backtest lacks is downloaded into the bot's cache first."""

from __future__ import annotations

import contextlib
import csv
import io
from collections.abc import AsyncIterator
from pathlib import Path

import pandas as pd
import pytest

from bot.app import build_application, running
from bot.local_api import LocalBotApi
from bot.settings import load_settings
from engines.backtest.history import History, PairHistory
from engines.backtest.run import BacktestRequest, run_backtest
from engines.params import DEFAULT_PARAMS
from market.bybit_feed import BybitFeed
from market.download import warmup
from market.files import read_candles, read_funding
from market.history import HistoryClient
from market.retry import RetryPolicy
from tests.bot.conftest import ADMIN, TOKEN, TRADER, Harness
from tests.conftest import SAMPLE
from tests.market.bybit_ws_server import BybitWsServer
from tests.market.exchange_http_server import ServerThread
from tests.market.recorded_market import RecordedMarket

pytestmark = pytest.mark.slow
NOW = pd.Timestamp("2025-05-20 12:00:30", tz="UTC")
PAIRS = ("ETHUSDT", "SOLUSDT")


@contextlib.asynccontextmanager
async def live_bot(tmp_path: Path) -> AsyncIterator[tuple[Harness, RecordedMarket, object]]:
    market = RecordedMarket(SAMPLE, list(PAIRS), NOW)
    ws = BybitWsServer(market)
    await ws.start()
    try:
        with ServerThread(market) as rest:
            api = LocalBotApi()
            for chat in (ADMIN, TRADER):
                api.add_chat(chat)
            settings = load_settings(telegram_bot_token=TOKEN, admin_ids=str(ADMIN), market_source="bybit",
                                     bybit_rest_url=rest.url, bybit_ws_url=ws.url, cache_dir=tmp_path / "cache",
                                     storage_path=tmp_path / "state.json", pairs=",".join(PAIRS))
            history = HistoryClient("bybit", rest.url, cache_dir=settings.cache_dir, rate_limit=False,
                                    retry=RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.05),
                                    clock=lambda: market.now)
            feed = BybitFeed(ws.url, history, clock=lambda: market.now, open_timeout=2.0)
            app = build_application(settings, feed=feed, request=api)
            async with running(app):
                harness = Harness(api, app, feed)
                await harness.until(lambda: feed.progress().done)  # start-up runs in the background
                yield harness, market, rest
    finally:
        await ws.stop()


def expected_trades(tick: dict[str, float], days: int) -> bytes:
    """The same backtest on the real sample candles the exchange served (cut where the download cut them)."""
    end = NOW.floor("min")
    first = NOW - pd.Timedelta(days=days) - warmup(DEFAULT_PARAMS)
    pairs = []
    for pair in PAIRS:
        m1 = read_candles(SAMPLE, pair, "1m")
        m1 = m1[(m1["timestamp"] >= first.ceil("min")) & (m1["timestamp"] < end)]
        funding = read_funding(SAMPLE, pair)
        funding = funding[(funding["timestamp"] >= first) & (funding["timestamp"] <= NOW)].reset_index(drop=True)
        pairs.append(PairHistory.from_candles(pair, m1, funding, tick=tick[pair]))
    report = run_backtest(BacktestRequest(History(tuple(pairs)), end - pd.Timedelta(days=days), end))
    return report.trades_csv().encode()


def expected_rows(trades) -> list[dict]:
    return list(csv.DictReader(io.StringIO(trades.file.data.decode())))


async def test_backtest_7d_downloads_what_is_missing_then_reports_exactly_as_on_the_real_data(tmp_path):
    async with live_bot(tmp_path) as (bot, market, rest):
        progress, metrics, equity, trades = await bot.ask("/backtest 7d", replies=4, timeout=180)
        edits = [c.params["text"] for c in bot.api.calls if c.method == "editMessageText"]
        assert any("downloading" in text and "/2 pairs…" in text for text in edits)
        assert progress.text.splitlines()[-1] == f"✅ Backtest 7d all pairs: {len(expected_rows(trades))} trades"
        assert equity.method == "sendPhoto" and trades.file.filename == "trades.csv"
        ticks = {pair: bot.service.feed.tick_size(pair) for pair in PAIRS}
        assert trades.file.data == expected_trades(ticks, 7)
        rows = list(csv.DictReader(io.StringIO(trades.file.data.decode())))
        assert trades.text == f"{len(rows)} trades" and len(rows) > 0
        cached = read_candles(tmp_path / "cache" / "bybit", "SOLUSDT", "1m")
        assert cached["timestamp"].iloc[-1] == NOW.floor("min") - pd.Timedelta(minutes=1)

        before = len(rest.requests)
        again = await bot.ask("/backtest 7d", replies=4, timeout=180)
        assert again[3].file.data == trades.file.data
        assert not any("kline" in r for r in rest.requests[before:])  # the warm cache lacked nothing


async def test_later_backtests_queue_and_are_told_their_place(tmp_path):
    async with live_bot(tmp_path) as (bot, market, rest):
        bot.api.send_text("/backtest 2d SOLUSDT", user_id=ADMIN)
        await bot.until(lambda: len(bot.in_chat(ADMIN)) >= 1)
        [pairs] = await bot.ask("/pairs", user=TRADER)  # answered while the download runs in the worker
        assert pairs.text == "2 tracked pairs\nETHUSDT, SOLUSDT"
        assert not any(m.method == "sendDocument" for m in bot.in_chat(ADMIN))
        await bot.ask("/backtest 1d ETHUSDT", user=TRADER)
        [first_text] = [c.params["text"] for c in bot.api.calls
                        if c.method == "sendMessage" and c.params["chat_id"] == TRADER][1:]
        assert first_text == "⏳ Backtest 1d ETHUSDT\nqueued: 1 backtest ahead of yours"
        await bot.until(lambda: len(bot.in_chat(TRADER)) >= 5, timeout=180)
        assert bot.in_chat(TRADER)[1].text.splitlines()[-1].startswith("✅ Backtest 1d ETHUSDT: ")
        assert len(bot.in_chat(ADMIN)) >= 4
        assert bot.in_chat(ADMIN)[0].text.splitlines()[-1].startswith("✅ Backtest 2d SOLUSDT: ")
