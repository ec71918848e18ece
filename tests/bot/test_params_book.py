"""Versioned parameters: apply, rollback along the parent chain, audit trail, persistence."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from bot.params_book import ParamChange, ParamsBook
from engines.errors import InvalidInput
from engines.params import DEFAULT_PARAMS
from storage import MemoryStore, TinyDBStore

WHEN = datetime(2026, 1, 2, 3, 4, tzinfo=timezone.utc)


def test_versions_start_at_the_defaults() -> None:
    book = ParamsBook(MemoryStore())
    assert (book.current().version, book.params) == (1, DEFAULT_PARAMS)


def test_apply_then_rollback_twice(tmp_path: Path) -> None:
    with TinyDBStore(tmp_path / "p.json") as store:
        book = ParamsBook(store)
        book.apply(DEFAULT_PARAMS.with_changes(tolerance=0.2), who="1 (ann)", when=WHEN)
        book.apply(book.params.with_changes(touches=4), who="2 (bob)", when=WHEN)
    with TinyDBStore(tmp_path / "p.json") as store:
        book = ParamsBook(store)
        assert (book.current().version, book.params.touches, book.current().changed_by) == (3, 4, "2 (bob)")
        version, changes = book.rollback(who="1 (ann)", when=WHEN)
        assert (version.version, changes) == (2, (ParamChange("touches", 4, 3),))
        assert book.rollback(who="1 (ann)", when=WHEN)[0].version == 1
        with pytest.raises(InvalidInput, match="nothing to roll back"):
            book.rollback(who="1 (ann)", when=WHEN)
        assert [(a["action"], a["to_version"], a["at"]) for a in book.audit()] == [
            ("tune", 2, WHEN.isoformat()), ("tune", 3, WHEN.isoformat()),
            ("rollback", 2, WHEN.isoformat()), ("rollback", 1, WHEN.isoformat())]


def test_applying_the_same_values_is_refused() -> None:
    book = ParamsBook(MemoryStore())
    with pytest.raises(InvalidInput, match="nothing to change"):
        book.apply(DEFAULT_PARAMS, who="x", when=WHEN)


def test_a_damaged_current_version_gives_way_to_its_parent_and_is_named() -> None:
    store = MemoryStore()
    book = ParamsBook(store)
    book.apply(DEFAULT_PARAMS.with_changes(tolerance=0.2), who="1001", when=WHEN)
    store.put("params", "2", {**store.get("params", "2"), "values": {"tolerance": "bogus"}})
    reopened = ParamsBook(store)
    assert (reopened.current().version, reopened.params) == (1, DEFAULT_PARAMS)
    assert reopened.quarantined == {
        "params/2": "tolerance: Input should be a valid number, unable to parse string as a number"}
