"""The StateStore contract, run against every implementation."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from engines.errors import StorageError
from storage import Delete, MemoryStore, Put, SQLiteStore, StateStore, TinyDBStore


@pytest.fixture(params=["memory", "tinydb", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StateStore]:
    opened = {"memory": MemoryStore, "tinydb": lambda: TinyDBStore(tmp_path / "state.json"),
              "sqlite": lambda: SQLiteStore(tmp_path / "state.sqlite")}[request.param]()
    yield opened
    opened.close()


def test_get_of_a_missing_key_is_none(store: StateStore) -> None:
    assert store.get("subscriptions", "42") is None


def test_put_then_get_returns_the_document(store: StateStore) -> None:
    doc = {"chat_id": 42, "pairs": ["SOLUSDT", "BTCUSDT"], "filters": {"min_confidence": 60}}
    store.put("subscriptions", "42", doc)
    assert store.get("subscriptions", "42") == doc


def test_put_replaces_the_whole_document(store: StateStore) -> None:
    store.put("settings", "paused", {"value": True, "by": "admin"})
    store.put("settings", "paused", {"value": False})
    assert store.get("settings", "paused") == {"value": False}


def test_documents_come_back_as_json_gives_them(store: StateStore) -> None:
    store.put("t", "k", {"tuple": (1, 2), "nested": {"1": None}, "text": "Größe ✔"})
    assert store.get("t", "k") == {"tuple": [1, 2], "nested": {"1": None}, "text": "Größe ✔"}


def test_changing_a_returned_document_does_not_change_the_store(store: StateStore) -> None:
    store.put("t", "k", {"pairs": ["SOLUSDT"]})
    store.get("t", "k")["pairs"].append("BTCUSDT")
    store.all("t")[0]["pairs"].append("ETHUSDT")
    assert store.get("t", "k") == {"pairs": ["SOLUSDT"]}


def test_changing_a_put_document_afterwards_does_not_change_the_store(store: StateStore) -> None:
    doc = {"pairs": ["SOLUSDT"]}
    store.put("t", "k", doc)
    doc["pairs"].append("BTCUSDT")
    assert store.get("t", "k") == {"pairs": ["SOLUSDT"]}


def test_tables_are_separate(store: StateStore) -> None:
    store.put("positions", "1", {"side": "LONG"})
    store.put("signals", "1", {"side": "SHORT"})
    assert store.get("positions", "1") == {"side": "LONG"}


def test_delete_removes_and_reports_whether_the_key_existed(store: StateStore) -> None:
    store.put("t", "k", {"a": 1})
    assert (store.delete("t", "k"), store.delete("t", "k"), store.get("t", "k")) == (True, False, None)


def test_items_are_in_first_write_order_and_overwrite_keeps_the_place(store: StateStore) -> None:
    for key in ["b", "a", "c"]:
        store.put("t", key, {"key": key, "version": 1})
    store.put("t", "a", {"key": "a", "version": 2})
    store.delete("t", "c")
    assert store.items("t") == [("b", {"key": "b", "version": 1}), ("a", {"key": "a", "version": 2})]


def test_all_lists_the_documents_of_items(store: StateStore) -> None:
    store.put("t", "x", {"n": 1})
    store.put("t", "y", {"n": 2})
    assert store.all("t") == [{"n": 1}, {"n": 2}]


def test_a_missing_table_is_empty(store: StateStore) -> None:
    assert (store.all("nothing"), store.items("nothing")) == ([], [])


def test_append_numbers_entries_from_one(store: StateStore) -> None:
    numbers = [store.append("audit", {"change": n}) for n in range(3)]
    assert (numbers, store.get("audit", "2")) == ([1, 2, 3], {"change": 1})


def test_append_continues_after_the_largest_integer_key(store: StateStore) -> None:
    store.put("audit", "7", {"change": "imported"})
    store.put("audit", "note", {"change": "not a number"})
    assert store.append("audit", {"change": "next"}) == 8


def test_a_document_that_is_not_json_is_refused_and_nothing_is_stored(store: StateStore) -> None:
    with pytest.raises(StorageError, match="not JSON-serialisable"):
        store.put("t", "k", {"when": object()})
    assert store.get("t", "k") is None


def test_nan_is_refused(store: StateStore) -> None:
    with pytest.raises(StorageError, match="not JSON-serialisable"):
        store.put("t", "k", {"price": float("nan")})


def test_a_document_must_be_a_dict(store: StateStore) -> None:
    with pytest.raises(StorageError, match="must be a dict, got list"):
        store.put("t", "k", [1, 2])  # type: ignore[arg-type]


@pytest.mark.parametrize("table, key", [("", "k"), ("t", ""), ("t", 5)])
def test_empty_or_non_string_names_are_refused(store: StateStore, table: str, key: str) -> None:
    with pytest.raises(StorageError, match="must be a non-empty string"):
        store.put(table, key, {"a": 1})


def test_a_closed_store_refuses_to_work(store: StateStore) -> None:
    store.close()
    with pytest.raises(StorageError, match="closed"):
        store.get("t", "k")


def test_the_store_is_a_context_manager_that_closes(store: StateStore) -> None:
    with store as same:
        same.put("t", "k", {"a": 1})
    with pytest.raises(StorageError, match="closed"):
        store.all("t")


def test_write_applies_a_batch_of_puts_and_deletes_in_order(store: StateStore) -> None:
    store.put("positions", "old", {"status": "open"})
    store.write([Put("risk", "book", {"positions": ["new"]}), Put("positions", "new", {"status": "pending"}),
                 Delete("positions", "old"), Put("positions", "new", {"status": "open"}), Delete("t", "absent")])
    assert (store.items("positions"), store.get("risk", "book")) == \
        ([("new", {"status": "open"})], {"positions": ["new"]})


def test_a_batch_with_one_bad_document_changes_nothing(store: StateStore) -> None:
    store.put("risk", "book", {"n": 1})
    with pytest.raises(StorageError, match="not JSON-serialisable"):
        store.write([Put("risk", "book", {"n": 2}), Put("positions", "p", {"price": float("inf")})])
    assert (store.get("risk", "book"), store.get("positions", "p")) == ({"n": 1}, None)


def test_an_empty_batch_is_nothing(store: StateStore) -> None:
    store.write([])
    assert store.items("t") == []
