"""The bot's :class:`~storage.store.StateStore`: one SQLite file (standard library), WAL, transactions.

Why not TinyDB: TinyDB rewrites the whole JSON file on every change, so a write costs time in
proportion to everything ever stored (``benchmarks/bench_storage.py``: about 0.2 s a put at
50,000 sent signals). SQLite changes only the pages a write touches, and a transaction makes a
batch of changes (:meth:`write`) one atomic, durable step: after a crash, a power cut or a full
disk the file holds the batch completely or not at all.

- One process owns the file (an exclusive ``flock`` on ``<file>.lock``; a second opener gets a
  ``StorageError``); inside it one lock serialises calls, so any thread may use the store.
- ``journal_mode=WAL`` with ``synchronous=FULL``: a commit appends to the write-ahead log and
  fsyncs it (no rewrite of the database file), so it is durable on return.
- Documents are JSON text in one table ``documents(tbl, key, num, doc)``; the rowid keeps the
  first-write order, ``num`` is the key as an integer (for :meth:`append`) or NULL.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from engines.errors import StorageError
from storage.file_lock import acquire_file_lock
from storage.store import Change, Document, Put, StateStore, check_name, checked_changes

SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    tbl TEXT NOT NULL,
    key TEXT NOT NULL,
    num INTEGER,
    doc TEXT NOT NULL,
    UNIQUE (tbl, key)
);
CREATE INDEX IF NOT EXISTS documents_num ON documents (tbl, num);
"""
UPSERT = ("INSERT INTO documents (tbl, key, num, doc) VALUES (?, ?, ?, ?) "
          "ON CONFLICT (tbl, key) DO UPDATE SET doc = excluded.doc")


def _number(key: str) -> int | None:
    return int(key) if key.isascii() and key.isdigit() else None


def _text(doc: Document) -> str:
    return json.dumps(doc, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


class SQLiteStore(StateStore):
    """Tables of JSON documents in the SQLite file ``path`` (parent folders are created)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:

        self.path = Path(path)
        self._lock = threading.RLock()
        self._lock_file: IO[str] | None = None
        self._db: sqlite3.Connection | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._lock_file = acquire_file_lock(self.path)
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(SCHEMA)
        except (OSError, sqlite3.Error) as e:
            self.close()
            raise StorageError(f"cannot open state file {self.path}: {e}") from e
        except StorageError:
            self.close()
            raise

    def get(self, table: str, key: str) -> Document | None:
        with self._guarded("read", table) as db:
            row = db.execute("SELECT doc FROM documents WHERE tbl = ? AND key = ?",
                             (table, check_name("key", key))).fetchone()
        return None if row is None else json.loads(row[0])

    def put(self, table: str, key: str, doc: Document) -> None:
        self.write([Put(table, key, doc)])

    def delete(self, table: str, key: str) -> bool:
        with self._guarded("delete from", table) as db:
            with self._transaction(db):
                cursor = db.execute("DELETE FROM documents WHERE tbl = ? AND key = ?", (table, check_name("key", key)))
            return cursor.rowcount > 0

    def items(self, table: str) -> list[tuple[str, Document]]:
        with self._guarded("read", table) as db:
            rows = db.execute("SELECT key, doc FROM documents WHERE tbl = ? ORDER BY rowid", (table,)).fetchall()
        return [(key, json.loads(doc)) for key, doc in rows]

    def append(self, table: str, doc: Document) -> int:
        [checked] = checked_changes([Put(table, "0", doc)])
        with self._guarded("append to", table) as db:
            with self._transaction(db):
                (largest,) = db.execute("SELECT max(num) FROM documents WHERE tbl = ?", (table,)).fetchone()
                number = (largest or 0) + 1
                db.execute(UPSERT, (table, str(number), number, _text(checked.doc)))
            return number

    def write(self, changes: Sequence[Change]) -> None:
        checked = checked_changes(changes)
        if not checked:
            return
        with self._guarded("write", checked[0].table) as db:
            with self._transaction(db):
                for change in checked:
                    if isinstance(change, Put):
                        db.execute(UPSERT, (change.table, change.key, _number(change.key), _text(change.doc)))
                    else:
                        db.execute("DELETE FROM documents WHERE tbl = ? AND key = ?", (change.table, change.key))

    def count(self, table: str) -> int:
        """How many documents ``table`` holds."""
        with self._guarded("read", table) as db:
            return int(db.execute("SELECT count(*) FROM documents WHERE tbl = ?", (table,)).fetchone()[0])

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None
            if self._lock_file is not None:
                self._lock_file.close()
                self._lock_file = None

    @contextmanager
    def _guarded(self, action: str, table: str) -> Iterator[sqlite3.Connection]:
        """Hold the store's lock and turn backend errors into ``StorageError``."""
        with self._lock:
            if self._db is None:
                raise StorageError(f"the state store {self.path} is closed")
            check_name("table", table)
            try:
                yield self._db
            except (sqlite3.Error, OSError) as e:
                error = StorageError(f"cannot {action} table {table!r} in {self.path}: {e}")
                if action != "read":
                    self.write_error = str(error)
                raise error from e
            if action != "read":
                self.write_error = None

    @staticmethod
    @contextmanager
    def _transaction(db: sqlite3.Connection) -> Iterator[None]:
        """``BEGIN IMMEDIATE`` .. ``COMMIT``; any error rolls the whole batch back."""
        db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        try:
            db.execute("COMMIT")
        except sqlite3.Error:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
