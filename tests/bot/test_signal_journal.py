"""Signals and deliveries: at-most-once per (signal, chat), surviving a restart."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
import pytest

from bot.signal_journal import SignalJournal
from engines.params import DEFAULT_PARAMS
from engines.scan import scan_signals
from market.files import read_candles
from storage import SQLiteStore, TinyDBStore
from tests.conftest import M1_2025

AT = datetime(2025, 5, 15, 3, 0, 5, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def signals():
    m1 = read_candles(M1_2025, "ETHUSDT", "1m")
    return scan_signals(m1, "ETHUSDT", DEFAULT_PARAMS, engine="macro", start=pd.Timestamp("2025-05-15 03:00Z"),
                        end=pd.Timestamp("2025-05-15 07:00Z"))


def test_unfinished_deliveries_survive_a_restart_and_finished_ones_are_pruned(tmp_path: Path, signals) -> None:
    key = signals[0].key
    with SQLiteStore(tmp_path / "s.sqlite") as store:
        journal = SignalJournal(store)
        journal.queue(key, [-100, 7, 8], at=AT)
        journal.mark(key, -100, "sending")
        journal.mark(key, -100, "photo_sent", message_id=11)
        journal.mark(key, 7, "sending")
    with SQLiteStore(tmp_path / "s.sqlite") as store:
        journal = SignalJournal(store)
        assert [(d.chat_id, d.state, d.message_id) for d in journal.unfinished()] == \
            [(-100, "photo_sent", 11), (7, "sending", None), (8, "queued", None)]
        journal.mark(key, 7, "failed", reason="Forbidden: bot was blocked by the user")
        journal.mark(key, 8, "photo_sent", message_id=3)
        journal.mark(key, 8, "sent", json_id=4)
        assert [(d.chat_id, d.message_id) for d in journal.deliveries(key)] == [(-100, 11), (8, 3)]
        store.write(journal.result_changes(key))
        assert journal.unfinished_results() == [(key, -100), (key, 8)]
        journal.mark_result(key, -100, "sent", message_id=12)
        assert not journal.prune(key)  # chat 8 still waits for its result
        journal.mark_result(key, 8, "failed", reason="Bad Request: chat not found")
        assert journal.prune(key)
        assert (store.items("sent_signals"), store.items("sent_results"), journal.get(key) is None) == ([], [], True)


def test_recent_lists_traded_signals_newest_first(tmp_path: Path, signals) -> None:
    with TinyDBStore(tmp_path / "s.json") as store:
        journal = SignalJournal(store)
        for n, signal in enumerate(signals):
            assert journal.record(signal, decided_at=signal.timestamp, opened=n != 1, note="ok")
        assert not journal.record(signals[0], decided_at=AT, opened=True)
        journal.set_outcome(signals[0].key, "sl", -11.2)
        recent = journal.recent(5)
        assert [e.signal.timestamp.hour for e in recent] == [7, 3]
        assert (recent[-1].outcome, recent[-1].pnl_pct) == ("sl", -11.2)
