"""Every command through the real Updater and handlers, with good and bad arguments."""

from __future__ import annotations

import json

import pytest

from bot.commands import CATALOG
from tests.bot.conftest import TRADER, Harness

pytestmark = pytest.mark.slow
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


async def test_start_lists_every_command_with_an_example(harness: Harness) -> None:
    [reply] = await harness.ask("/start")
    for command in CATALOG:
        assert f"/{command.name}" in reply.text and command.example in reply.text


async def test_commands_are_registered_with_telegram(harness: Harness) -> None:
    assert [c["command"] for c in harness.api.commands] == [c.name for c in CATALOG]


async def test_help_for_a_trader_leaves_out_admin_commands(harness: Harness) -> None:
    [reply] = await harness.ask("/help", user=TRADER)
    assert "/signal " in reply.text and "/tune" not in reply.text


async def test_unknown_command_gets_a_usage_hint(harness: Harness) -> None:
    [reply] = await harness.ask("/moon SOLUSDT")
    assert reply.text == "⚠️ Unknown command /moon. Try /help — e.g. /levels SOLUSDT"


async def test_levels_sends_a_png_chart_and_the_levels_as_json(harness: Harness) -> None:
    photo, data = await harness.ask("/levels SOLUSDT", replies=2)
    assert photo.method == "sendPhoto" and photo.file.data.startswith(PNG_MAGIC)
    assert photo.text.startswith("SOLUSDT 15m · close 174.49 · 2025-05-15 02:00 UTC")
    levels = json.loads(data.text)
    assert (levels["pair"], levels["timeframe"], levels["time"]) == ("SOLUSDT", "15m", "2025-05-15T02:00:00Z")
    assert all(lv["touches"] >= 3 for lv in levels["support"] + levels["resistance"])


async def test_levels_on_the_hourly_chart(harness: Harness) -> None:
    photo, data = await harness.ask("/levels eth 1h", replies=2)
    assert photo.file.data.startswith(PNG_MAGIC)
    assert json.loads(data.text)["timeframe"] == "1h"


@pytest.mark.parametrize(("text", "expected"), [
    ("/levels", "⚠️ missing argument\nUsage: /levels PAIR [15m|1h] — e.g. /levels SOLUSDT 1h"),
    ("/levels SOLUSDT 4h", "⚠️ timeframe must be 15m or 1h, got '4h'\nUsage: /levels PAIR [15m|1h] — e.g. /levels SOLUSDT 1h"),
    ("/levels DOGEUSDT", "⚠️ DOGEUSDT is not tracked; tracked pairs: ETHUSDT, SOLUSDT"),
    ("/signal", "⚠️ missing argument\nUsage: /signal PAIR — e.g. /signal SOLUSDT"),
    ("/signals 0", "⚠️ N must be a whole number from 1 to 50, got '0'\nUsage: /signals [N] — e.g. /signals 10"),
    ("/backtest week", "⚠️ period must be days like 7d (1d-60d), got 'week'\n"
                       "Usage: /backtest DAYSd [PAIRS] [key=value …] — e.g. /backtest 7d SOLUSDT,ETHUSDT tolerance=0.2"),
    ("/subscribe engine=swing", "⚠️ engine must be micro or macro, got 'swing'\nUsage: /subscribe [pairs=A,B] "
                                "[engine=micro|macro] [min_confidence=0-100] [format=standard|cornix] — e.g. "
                                "/subscribe pairs=SOLUSDT engine=micro min_confidence=60"),
    ("/subscribe format=3commas", "⚠️ format must be standard or cornix, got '3commas'\nUsage: /subscribe "
                                  "[pairs=A,B] [engine=micro|macro] [min_confidence=0-100] [format=standard|cornix] "
                                  "— e.g. /subscribe pairs=SOLUSDT engine=micro min_confidence=60"),
    ("/tune tolerance 0.9", "⚠️ tolerance: a number from 0.2 to 0.3, got 0.9"),
    ("/tune tolerance", "⚠️ missing the value for 'tolerance'\nUsage: /tune [KEY VALUE] — e.g. /tune tolerance 0.2"),
    ("/close", "⚠️ missing argument\nUsage: /close PAIR — e.g. /close SOLUSDT"),
])
async def test_bad_arguments_get_one_usage_line(harness: Harness, text: str, expected: str) -> None:
    [reply] = await harness.ask(text)
    assert reply.text == expected


async def test_signal_shows_every_check_of_both_engines(harness: Harness) -> None:
    [reply] = await harness.ask("/signal SOLUSDT")
    assert reply.text.splitlines()[:5] == [
        "SOLUSDT at 2025-05-15 02:00 UTC · close 174.49", "", "MICRO-SCALP (15m)",
        "LONG  ▫️volume_drop ▫️double_wick ▫️rsi_extreme ▫️order_book_flip (0/4, need 2)",
        "SHORT ▫️volume_drop ▫️double_wick ▫️rsi_extreme ▫️order_book_flip (0/4, need 2)"]
    assert "MACRO (1h)" in reply.text


async def test_pairs_and_status(harness: Harness) -> None:
    [pairs] = await harness.ask("/pairs")
    assert pairs.text == "2 tracked pairs\nETHUSDT, SOLUSDT"
    [status] = await harness.ask("/status")
    assert "market time 2025-05-15 02:00 UTC" in status.text
    assert "ETHUSDT: last 1m close 2025-05-15 02:00 UTC (0 min ago)" in status.text


async def test_signals_stats_and_positions_before_any_signal(harness: Harness) -> None:
    assert (await harness.ask("/signals"))[0].text == "No signals yet. They appear here as the engines find them."
    assert (await harness.ask("/stats"))[0].text == "No signals sent yet, so no scorecard."
    assert (await harness.ask("/positions"))[0].text == "No open paper positions. Equity 200,000.00 USDT."


async def test_channel_post_commands_are_answered_in_the_channel(harness: Harness) -> None:
    [reply] = await harness.post_in_channel("/subscribe engine=macro min_confidence=70")
    assert reply.text == "🔔 Subscribed: all pairs, macro, confidence ≥ 70. /unsubscribe to stop."


async def test_subscribe_and_unsubscribe_in_a_private_chat(harness: Harness) -> None:
    [first] = await harness.ask("/subscribe pairs=SOL,ETHUSDT", user=TRADER)
    assert first.text == "🔔 Subscribed: SOLUSDT, ETHUSDT, both engines, confidence ≥ 0. /unsubscribe to stop."
    [gone] = await harness.ask("/unsubscribe", user=TRADER)
    assert gone.text == "🔕 Unsubscribed: no more signals here."
    [again] = await harness.ask("/unsubscribe", user=TRADER)
    assert again.text == "This chat was not subscribed. /subscribe to get signals."


@pytest.mark.parametrize("text", ["/tune tolerance 0.2", "/tune", "/rollback", "/pause", "/resume", "/close SOLUSDT"])
async def test_non_admins_are_refused_and_nothing_changes(harness: Harness, text: str) -> None:
    name = text.split()[0][1:]
    [reply] = await harness.ask(text, user=TRADER)
    assert reply.text == f"⛔ /{name} is for admins only. Nothing was changed."
    assert harness.service.params_book.current().version == 1 and not harness.service.paused


async def test_pause_and_resume(harness: Harness) -> None:
    assert (await harness.ask("/pause"))[0].text.startswith("⏸ Paused")
    assert harness.service.paused
    assert (await harness.ask("/pause"))[0].text == "Already paused."
    assert (await harness.ask("/resume"))[0].text == "▶️ Resumed."


async def test_close_without_a_position(harness: Harness) -> None:
    [reply] = await harness.ask("/close SOLUSDT")
    assert reply.text == "⚠️ no open paper position on SOLUSDT"
