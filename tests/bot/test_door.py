"""At the door: unicode digits, forged callback data and 4,000-character arguments through the real
Updater and handlers (the bundled real SOLUSDT/ETHUSDT candles); each gets its usage line or an alert,
never an internal error, and no reply is longer than Telegram allows."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.commands import COMMANDS
from bot.local_api import TEXT_LIMIT
from market.feed import BookUpdate
from tests.bot.conftest import ADMIN, TRADER, Harness, bot_harness

pytestmark = pytest.mark.slow
INTERNAL_ERROR = "Something went wrong"


@pytest.fixture
async def door(replay_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> AsyncIterator[Harness]:
    caplog.set_level(logging.WARNING)
    async with bot_harness(replay_dir, tmp_path / "state.json") as running_bot:
        yield running_bot
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors]
    assert all(INTERNAL_ERROR not in m.text and len(m.text) <= TEXT_LIMIT for m in running_bot.api.messages)


@pytest.mark.parametrize(("text", "expected"), [
    ("/signals ²", "⚠️ N must be a whole number from 1 to 50, got '²'\nUsage: /signals [N] — e.g. /signals 10"),
    ("/signals ①", "⚠️ N must be a whole number from 1 to 50, got '①'\nUsage: /signals [N] — e.g. /signals 10"),
    ("/subscribe min_confidence=①", "⚠️ min_confidence must be a whole number from 0 to 100, got '①'\n"
                                    f"{COMMANDS['subscribe'].usage_line}"),
    ("/backtest ٧d", "⚠️ period must be days like 7d (1d-60d), got '٧d'\nUsage: /backtest DAYSd [PAIRS] "
                     "[key=value …] — e.g. /backtest 7d SOLUSDT,ETHUSDT tolerance=0.2"),
    ("/tune tolerance ٠.٢", "⚠️ tolerance: a number from 0.2 to 0.3, got '٠.٢'\n"
                            "Usage: /tune [KEY VALUE] — e.g. /tune tolerance 0.2"),
])
async def test_unicode_digits_get_the_usage_line(door: Harness, text: str, expected: str) -> None:
    [reply] = await door.ask(text)
    assert reply.text == expected


@pytest.mark.parametrize("template", ["/levels {}", "/levels SOLUSDT {}", "/signal {}", "/signals {}",
                                      "/backtest {}", "/backtest 7d {}", "/backtest 7d SOL {}=1", "/tune {} 1",
                                      "/tune tp {}", "/subscribe {}", "/subscribe pairs={}", "/close {}",
                                      "/{}"])
async def test_a_4000_character_argument_is_not_echoed(door: Harness, template: str) -> None:
    [reply] = await door.ask(template.format("x" * 4000 if template == "/{}" else "7" * 4000))
    assert len(reply.text) < 600
    assert "Usage: /" in reply.text or "Unknown command" in reply.text


@pytest.mark.parametrize("data", ["tk:bogus", "tk:", "tk:tolerance:x", "tv:bogus:1", "tv:tolerance:", "tv::",
                                  "tv:touches:２", "ta:tolerance:nan", "ta:touches:1e999", "ta:", "ta:sl",
                                  "tk:" + "z" * 61])
async def test_forged_tune_callbacks_get_an_alert_and_change_nothing(door: Harness, data: str) -> None:
    [menu] = await door.ask("/tune")
    before = (menu.text, menu.reply_markup)
    await door.click(menu, data)
    answer = door.api.callback_answers[-1]
    assert answer.get("show_alert") and answer["text"]
    assert (menu.text, menu.reply_markup) == before
    assert door.service.params_book.current().version == 1


async def test_pressing_the_same_button_twice_is_harmless(door: Harness) -> None:
    [menu] = await door.ask("/tune")
    await door.click(menu, "tk:touches")
    await door.click(menu, "tk:touches")  # Telegram: 400 "message is not modified"
    assert door.api.callback_answers[-1] == {"callback_query_id": door.api.callback_answers[-1]["callback_query_id"]}
    assert menu.text.startswith("touches is 3")


async def test_a_forged_position_chart_callback_gets_an_alert(door: Harness) -> None:
    [reply] = await door.ask("/positions", user=TRADER)
    await door.click(reply, "pc:SOLUSDT:bogus", user=TRADER)
    assert door.api.callback_answers[-1]["text"] == "that position no longer exists"


async def test_a_callback_on_a_message_telegram_will_not_edit_gets_an_alert(door: Harness) -> None:
    [menu] = await door.ask("/tune")
    door.api.messages.remove(menu)  # the server no longer has it: "message to edit not found"
    await door.click(menu, "tk:touches", user=ADMIN)
    assert door.api.callback_answers[-1]["text"] == "This message can no longer be changed; send /tune again."


async def test_backtest_with_less_than_a_day_of_data_does_not_suggest_0d(replay_dir: Path, tmp_path: Path) -> None:
    async with bot_harness(replay_dir, tmp_path / "state.json", start="2025-05-05T02:00Z") as bot:
        [progress] = await bot.ask("/backtest 1d")
        await bot.until(lambda: progress.text.startswith("⚠️"))
    assert progress.text == "⚠️ the bot has 0.4 days of data before now; a backtest needs at least 1d; try again later"


async def test_levels_show_what_the_engine_used_at_the_readme_signal(replay_dir: Path, tmp_path: Path) -> None:
    """README: SOLUSDT LONG at 2025-05-18 19:00 UTC tagged the support 169.42 (engine: candles before it)."""
    async with bot_harness(replay_dir, tmp_path / "state.json", start="2025-05-18T19:00Z") as bot:
        _, data = await bot.ask("/levels SOLUSDT", replies=2)
        [signal] = await bot.ask("/signal SOLUSDT")
    shown = json.loads(data.text)
    assert [lv["price"] for lv in shown["support"]] == [169.42, 167.75, 166.46, 165.55, 164.25]
    assert [lv["price"] for lv in shown["resistance"]] == [170.4, 171.64, 174.87]
    engine = json.loads(signal.text[signal.text.index("{"):])
    assert (engine["support"], engine["resistance"]) == ([169.42, 167.75, 166.46, 165.55, 164.25], [170.4, 171.64, 174.87])


async def test_stats_show_the_live_order_book_flip_fire_rate_per_pair(door: Harness) -> None:
    """Book updates reach the jobs as events; each 15m decision takes the flip (band ±0.2 by default)."""
    for sol, eth in ((-0.3, -0.05), (0.4, 0.05)):  # SOLUSDT flips toward longs; ETHUSDT only wobbles around 0
        await door.jobs.on_event(BookUpdate("SOLUSDT", door.feed.now(), sol))
        await door.jobs.on_event(BookUpdate("ETHUSDT", door.feed.now(), eth))
        await door.advance(15)
    [stats] = await door.ask("/stats")
    assert stats.text == ("No signals sent yet, so no scorecard.\n\norder_book_flip (live only, band ±0.2): fired at "
                          "ETHUSDT 0/2 (0%), SOLUSDT 1/2 (50%) 15m decisions since start")


@pytest.mark.parametrize("data", ["zz", "tk", "pc", "ta", "tcx", "PC:SOLUSDT", "🚀"])
async def test_a_button_no_handler_knows_is_answered(door: Harness, data: str) -> None:
    [menu] = await door.ask("/tune")
    await door.click(menu, data)
    assert door.api.callback_answers[-1]["text"] == "This button does not work (any more)."


async def test_a_command_for_another_bot_in_a_group_is_left_alone(door: Harness) -> None:
    group = -100777
    door.api.add_chat(group, "supergroup")
    door.api.send_text("/levels@other_bot SOLUSDT", user_id=TRADER, chat_id=group)
    [reply] = await door.ask("/moon@signaltracker_bot", user=TRADER, chat=group)
    assert reply.text == "⚠️ Unknown command /moon. Try /help — e.g. /levels SOLUSDT"  # the only reply there
