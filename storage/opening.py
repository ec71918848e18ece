"""Open the bot's state file: SQLite, importing a TinyDB JSON file of an older version once."""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
from pathlib import Path

from storage.atomic_json import load_tables
from storage.sqlite_store import SQLiteStore
from storage.store import Put, StateStore
from storage.tinydb_store import TinyDBStore

log = logging.getLogger(__name__)


def open_store(path: str | os.PathLike[str]) -> SQLiteStore:
    """The state store for ``path``; a ``.json`` path (TinyDB, older versions) becomes ``<name>.sqlite``.

    The first time, the JSON file's tables are copied into the new file in one write; the JSON
    file is left as it was.
    """
    path = Path(path)
    if path.suffix != ".json":
        return SQLiteStore(path)
    target = path.with_suffix(".sqlite")
    fresh = not target.exists()
    store = SQLiteStore(target)
    if fresh and path.exists():
        tables = load_tables(path)
        store.write([Put(table, key, doc) for table, rows in tables.items() for key, doc in rows.items()])
        log.info("imported %d records of %s into %s", sum(map(len, tables.values())), path, target)
    return store


SQLITE_MAGIC = b"SQLite format 3\x00"


def state_file(path: str | os.PathLike[str]) -> Path:
    """The file that holds the state configured as ``path``: a ``.json`` path's ``.sqlite`` twin once
    the bot has imported it there, else ``path`` itself."""
    path = Path(path)
    if path.suffix == ".json" and path.with_suffix(".sqlite").is_file():
        return path.with_suffix(".sqlite")
    return path


def open_snapshot(path: str | os.PathLike[str], folder: str | os.PathLike[str]) -> StateStore:
    """A consistent copy of the state file ``path`` (the bot may be running), opened from ``folder``.

    A ``.json`` path whose ``.sqlite`` twin exists means the twin (the bot imported it there). A SQLite
    file is copied with SQLite's backup API, which includes what is still in its write-ahead log.
    """
    path = state_file(path)
    copy = Path(folder) / path.name
    with open(path, "rb") as handle:
        is_sqlite = handle.read(len(SQLITE_MAGIC)) == SQLITE_MAGIC
    if not is_sqlite:
        shutil.copyfile(path, copy)
        return TinyDBStore(copy)
    source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        with sqlite3.connect(copy) as target:
            source.backup(target)
        target.close()
    finally:
        source.close()
    return SQLiteStore(copy)
