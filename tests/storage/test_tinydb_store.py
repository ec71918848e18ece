"""TinyDBStore on disk: restarts, the single-writer lock, damaged files and failed writes."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from engines.errors import StorageError
from storage import TinyDBStore


def test_a_reopened_file_holds_everything_written_before(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    with TinyDBStore(path) as store:
        store.put("subscriptions", "42", {"pairs": ["SOLUSDT"]})
        store.put("sent_signals", "42|SCALP:SOLUSDT:LONG:2025-05-20T12:15:00Z", {"message_id": 7})
        store.append("params_audit", {"user": 1, "changes": {"tp_pct": 0.6}})
        store.delete("subscriptions", "42")
        store.put("subscriptions", "43", {"pairs": []})
    with TinyDBStore(path) as reopened:
        assert {table: reopened.items(table) for table in ("subscriptions", "sent_signals", "params_audit")} == {
            "subscriptions": [("43", {"pairs": []})],
            "sent_signals": [("42|SCALP:SOLUSDT:LONG:2025-05-20T12:15:00Z", {"message_id": 7})],
            "params_audit": [("1", {"user": 1, "changes": {"tp_pct": 0.6}})],
        }


def test_append_numbering_continues_after_a_restart(tmp_path: Path) -> None:
    with TinyDBStore(tmp_path / "state.json") as store:
        store.append("log", {"n": 1})
        store.append("log", {"n": 2})
    with TinyDBStore(tmp_path / "state.json") as reopened:
        assert reopened.append("log", {"n": 3}) == 3


def test_the_file_is_plain_json_of_tables(tmp_path: Path) -> None:
    with TinyDBStore(tmp_path / "state.json") as store:
        store.put("settings", "paused", {"value": True})
    assert json.loads((tmp_path / "state.json").read_text("utf-8")) == {"settings": {"paused": {"value": True}}}


def test_missing_parent_folders_are_created(tmp_path: Path) -> None:
    with TinyDBStore(tmp_path / "var" / "bot" / "state.json") as store:
        store.put("t", "k", {"a": 1})
    assert (tmp_path / "var" / "bot" / "state.json").is_file()


def test_an_empty_file_opens_as_an_empty_store(tmp_path: Path) -> None:
    (tmp_path / "state.json").write_bytes(b"")
    with TinyDBStore(tmp_path / "state.json") as store:
        assert store.all("t") == []


def test_a_second_store_on_the_same_file_is_refused(tmp_path: Path) -> None:
    with TinyDBStore(tmp_path / "state.json"):
        with pytest.raises(StorageError, match="in use by another process"):
            TinyDBStore(tmp_path / "state.json")


def test_closing_releases_the_file_for_the_next_store(tmp_path: Path) -> None:
    TinyDBStore(tmp_path / "state.json").close()
    with TinyDBStore(tmp_path / "state.json") as store:
        assert store.get("t", "k") is None


def test_a_file_that_is_not_json_is_a_storage_error(tmp_path: Path) -> None:
    (tmp_path / "state.json").write_text('{"settings": {"paused": ', "utf-8")
    with pytest.raises(StorageError, match="cannot open state file"):
        TinyDBStore(tmp_path / "state.json")


def test_json_that_is_not_tables_is_a_storage_error(tmp_path: Path) -> None:
    (tmp_path / "state.json").write_text("[1, 2]", "utf-8")
    with pytest.raises(StorageError, match="expected a JSON object of tables"):
        TinyDBStore(tmp_path / "state.json")


def test_a_refused_open_releases_the_file_lock(tmp_path: Path) -> None:
    (tmp_path / "state.json").write_text("[1, 2]", "utf-8")
    with pytest.raises(StorageError):
        TinyDBStore(tmp_path / "state.json")
    (tmp_path / "state.json").write_text("{}", "utf-8")
    with TinyDBStore(tmp_path / "state.json") as store:
        assert store.all("t") == []


def test_temp_files_left_by_a_killed_writer_are_removed_on_open(tmp_path: Path) -> None:
    (tmp_path / ".state.json.k3j9x_1a.tmp").write_text('{"half": ', "utf-8")
    (tmp_path / ".other.json.zz.tmp").write_text("{}", "utf-8")
    TinyDBStore(tmp_path / "state.json").close()
    assert sorted(p.name for p in tmp_path.iterdir()) == [".other.json.zz.tmp", "state.json.lock"]


def test_a_failed_write_raises_storage_error_and_leaves_no_temp_file(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    with TinyDBStore(path) as store:
        store.put("t", "k", {"v": 1})
        path.unlink()
        path.mkdir()  # renaming a file onto a folder fails: a stand-in for a full disk
        with pytest.raises(StorageError, match="cannot write table 't'"):
            store.put("t", "k", {"v": 2})
        assert sorted(p.name for p in tmp_path.iterdir()) == ["state.json", "state.json.lock"]


def test_after_a_failed_write_the_store_reads_what_the_file_holds(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    with TinyDBStore(path) as store:
        store.put("t", "k", {"v": 1})
        saved = path.read_bytes()
        path.unlink()
        path.mkdir()
        with pytest.raises(StorageError):
            store.put("t", "k", {"v": 2})
        path.rmdir()
        path.write_bytes(saved)
        assert store.get("t", "k") == {"v": 1}


def test_writes_from_many_threads_are_all_kept(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    numbers: list[int] = []

    def write(thread: int) -> None:
        for i in range(25):
            store.put("records", f"{thread}-{i}", {"thread": thread, "i": i})
            numbers.append(store.append("log", {"thread": thread}))

    with TinyDBStore(path) as store:
        threads = [threading.Thread(target=write, args=(t,)) for t in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    with TinyDBStore(path) as reopened:
        assert (len(reopened.all("records")), sorted(numbers)) == (100, list(range(1, 101)))
