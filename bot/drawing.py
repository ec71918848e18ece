"""Charts drawn off the event loop in a bounded pool that other commands never wait for.

The pool has its own worker threads (not asyncio's default executor, which decisions and /signal
use) and the chart functions render one figure at a time (``charts.png``). Charts a user asks for
(/levels, a position chart, a backtest's equity curve) queue up to ``max_waiting``; past that the
user is told to try again, so a burst can neither pile up work without bound nor delay the
replies to other commands, whose handlers do not wait for charts (they are registered with
``block=False``). Signal charts for broadcasts are never refused.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from engines.errors import SignalTrackerError

T = TypeVar("T")
CHART_WORKERS = 2
MAX_WAITING_CHARTS = 16


class ChartsBusy(SignalTrackerError):
    """Too many charts are waiting to be drawn; the user should ask again shortly."""


class ChartPool:
    """A fixed number of chart threads and a cap on the charts users may have waiting."""

    def __init__(self, workers: int = CHART_WORKERS, max_waiting: int = MAX_WAITING_CHARTS) -> None:
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="charts")
        self.max_waiting = max_waiting
        self.waiting = 0

    async def draw(self, render: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``render(*args, **kwargs)`` on a chart thread; always queued (broadcast charts)."""
        self.waiting += 1
        try:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._executor, functools.partial(render, *args, **kwargs))
        finally:
            self.waiting -= 1

    async def draw_on_request(self, render: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Like :meth:`draw`, for a chart a user asked for: refused with :class:`ChartsBusy` when full."""
        if self.waiting >= self.max_waiting:
            raise ChartsBusy(f"{self.waiting} charts are being drawn; please ask again in a minute.")
        return await self.draw(render, *args, **kwargs)


CHARTS = ChartPool()


async def draw(render: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Draw on the bot's chart pool (never refused)."""
    return await CHARTS.draw(render, *args, **kwargs)


async def draw_on_request(render: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Draw a chart a user asked for on the bot's chart pool; raises :class:`ChartsBusy` when it is full."""
    return await CHARTS.draw_on_request(render, *args, **kwargs)
