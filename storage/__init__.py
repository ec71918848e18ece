"""State that survives restarts, behind one small interface (see :mod:`storage.store`)."""

from storage.memory import MemoryStore
from storage.store import Document, StateStore
from storage.tinydb_store import TinyDBStore

__all__ = ["Document", "MemoryStore", "StateStore", "TinyDBStore"]
