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
from storage import TinyDBStore
from tests.conftest import M1_2025

AT = datetime(2025, 5, 15, 3, 0, 5, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def signals():
    m1 = read_candles(M1_2025, "ETHUSDT", "1m")
    return scan_signals(m1, "ETHUSDT", DEFAULT_PARAMS, engine="macro", start=pd.Timestamp("2025-05-15 03:00Z"),
                        end=pd.Timestamp("2025-05-15 07:00Z"))


def test_a_delivery_is_claimed_once_even_after_a_restart(tmp_path: Path, signals) -> None:
    key = signals[0].key
    with TinyDBStore(tmp_path / "s.json") as store:
        journal = SignalJournal(store)
        assert journal.claim(key, -100, at=AT) and not journal.claim(key, -100, at=AT)
        assert journal.claim(key, 7, at=AT)
        journal.confirm(key, -100, 11)
    with TinyDBStore(tmp_path / "s.json") as store:
        journal = SignalJournal(store)
        assert not journal.claim(key, -100, at=AT)
        assert [(d.chat_id, d.message_id) for d in journal.deliveries(key)] == [(-100, 11)]
        assert [d["chat_id"] for d in journal.unconfirmed()] == [7]  # crashed between claim and send: not resent


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
