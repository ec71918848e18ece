"""/tune with typed values and with the inline keyboard, /params, /rollback: through CallbackQueryHandler."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.bot.conftest import ADMIN, TRADER, Harness

pytestmark = pytest.mark.slow


SHORT_HISTORY = "a preview needs 14 days of candles before now; the bot has 10.4"


async def test_typed_tune_previews_then_applies_on_confirm(harness: Harness) -> None:
    [preview] = await harness.ask("/tune tolerance 0.2")
    assert preview.text == ("Change parameters (v1 → new version)?\ntolerance: 0.25 → 0.2\n\n"
                            "⏳ computing its effect on the last 14 days…")
    assert preview.buttons == [("✅ Apply", "ta:tolerance:0.2"), ("Cancel", "tc")]
    await harness.until(lambda: preview.edits == 1)
    assert preview.text == ("Change parameters (v1 → new version)?\ntolerance: 0.25 → 0.2\n\n"
                            f"Effect on recent data unavailable: {SHORT_HISTORY}")
    assert preview.buttons == [("✅ Apply", "ta:tolerance:0.2"), ("Cancel", "tc")]
    assert harness.service.params.tolerance == 0.25
    await harness.click(preview, "ta:tolerance:0.2")
    assert preview.text == "✅ Parameters v2 in force (by 1001 (User1001)).\ntolerance: 0.25 → 0.2"
    assert harness.service.params.tolerance == 0.2
    assert harness.service.params_book.audit()[-1]["shown"] == {"state": "unavailable", "reason": SHORT_HISTORY}


async def test_keyboard_tune_picks_a_parameter_then_a_value(harness: Harness) -> None:
    [menu] = await harness.ask("/tune")
    assert ("touches", "tk:touches") in menu.buttons
    await harness.click(menu, "tk:touches")
    assert menu.text == "touches is 3 (a whole number from 2 to 4).\nPick a value, or type /tune touches VALUE."
    assert menu.buttons == [("2", "tv:touches:2"), ("3", "tv:touches:3"), ("4", "tv:touches:4"), ("Cancel", "tc")]
    await harness.click(menu, "tv:touches:4")
    assert menu.text.startswith("Change parameters (v1 → new version)?\ntouches: 3 → 4\n\n")
    await harness.until(lambda: "unavailable" in menu.text)
    await harness.click(menu, "ta:touches:4")
    assert harness.service.params.touches == 4


async def test_cancel_changes_nothing(harness: Harness) -> None:
    [preview] = await harness.ask("/tune sl 0.8")
    await harness.click(preview, "tc")
    assert preview.text == "Cancelled. Nothing was changed."
    assert harness.service.params_book.current().version == 1


async def test_a_non_admin_pressing_apply_is_refused(harness: Harness) -> None:
    [preview] = await harness.ask("/tune tp 0.8")
    await harness.click(preview, "ta:tp:0.8", user=TRADER)
    assert harness.api.callback_answers[-1]["text"] == "Only admins can change parameters. Nothing was changed."
    assert harness.service.params.tp == 0.5


async def test_rollback_returns_to_the_previous_version_and_is_audited(harness: Harness) -> None:
    [preview] = await harness.ask("/tune cooldown 30")
    await harness.click(preview, "ta:cooldown:30")
    [back] = await harness.ask("/rollback")
    assert back.text == "↩️ Back to parameters v1.\ncooldown: 30 → 15"
    [nothing] = await harness.ask("/rollback")
    assert nothing.text == "⚠️ nothing to roll back: these are the original parameters (version 1)"
    audit = harness.service.params_book.audit()
    assert [(a["action"], a["user"], a["from_version"], a["to_version"]) for a in audit] == [
        ("tune", "1001 (User1001)", 1, 2), ("rollback", "1001 (User1001)", 2, 1)]


async def test_params_lists_every_value_with_its_range(harness: Harness) -> None:
    [table] = await harness.ask("/params", user=TRADER)
    lines = table.text.splitlines()
    assert lines[0] == "Parameters v1 (the defaults)"  # not "by defaults, 1970-01-01 00:00 UTC"
    assert "tolerance = 0.25 (a number from 0.2 to 0.3)" in lines
    assert "macro_conflict = halve (one of halve | stand_aside)" in lines


async def test_params_after_a_tune_name_who_and_when(harness: Harness) -> None:
    [preview] = await harness.ask("/tune tp 0.8")
    await harness.click(preview, "ta:tp:0.8")
    [table] = await harness.ask("/params", user=TRADER)
    assert table.text.splitlines()[0].startswith("Parameters v2 (by 1001 (User1001), 20")


async def test_the_next_engine_run_uses_the_tuned_value(harness: Harness) -> None:
    [preview] = await harness.ask("/tune min_checks 4")
    await harness.click(preview, "ta:min_checks:4")
    [reply] = await harness.ask("/signal SOLUSDT", user=ADMIN)
    assert "(0/4, need 4)" in reply.text


async def test_a_slow_state_write_of_an_admin_command_does_not_stall_the_event_loop(harness: Harness) -> None:
    store, ticks = harness.service.store, []
    write = store.write

    def slow_disk(changes):  # a state file on a slow or busy disk
        time.sleep(0.8)
        return write(changes)

    async def ticker() -> None:
        while True:
            ticks.append(asyncio.get_running_loop().time())
            await asyncio.sleep(0.01)

    store.write = slow_disk
    beat = asyncio.create_task(ticker())
    await asyncio.sleep(0.05)
    try:
        [paused] = await harness.ask("/pause")
        await asyncio.sleep(0.05)  # a tick after the command, so a stall shows as a gap
    finally:
        beat.cancel()
        store.write = write
    assert paused.text.startswith("⏸")
    assert max(b - a for a, b in zip(ticks, ticks[1:])) < 0.4  # the loop kept running during the 0.8 s write
