"""Keep the bot process small on a 512 MB host: process-wide allocator settings, made once at start, and
freed memory handed back after a whole-history job (a /backtest, a /tune preview, a /drift).

glibc gives each thread that allocates its own arena (up to 8 per core); the bot's worker threads
(state writes, decisions, charts) each keep freed memory in theirs. Two arenas hold the same work
in less memory; the event loop and the workers rarely allocate at the same moment. Parquet is read
through malloc, so what a read freed goes back too (see ``market.files``).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging

logger = logging.getLogger(__name__)
M_ARENA_MAX = -8  # glibc's mallopt parameter number
ARENAS = 2


def _glibc_call(function: str, *args: int) -> bool:
    """``libc.<function>(*args)`` where the C library is glibc; False where it is not (musl, macOS)."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        return bool(getattr(ctypes.CDLL(name), function)(*args))
    except (OSError, AttributeError):
        logger.debug("no glibc %s here", function)
        return False


def limit_malloc_arenas(arenas: int = ARENAS) -> bool:
    """Cap glibc's malloc arenas (a no-op elsewhere); returns whether the cap was set."""
    return _glibc_call("mallopt", M_ARENA_MAX, arenas)


def give_back_freed_memory(collect: bool = True) -> None:
    """Let glibc return the freed heap pages to the system (it keeps them otherwise: a 25-pair /backtest left
    ~70 MB of freed heap resident); after a whole-history job, first collect its cycles (``collect``: a full
    collection of a big heap takes a good part of a second, too long to do every hour)."""
    if collect:
        gc.collect()
    _glibc_call("malloc_trim", 0)


def lean_process() -> None:
    """The bot process's allocator settings (``python -m bot`` calls it before the bot starts)."""
    from market.files import read_through_the_system_allocator

    limit_malloc_arenas()
    read_through_the_system_allocator()
