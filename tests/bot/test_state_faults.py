"""The real bot with damaged state: malformed records are set aside, a full disk leaves no phantom.

Real data: the ETHUSDT MACRO LONG decided at 2025-05-15 03:00 UTC (entry 2590.08) fills at the
03:00 1m open 2590.07.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.bot.conftest import CHANNEL, TRADER, bot_harness

pytestmark = pytest.mark.slow
ETH_KEY = "MACRO:ETHUSDT:LONG:2025-05-15T03:00:00Z"


def damaged_state_file(path: Path) -> None:
    """A state file (TinyDB JSON, as older versions wrote) with one bad record of each kind."""
    good_defaults = {"version": 1, "values": {}, "parent": None, "changed_by": "defaults",
                     "changed_at": "1970-01-01T00:00:00+00:00"}
    path.write_text(json.dumps({
        "params": {"1": good_defaults, "2": {"version": 2, "values": {"tolerance": "bogus"}, "parent": 1,
                                            "changed_by": "1001", "changed_at": "2025-05-14T00:00:00+00:00"}},
        "params_state": {"current": {"version": 2}},
        "subscriptions": {"3003": {"chat_id": "not a chat", "min_confidence": 500},
                          str(TRADER): {"chat_id": TRADER, "pairs": ["ETHUSDT"], "engine": None,
                                        "min_confidence": 0}},
        "positions": {"SCALP:SOLUSDT:LONG:2025-05-14T00:00:00Z": {"signal": {"pair": "SOLUSDT"}, "margin": "x"}},
    }), "utf-8")


async def test_malformed_records_are_set_aside_named_in_status_and_the_rest_works(replay_dir: Path,
                                                                                 tmp_path: Path) -> None:
    storage = tmp_path / "state.json"
    damaged_state_file(storage)
    async with bot_harness(replay_dir, storage) as bot:
        [status] = await bot.ask("/status")
        assert [line for line in status.text.splitlines() if line.startswith("⚠️")] == [
            "⚠️ record positions/SCALP:SOLUSDT:LONG:2025-05-14T00:00:00Z set aside: signal.type: Field required",
            "⚠️ record subscriptions/3003 set aside: chat_id: Input should be a valid integer, unable to parse "
            "string as an integer",
            "⚠️ record params/2 set aside: tolerance: Input should be a valid number, unable to parse string as a number"]
        assert bot.service.params_book.current().version == 1
        await bot.advance(61)
        assert [m.method for m in bot.in_chat(CHANNEL)] == ["sendPhoto", "sendMessage"]
        assert [m.method for m in bot.in_chat(TRADER)] == ["sendPhoto", "sendMessage"]
        assert [p.key for p in bot.service.paper.open_positions()] == [ETH_KEY]


def refuse_writes(store, how: str) -> None:
    """Make the bot's own SQLite store fail its writes the way a full disk or a read-only file does."""
    if how == "disk full":
        pages = store._db.execute("PRAGMA page_count").fetchone()[0]
        store._db.execute(f"PRAGMA max_page_count={pages}")  # SQLITE_FULL: "database or disk is full"
    else:
        store._db.execute("PRAGMA query_only=1")  # "attempt to write a readonly database"


def allow_writes(store) -> None:
    store._db.execute("PRAGMA query_only=0")
    store._db.execute("PRAGMA max_page_count=1073741823")


def saved_state(bot) -> tuple[list, list]:
    """Positions and risk-book slots as the state file has them."""
    store = bot.service.store
    return ([(k, d["status"]) for k, d in store.items("positions")],
            [p["key"] for p in (store.get("risk", "book") or {"positions": []})["positions"]])


@pytest.mark.parametrize("how", ["disk full", "read-only"])
async def test_1000_decisions_on_a_state_that_refuses_writes_leave_no_phantom_and_recover(
        replay_dir: Path, tmp_path: Path, how: str, caplog: pytest.LogCaptureFixture) -> None:
    async with bot_harness(replay_dir, tmp_path / "state.json") as bot:
        await bot.advance(62)  # the ETHUSDT position is open
        before, evaluated = saved_state(bot), bot.jobs.evaluated
        retries, catch_up = [], bot.service.paper.catch_up
        bot.service.paper.catch_up = lambda pair, candles: retries.append(pair) or catch_up(pair, candles)
        refuse_writes(bot.service.store, how)
        minutes = 0
        while bot.jobs.evaluated - evaluated < 1000:
            await bot.advance(6 * 60)
            minutes += 6 * 60
            memory = ([(p.key, p.status) for p in bot.service.paper.positions()],
                      [p.key for p in bot.service.paper._risk_state.positions])
            assert saved_state(bot) == memory  # nothing half-written, nothing only in memory
            assert memory[1] == [key for key, status in memory[0] if status != "closed"]  # no phantom slot
        refused = [r.message for r in caplog.records if "not admitted: the state could not be saved" in r.message]
        problem = "database or disk is full" if how == "disk full" else "attempt to write a readonly database"
        assert len(refused) > 10 and all(problem in message for message in refused)
        if how == "read-only":
            assert saved_state(bot) == before
            # each retry replays every minute since the last saved check: they back off to once an hour
            assert len(retries) <= minutes / 60 + 8
        [status] = await bot.ask("/status")
        warning = [line for line in status.text.splitlines() if line.startswith("⚠️ state cannot be saved")]
        assert warning == ([f"⚠️ state cannot be saved: {bot.service.store.write_error}"]
                           if bot.service.store.write_error else [])
        allow_writes(bot.service.store)
        for _ in range(24):  # until a new signal opens a position again
            await bot.advance(60)
            if len(saved_state(bot)[0]) > len(before[0]):
                break
        positions, slots = saved_state(bot)
        assert len(positions) > len(before[0])
        assert (positions[0], slots) == ((ETH_KEY, "closed"), [k for k, s in positions if s != "closed"])
        assert [p.status for p in bot.service.paper.positions()] == [s for _, s in positions]
        [status] = await bot.ask("/status")
        assert not any(line.startswith("⚠️") for line in status.text.splitlines())
