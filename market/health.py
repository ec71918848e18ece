"""Health of one market data source (a WebSocket stream, a REST API), for ``/status`` and the log.

A source is *ok* after a success and *failing* after a failure; :class:`SourceHealth` remembers
since when, how many calls failed in a row and the last error. The log gets the first failure at
once, then at most one line a minute while the source keeps failing (with the count), and one
line when it recovers: an outage of minutes is a few lines, not hundreds.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import pandas as pd

from market.feed import SourceState

logger = logging.getLogger(__name__)
LOG_EVERY_SECONDS = 60.0


def wall_clock() -> pd.Timestamp:
    return pd.Timestamp.now(tz="UTC")


class SourceHealth:
    """The state of one source; call :meth:`ok` after each success and :meth:`failed` after each failure."""

    def __init__(self, name: str, *, clock: Callable[[], pd.Timestamp] = wall_clock,
                 log_every: float = LOG_EVERY_SECONDS) -> None:
        self.name = name
        self.clock = clock
        self.log_every = log_every
        self._ok: bool | None = None
        self._since: pd.Timestamp | None = None
        self._last_ok: pd.Timestamp | None = None
        self._failures = 0
        self._note = "not used yet"
        self._logged_at: float | None = None
        self._unlogged = 0

    def ok(self, note: str = "ok") -> None:
        now = self.clock()
        if self._ok is False:
            logger.warning("%s recovered after %d failed attempt(s) since %s", self.name, self._failures,
                           self._since.strftime("%Y-%m-%d %H:%M:%S UTC"))
        if self._ok is not True:
            self._since = now
        self._ok, self._last_ok, self._failures, self._note = True, now, 0, note
        self._logged_at, self._unlogged = None, 0

    def failed(self, error: str) -> None:
        if self._ok is not False:
            self._since = self.clock()
        self._ok, self._note = False, error
        self._failures += 1
        self._unlogged += 1
        now = time.monotonic()
        if self._logged_at is None or now - self._logged_at >= self.log_every:
            again = "" if self._logged_at is None else f" ({self._unlogged} failed attempt(s) since the last report)"
            logger.warning("%s failing since %s%s: %s; retrying", self.name,
                           self._since.strftime("%Y-%m-%d %H:%M:%S UTC"), again, error)
            self._logged_at, self._unlogged = now, 0

    @property
    def failing(self) -> bool:
        return self._ok is False

    def state(self) -> SourceState:
        return SourceState(self.name, self._ok, self._since, self._last_ok, self._failures, self._note)
