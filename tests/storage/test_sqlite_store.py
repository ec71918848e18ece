"""SQLiteStore on disk: restarts, the single-writer lock, and a full disk in the middle of a batch."""

from __future__ import annotations

from pathlib import Path

import pytest

from engines.errors import StorageError
from storage import Put, SQLiteStore


def test_a_reopened_file_holds_everything_written_before(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    with SQLiteStore(path) as store:
        store.put("subscriptions", "42", {"pairs": ["SOLUSDT"]})
        store.append("params_audit", {"user": 1})
        store.write([Put("subscriptions", "43", {"pairs": []}), Put("subscriptions", "42", {"pairs": ["ETHUSDT"]})])
        store.delete("subscriptions", "43")
    with SQLiteStore(path) as reopened:
        assert (reopened.items("subscriptions"), reopened.append("params_audit", {"user": 2})) == \
            ([("42", {"pairs": ["ETHUSDT"]})], 2)


def test_a_second_process_cannot_open_the_same_file(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "state.sqlite"):
        with pytest.raises(StorageError, match="in use by another process"):
            SQLiteStore(tmp_path / "state.sqlite")


def test_a_full_disk_rolls_the_whole_batch_back(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    with SQLiteStore(path) as store:
        store.put("risk", "book", {"positions": []})
        pages = store._db.execute("PRAGMA page_count").fetchone()[0]
        store._db.execute(f"PRAGMA max_page_count={pages}")  # SQLite's own "database or disk is full"
        with pytest.raises(StorageError, match="full"):
            store.write([Put("risk", "book", {"positions": ["SOLUSDT"]}),
                         Put("positions", "p", {"blob": "x" * 20_000})])
        assert (store.get("risk", "book"), store.get("positions", "p")) == ({"positions": []}, None)
        store._db.execute("PRAGMA max_page_count=1073741823")
        store.put("positions", "p", {"blob": "x"})
    with SQLiteStore(path) as reopened:
        assert (reopened.get("risk", "book"), reopened.get("positions", "p")) == ({"positions": []}, {"blob": "x"})


def test_a_file_that_is_not_a_database_is_a_storage_error(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    path.write_bytes(b"this is not SQLite" * 100)
    with pytest.raises(StorageError, match="cannot open state file"):
        SQLiteStore(path)
