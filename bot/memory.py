"""Keep the bot process small on a 512 MB host: process-wide allocator settings, made once at start.

glibc gives each thread that allocates its own arena (up to 8 per core); the bot's worker threads
(state writes, decisions, charts) each keep freed memory in theirs. Two arenas hold the same work
in less memory; the event loop and the workers rarely allocate at the same moment. Parquet is read
through malloc, so what a read freed goes back too (see ``market.files``).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

logger = logging.getLogger(__name__)
M_ARENA_MAX = -8  # glibc's mallopt parameter number
ARENAS = 2


def limit_malloc_arenas(arenas: int = ARENAS) -> bool:
    """Cap glibc's malloc arenas (a no-op elsewhere); returns whether the cap was set."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        return bool(libc.mallopt(M_ARENA_MAX, arenas))
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to cap
        logger.debug("malloc arenas not capped: no glibc mallopt")
        return False


def lean_process() -> None:
    """The bot process's allocator settings (``python -m bot`` calls it before the bot starts)."""
    from market.files import read_through_the_system_allocator

    limit_malloc_arenas()
    read_through_the_system_allocator()
