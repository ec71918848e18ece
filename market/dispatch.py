"""Hands market events to the feed's listeners, one event at a time, in order."""

from __future__ import annotations

import logging

from market.feed import Listener, MarketEvent

logger = logging.getLogger(__name__)


class ListenerSet:
    """The listeners of one feed; a listener that raises is logged and does not stop the others."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []

    def add(self, listener: Listener) -> None:
        self._listeners.append(listener)

    async def emit(self, event: MarketEvent) -> None:
        for listener in list(self._listeners):
            try:
                await listener(event)
            except Exception:  # a listener's bug must not stop the feed
                logger.exception("market listener %r failed on %s", listener, type(event).__name__)
