"""The state store's interface: named tables of JSON documents, keyed by a string id.

Everything the bot must remember across restarts goes through :class:`StateStore`. The store
knows nothing about the bot's types: callers put ``model.model_dump(mode="json")`` and rebuild
their models from what they get back. Example table names (the bot owns the real list):

    subscriptions     key = chat id                    {"chat_id": ..., "pairs": [...], "engines": [...]}
    params            key = version number             {"version": 3, "values": {...}}
    params_audit      append-only log                  {"at": ..., "user": ..., "changes": {...}}
    positions         key = position id                a paper position, open or closed
    sent_signals      key = f"{chat_id}|{signal.key}"  {"message_id": ..., "sent_at": ...}
    risk              key = pair or "book"             cooldowns, trades today
    settings          key = name                       {"value": true}  (e.g. "paused")

Contract shared by every implementation:

- ``put`` replaces the whole document (no merge); ``get`` returns a copy or ``None``.
- Documents go through JSON on the way in, so a tuple comes back as a list, and anything JSON
  cannot represent raises :class:`~engines.errors.StorageError` without changing the store.
- ``items`` / ``all`` list a table in the order its keys were first written (stable across
  restarts); overwriting a key keeps its place.
- ``append`` stores a document under the next integer key (1, 2, ...; one more than the largest
  integer key in the table) and returns that number; ``get(table, str(n))`` reads it back.
- ``write`` applies a batch of :class:`Put` / :class:`Delete` changes as one atomic, durable
  write: after it returns all of them are stored; if it raises, none is (memory and file agree).
  One state change of the bot (an admission, a fill, a close, a delivery) is one ``write``.
- A missing table is an empty table. Every error of the backend is a ``StorageError``.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from engines.errors import StorageError

Document = dict[str, Any]


@dataclass(frozen=True)
class Put:
    """Store ``doc`` under ``key`` of ``table`` (part of a :meth:`StateStore.write`)."""

    table: str
    key: str
    doc: Document


@dataclass(frozen=True)
class Delete:
    """Remove ``key`` from ``table`` if it is there (part of a :meth:`StateStore.write`)."""

    table: str
    key: str


Change = Put | Delete


class StateStore(ABC):
    """Named tables of JSON documents keyed by string ids; see the module docstring."""

    write_error: str | None = None  # why the last write failed; None again once a write succeeds

    @abstractmethod
    def get(self, table: str, key: str) -> Document | None:
        """The document stored under ``key``, or ``None``."""

    @abstractmethod
    def put(self, table: str, key: str, doc: Document) -> None:
        """Store ``doc`` under ``key``, replacing any previous document; durable on return."""

    @abstractmethod
    def delete(self, table: str, key: str) -> bool:
        """Remove ``key``; ``True`` if it existed."""

    @abstractmethod
    def items(self, table: str) -> list[tuple[str, Document]]:
        """Every ``(key, document)`` of ``table`` in first-write order."""

    @abstractmethod
    def append(self, table: str, doc: Document) -> int:
        """Store ``doc`` under the next integer key of ``table`` and return that key."""

    @abstractmethod
    def write(self, changes: Sequence[Change]) -> None:
        """Apply ``changes`` in order as one atomic, durable write (all of them or none)."""

    @abstractmethod
    def close(self) -> None:
        """Release the backend; the store must not be used afterwards."""

    def all(self, table: str) -> list[Document]:
        """Every document of ``table`` in first-write order."""
        return [doc for _, doc in self.items(table)]

    def __enter__(self) -> StateStore:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()


def check_name(what: str, name: str) -> str:
    """``name`` if it is a non-empty string; a table or key of any other type is a caller bug."""
    if not isinstance(name, str) or not name:
        raise StorageError(f"{what} must be a non-empty string, got {name!r}")
    return name


def json_document(doc: Document) -> Document:
    """A deep copy of ``doc`` as JSON would give it back; ``StorageError`` if it is not JSON."""
    if not isinstance(doc, dict):
        raise StorageError(f"a document must be a dict, got {type(doc).__name__}")
    try:
        return json.loads(json.dumps(doc, allow_nan=False))
    except (TypeError, ValueError) as e:
        raise StorageError(f"document is not JSON-serialisable: {e}") from e


def checked_changes(changes: Sequence[Change]) -> list[Change]:
    """``changes`` with names checked and documents copied as JSON gives them; raises before any is applied."""
    checked: list[Change] = []
    for change in changes:
        if isinstance(change, Put):
            checked.append(Put(check_name("table", change.table), check_name("key", change.key),
                               json_document(change.doc)))
        elif isinstance(change, Delete):
            checked.append(Delete(check_name("table", change.table), check_name("key", change.key)))
        else:
            raise StorageError(f"a change must be a Put or a Delete, got {type(change).__name__}")
    return checked


def next_append_key(keys: list[str]) -> int:
    """One more than the largest integer key (1 for a table without integer keys)."""
    numbers = [int(key) for key in keys if key.isascii() and key.isdigit()]
    return max(numbers, default=0) + 1
