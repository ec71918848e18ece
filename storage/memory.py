"""An in-memory :class:`~storage.store.StateStore` with the same contract as the file store."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from engines.errors import StorageError
from storage.store import (Change, Document, Put, StateStore, check_name, checked_changes, json_document,
                           next_append_key)


class MemoryStore(StateStore):
    """Tables kept in dicts; forgotten on close. For tests and for runs that need no state."""

    def __init__(self) -> None:
        self._tables: dict[str, dict[str, Document]] | None = {}
        self._lock = threading.Lock()

    def _table(self, table: str) -> dict[str, Document]:
        if self._tables is None:
            raise StorageError("the memory store is closed")
        return self._tables.setdefault(check_name("table", table), {})

    def get(self, table: str, key: str) -> Document | None:
        with self._lock:
            doc = self._table(table).get(check_name("key", key))
            return None if doc is None else json_document(doc)

    def put(self, table: str, key: str, doc: Document) -> None:
        stored = json_document(doc)
        with self._lock:
            self._table(table)[check_name("key", key)] = stored

    def delete(self, table: str, key: str) -> bool:
        with self._lock:
            return self._table(table).pop(check_name("key", key), None) is not None

    def items(self, table: str) -> list[tuple[str, Document]]:
        with self._lock:
            return [(key, json_document(doc)) for key, doc in self._table(table).items()]

    def append(self, table: str, doc: Document) -> int:
        stored = json_document(doc)
        with self._lock:
            rows = self._table(table)
            number = next_append_key(list(rows))
            rows[str(number)] = stored
            return number

    def write(self, changes: Sequence[Change]) -> None:
        checked = checked_changes(changes)
        with self._lock:
            for change in checked:
                rows = self._table(change.table)
                if isinstance(change, Put):
                    rows[change.key] = change.doc
                else:
                    rows.pop(change.key, None)

    def close(self) -> None:
        with self._lock:
            self._tables = None
