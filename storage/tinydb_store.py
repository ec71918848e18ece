"""The default :class:`~storage.store.StateStore`: one TinyDB JSON file with atomic writes.

One process owns the file (an exclusive ``flock`` on ``<file>.lock``; a second opener gets a
``StorageError``), and inside it every call goes through one lock, so the asyncio thread and
pybit's callback thread can both use the store. ``put``/``delete``/``append`` return after the
new file is fsynced and renamed into place; each rewrites the whole file, which suits the few
thousand small documents the bot keeps. Call them from a worker thread (``asyncio.to_thread``)
if the event loop must never wait for a disk flush.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from tinydb import TinyDB
from tinydb.table import Document as TinyDocument
from tinydb.table import Table

from engines.errors import StorageError
from storage.atomic_json import AtomicJSONStorage, remove_stale_temp_files
from storage.file_lock import acquire_file_lock
from storage.store import (Change, Document, Put, StateStore, check_name, checked_changes, json_document,
                           next_append_key)


class _KeyedTable(Table):
    """A TinyDB table whose document ids are the caller's string keys."""

    document_id_class = str


class _KeyedTinyDB(TinyDB):
    table_class = _KeyedTable


class TinyDBStore(StateStore):
    """Tables of JSON documents in the TinyDB file ``path`` (parent folders are created)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = threading.RLock()
        self._lock_file: IO[str] | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._lock_file = acquire_file_lock(self.path)
            remove_stale_temp_files(self.path)
            self._db: TinyDB | None = _KeyedTinyDB(self.path, storage=AtomicJSONStorage)
            self._db.storage.read()
        except (OSError, ValueError) as e:
            self._release_file_lock()
            raise StorageError(f"cannot open state file {self.path}: {e}") from e
        except StorageError:
            self._release_file_lock()
            raise

    def get(self, table: str, key: str) -> Document | None:
        with self._guarded("read", table) as db:
            doc = db.table(table).get(doc_id=check_name("key", key))
            return None if doc is None else json_document(dict(doc))

    def put(self, table: str, key: str, doc: Document) -> None:
        stored = json_document(doc)
        with self._guarded("write", table) as db:
            rows = db.table(table)
            if rows.contains(doc_id=check_name("key", key)):
                rows.update(_replacement(stored), doc_ids=[key])
            else:
                rows.insert(TinyDocument(stored, doc_id=key))

    def delete(self, table: str, key: str) -> bool:
        with self._guarded("delete from", table) as db:
            rows = db.table(table)
            if not rows.contains(doc_id=check_name("key", key)):
                return False
            rows.remove(doc_ids=[key])
            return True

    def items(self, table: str) -> list[tuple[str, Document]]:
        with self._guarded("read", table) as db:
            return [(doc.doc_id, json_document(dict(doc))) for doc in db.table(table)]

    def append(self, table: str, doc: Document) -> int:
        stored = json_document(doc)
        with self._guarded("append to", table) as db:
            rows = db.table(table)
            number = next_append_key([row.doc_id for row in rows])
            rows.insert(TinyDocument(stored, doc_id=str(number)))
            return number

    def write(self, changes: Sequence[Change]) -> None:
        """One file replacement for the whole batch; the tables in memory change only if it succeeds."""
        checked = checked_changes(changes)
        with self._guarded("write", "batch") as db:
            tables = dict(db.storage.read())
            for name in {change.table for change in checked}:
                tables[name] = dict(tables.get(name, {}))
            for change in checked:
                if isinstance(change, Put):
                    tables[change.table][change.key] = change.doc
                else:
                    tables[change.table].pop(change.key, None)
            db.storage.write(tables)
            for name in {change.table for change in checked}:
                db.table(name).clear_cache()

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None
            self._release_file_lock()

    @contextmanager
    def _guarded(self, action: str, table: str) -> Iterator[TinyDB]:
        """Hold the store's lock and turn backend errors into ``StorageError``."""
        with self._lock:
            if self._db is None:
                raise StorageError(f"the state store {self.path} is closed")
            check_name("table", table)
            try:
                yield self._db
            except (OSError, ValueError, TypeError) as e:
                raise StorageError(f"cannot {action} table {table!r} in {self.path}: {e}") from e

    def _release_file_lock(self) -> None:
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None


def _replacement(doc: Document) -> Callable[[dict[str, Any]], None]:
    """A TinyDB update that replaces the whole document instead of merging fields."""

    def replace(stored: dict[str, Any]) -> None:
        stored.clear()
        stored.update(doc)

    return replace

