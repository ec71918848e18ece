"""One process per state file: an exclusive ``flock`` on ``<path>.lock``, shared by every store."""

from __future__ import annotations

import fcntl
from pathlib import Path
from typing import IO

from engines.errors import StorageError


def acquire_file_lock(path: Path) -> IO[str]:
    """An exclusive lock on ``<path>.lock``, held until the handle is closed (or the process dies)."""
    handle = open(path.with_name(path.name + ".lock"), "a", encoding="utf-8")
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as e:
        handle.close()
        raise StorageError(f"{path} is in use by another process") from e
    return handle
