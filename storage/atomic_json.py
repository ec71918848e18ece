"""A TinyDB storage whose every write is atomic: temp file, fsync, ``os.replace``, fsync folder.

The file on disk is therefore always one complete JSON document, the one before a write or the
one after it, even if the process is killed in the middle. A killed writer can only leave a
stray temp file (``.<name>.<random>.tmp``) next to it, which :func:`remove_stale_temp_files`
deletes when the next writer opens the file.
"""

from __future__ import annotations

import glob
import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

from tinydb.storages import Storage

from engines.errors import StorageError

log = logging.getLogger(__name__)

Tables = dict[str, dict[str, Any]]


class AtomicJSONStorage(Storage):
    """Whole-file JSON storage for one writer process; keeps the last written data in memory."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._data: Tables | None = None

    def read(self) -> Tables:
        if self._data is None:
            self._data = load_tables(self.path)
        return self._data

    def write(self, data: Tables) -> None:
        # TinyDB mutates what read() returned before calling write(); if the write fails the
        # memory copy is ahead of the file, so drop it and re-read the file next time.
        self._data = None
        text = json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        replace_atomically(self.path, text.encode("utf-8"))
        self._data = data

    def close(self) -> None:
        self._data = None


def load_tables(path: Path) -> Tables:
    """The tables in ``path``; an absent or empty file is an empty database."""
    if not path.exists():
        return {}
    raw = path.read_bytes()
    if not raw.strip():
        return {}
    data = json.loads(raw)
    if not isinstance(data, dict) or not all(isinstance(t, dict) for t in data.values()):
        raise StorageError(f"{path} is not a state file: expected a JSON object of tables")
    return data


def replace_atomically(path: Path, content: bytes) -> None:
    """Make ``path`` hold ``content``: readers see the old bytes or the new ones, never a mix."""
    fd, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    replaced = False
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp_name, path)
        replaced = True
    finally:
        if not replaced:
            Path(temp_name).unlink(missing_ok=True)
    fsync_directory(path.parent)


def fsync_directory(folder: Path) -> None:
    """Persist the folder entry, so the rename survives a power cut."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def remove_stale_temp_files(path: Path) -> int:
    """Delete temp files a killed writer of ``path`` left behind; return how many."""
    stale = list(path.parent.glob(f".{glob.escape(path.name)}.*.tmp"))
    for temp in stale:
        temp.unlink(missing_ok=True)
        log.info("removed %s left by an interrupted write", temp)
    return len(stale)
