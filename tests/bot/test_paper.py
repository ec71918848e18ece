"""Paper positions on real candles: fill at the next 1m open, SL/TP on 1m, funding, manual close, persistence.

Real data: the ETHUSDT MACRO LONG decided at 2025-05-15 03:00 UTC (entry 2590.08, TP 2641.88,
SL 2564.18) fills at the 03:00 1m open 2590.07; the low first reaches the SL in the 05:47 minute.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from bot.paper import PaperBook
from engines.errors import InvalidInput, StorageError
from engines.params import DEFAULT_PARAMS
from engines.scan import scan_signals
from market.files import read_candles
from storage import MemoryStore, TinyDBStore
from tests.conftest import M1_2025

DECISION = pd.Timestamp("2025-05-15 03:00", tz="UTC")


@pytest.fixture(scope="module")
def eth_m1() -> pd.DataFrame:
    return read_candles(M1_2025, "ETHUSDT", "1m")


@pytest.fixture(scope="module")
def eth_signal(eth_m1: pd.DataFrame):
    [signal] = scan_signals(eth_m1, "ETHUSDT", DEFAULT_PARAMS, engine="macro", start=DECISION, end=DECISION)
    return signal


def feed(book: PaperBook, candles: pd.DataFrame, start: str, end: str) -> list:
    """Hand ``book`` the real 1m candles opening in [start, end) one at a time; what closed."""
    window = candles[(candles["timestamp"] >= pd.Timestamp(start, tz="UTC"))
                     & (candles["timestamp"] < pd.Timestamp(end, tz="UTC"))]
    closed = []
    for row in window.itertuples(index=False):
        closed += book.on_candle("ETHUSDT", row)
    return closed


def test_admitted_signal_fills_at_the_next_minute_open_and_stops_out(eth_m1: pd.DataFrame, eth_signal) -> None:
    book = PaperBook(MemoryStore(), lambda: DEFAULT_PARAMS)
    verdict = book.admit(eth_signal, DECISION.to_pydatetime())
    assert (verdict.accepted, verdict.margin, verdict.notional) == (True, 20_000.0, 200_000.0)
    assert feed(book, eth_m1, "2025-05-15 02:50", "2025-05-15 05:47") == []
    [position] = book.open_positions()
    assert (position.status, position.entry_price) == ("open", 2590.07)
    [closed] = feed(book, eth_m1, "2025-05-15 05:47", "2025-05-15 06:00")
    assert (closed.exit_reason, closed.exit_price, closed.exit_time) == \
        ("sl", 2564.18, pd.Timestamp("2025-05-15 05:48", tz="UTC"))
    # fees as the backtester charges them: 0.06 % of the entry notional and of the exit notional
    exit_notional = 200_000 * 2564.18 / 2590.07
    assert closed.realized == pytest.approx((2564.18 - 2590.07) / 2590.07 * 200_000 - 0.0006 * (200_000 + exit_notional))
    assert book.equity == pytest.approx(200_000 + closed.realized)


def test_one_macro_position_per_pair(eth_signal) -> None:
    book = PaperBook(MemoryStore(), lambda: DEFAULT_PARAMS)
    book.admit(eth_signal, DECISION.to_pydatetime())
    later = eth_signal.model_copy(update={"timestamp": (DECISION + pd.Timedelta(hours=2)).to_pydatetime()})
    assert book.admit(later, later.timestamp).reason == "pair_has_open_macro"
    assert book.rejections == {"pair_has_open_macro": 1}


def test_time_stop_fills_at_the_open_of_the_due_minute(eth_m1: pd.DataFrame, eth_signal) -> None:
    params = DEFAULT_PARAMS.with_changes(macro_time_stop=60)
    book = PaperBook(MemoryStore(), lambda: params)
    book.admit(eth_signal, DECISION.to_pydatetime())
    [closed] = feed(book, eth_m1, "2025-05-15 03:00", "2025-05-15 05:00")
    open_0400 = float(eth_m1.loc[eth_m1["timestamp"] == pd.Timestamp("2025-05-15 04:00", tz="UTC"), "open"].iloc[0])
    assert (closed.exit_reason, closed.exit_time, closed.exit_price) == \
        ("time_stop", pd.Timestamp("2025-05-15 04:00", tz="UTC"), open_0400)


def test_funding_is_charged_on_the_entry_notional(eth_m1: pd.DataFrame, eth_signal) -> None:
    book = PaperBook(MemoryStore(), lambda: DEFAULT_PARAMS)
    book.admit(eth_signal, DECISION.to_pydatetime())
    feed(book, eth_m1, "2025-05-15 03:00", "2025-05-15 03:01")
    [charged] = book.charge_funding("ETHUSDT", 0.0001, pd.Timestamp("2025-05-15 08:00", tz="UTC").to_pydatetime())
    assert charged.funding_paid == pytest.approx(20.0)  # a long pays 0.01 % of 200,000
    assert book.charge_funding("ETHUSDT", 0.0001, pd.Timestamp("2025-05-15 08:00", tz="UTC").to_pydatetime()) == []


def test_manual_close_and_persistence(tmp_path: Path, eth_m1: pd.DataFrame, eth_signal) -> None:
    with TinyDBStore(tmp_path / "state.json") as store:
        book = PaperBook(store, lambda: DEFAULT_PARAMS)
        book.admit(eth_signal, DECISION.to_pydatetime())
        feed(book, eth_m1, "2025-05-15 03:00", "2025-05-15 03:01")
    with TinyDBStore(tmp_path / "state.json") as store:
        book = PaperBook(store, lambda: DEFAULT_PARAMS)
        [held] = book.open_positions()
        assert held.entry_price == 2590.07
        closed = book.close("ETHUSDT", 2600.0, pd.Timestamp("2025-05-15 04:00", tz="UTC").to_pydatetime())
        assert (closed.exit_reason, closed.status) == ("manual", "closed")
        assert book.open_positions() == []
        with pytest.raises(InvalidInput, match="no open paper position on ETHUSDT"):
            book.close("ETHUSDT", 2600.0, pd.Timestamp("2025-05-15 04:00", tz="UTC").to_pydatetime())


class FailingStore(MemoryStore):
    """A memory store whose writes fail while ``failing`` is set (like a full disk)."""

    def __init__(self) -> None:
        super().__init__()
        self.failing = False

    def _check(self) -> None:
        if self.failing:
            raise StorageError("cannot write: [Errno 28] No space left on device")

    def put(self, table, key, doc) -> None:
        self._check()
        super().put(table, key, doc)

    def write(self, changes) -> None:
        self._check()
        super().write(changes)


def test_a_failed_admission_write_leaves_no_phantom_position(eth_signal) -> None:
    store = FailingStore()
    book = PaperBook(store, lambda: DEFAULT_PARAMS)
    store.failing = True
    with pytest.raises(StorageError, match="No space left"):
        book.admit(eth_signal, DECISION.to_pydatetime())
    assert (book.open_positions(), store.items("positions"), store.get("risk", "book")) == ([], [], None)
    store.failing = False
    assert book.admit(eth_signal, DECISION.to_pydatetime()).accepted  # the pair is not blocked


def test_a_failed_close_write_is_retried_on_the_candles_it_missed(eth_m1: pd.DataFrame, eth_signal) -> None:
    store = FailingStore()
    book = PaperBook(store, lambda: DEFAULT_PARAMS)
    book.admit(eth_signal, DECISION.to_pydatetime())
    assert feed(book, eth_m1, "2025-05-15 03:00", "2025-05-15 05:47") == []
    store.failing = True
    with pytest.raises(StorageError):
        feed(book, eth_m1, "2025-05-15 05:47", "2025-05-15 05:48")  # the SL minute
    [held] = book.open_positions()
    assert PaperBook(store, lambda: DEFAULT_PARAMS).get(held.key) == held  # memory equals the file
    store.failing = False
    missed = eth_m1[(eth_m1["timestamp"] >= book.needs_candles_since("ETHUSDT"))
                    & (eth_m1["timestamp"] < pd.Timestamp("2025-05-15 05:50", tz="UTC"))]
    [closed] = book.catch_up("ETHUSDT", missed)
    assert (closed.exit_reason, closed.exit_price, closed.exit_time) == \
        ("sl", 2564.18, pd.Timestamp("2025-05-15 05:48", tz="UTC"))
    assert (book.open_positions(), store.get("risk", "book")["positions"]) == ([], [])
    assert book.catch_up("ETHUSDT", missed) == []  # candles already resolved change nothing


def test_admission_fill_and_close_are_one_write_each(eth_m1: pd.DataFrame, eth_signal) -> None:
    store = MemoryStore()
    writes: list[list[str]] = []
    original = store.write
    store.write = lambda changes: (writes.append([f"{c.table}/{c.key}" for c in changes]), original(changes))[1]
    book = PaperBook(store, lambda: DEFAULT_PARAMS)
    book.admit(eth_signal, DECISION.to_pydatetime())
    feed(book, eth_m1, "2025-05-15 03:00", "2025-05-15 06:00")
    key = eth_signal.key
    assert writes == [["risk/book", f"positions/{key}"], [f"positions/{key}"], ["risk/book", f"positions/{key}"]]


def test_a_malformed_position_is_set_aside_and_the_rest_load(eth_signal) -> None:
    store = MemoryStore()
    PaperBook(store, lambda: DEFAULT_PARAMS).admit(eth_signal, DECISION.to_pydatetime())
    store.put("positions", "SCALP:BTCUSDT:LONG:bad", {"signal": {"pair": "BTCUSDT"}, "margin": "lots"})
    book = PaperBook(store, lambda: DEFAULT_PARAMS)
    assert [p.key for p in book.open_positions()] == [eth_signal.key]
    assert list(book.quarantined) == ["positions/SCALP:BTCUSDT:LONG:bad"]


def test_a_risk_slot_without_its_position_left_by_an_old_version_is_freed_on_load(eth_signal) -> None:
    store = MemoryStore()
    PaperBook(store, lambda: DEFAULT_PARAMS).admit(eth_signal, DECISION.to_pydatetime())
    store.delete("positions", eth_signal.key)  # the old two-write admission, killed between its writes
    book = PaperBook(store, lambda: DEFAULT_PARAMS)
    assert book.admit(eth_signal, DECISION.to_pydatetime()).reason == "ok"


def test_closed_positions_older_than_a_month_leave_memory_but_not_the_store_or_the_equity(eth_m1, eth_signal) -> None:
    store = MemoryStore()
    book = PaperBook(store, lambda: DEFAULT_PARAMS)
    book.admit(eth_signal, DECISION.to_pydatetime())
    [first] = feed(book, eth_m1, "2025-05-15 02:50", "2025-05-15 06:00")  # the real SL at 05:48
    # the same trade 40 days later, as the store would hold it (a copy under another key)
    later = first.model_copy(update={
        "signal": first.signal.model_copy(update={"timestamp": first.signal.timestamp + pd.Timedelta(days=40)}),
        "entry_time": first.entry_time + pd.Timedelta(days=40), "exit_time": first.exit_time + pd.Timedelta(days=40),
        "due_at": first.due_at + pd.Timedelta(days=40)})
    store.put("positions", later.key, later.model_dump(mode="json"))
    equity = 200_000 + 2 * first.realized
    reopened = PaperBook(store, lambda: DEFAULT_PARAMS)
    assert [p.key for p in reopened.positions()] == [later.key]  # the older one is archived: only in the store
    assert reopened.equity == pytest.approx(equity)
    assert sorted(k for k, _ in store.items("positions")) == sorted([first.key, later.key])
