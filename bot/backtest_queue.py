"""One chat backtest at a time: later requests wait their turn, in order, and know their place."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator


def place_text(ahead: int) -> str:
    """What a request is told while it waits."""
    return f"queued: {ahead} backtest{'s' if ahead > 1 else ''} ahead of yours"


class BacktestQueue:
    """First come, first served (``asyncio.Lock`` wakes waiters in order)."""

    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        self._waiting = 0

    @property
    def ahead(self) -> int:
        """Backtests a new request would wait for: the running one and those queued."""
        return self._waiting + (1 if self._lock.locked() else 0)

    @contextlib.asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        self._waiting += 1
        try:
            await self._lock.acquire()
        finally:
            self._waiting -= 1
        try:
            yield
        finally:
            self._lock.release()
