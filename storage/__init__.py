"""State that survives restarts, behind one small interface (see :mod:`storage.store`)."""

from storage.memory import MemoryStore
from storage.opening import open_snapshot, open_store, state_file
from storage.sqlite_store import SQLiteStore
from storage.store import Change, Delete, Document, Put, StateStore
from storage.tinydb_store import TinyDBStore

__all__ = ["Change", "Delete", "Document", "MemoryStore", "Put", "SQLiteStore", "StateStore", "TinyDBStore", "open_snapshot", "open_store", "state_file"]
