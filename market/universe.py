"""Which pairs the bot tracks: the top USDT perpetuals by 24 h turnover on Bybit, refreshed daily.

A configured list overrides the ranking. The ranking uses Bybit's ``/v5/market/tickers``
(``turnover24h``, quote currency) restricted to trading, USDT-settled linear perpetuals.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import pandas as pd

from engines.errors import DataUnavailable, InvalidInput
from market.history import Clock, HistoryClient, wall_clock

logger = logging.getLogger(__name__)
UNIVERSE_SIZE = 25
REFRESH_EVERY = pd.Timedelta(days=1)


def usdt_perpetual_ids(markets: dict) -> set[str]:
    """Exchange ids (``SOLUSDT``) of the trading, USDT-settled linear perpetuals among ccxt markets."""
    return {m["id"] for m in markets.values()
            if m.get("swap") and m.get("linear") and m.get("settle") == "USDT" and m.get("active")}


def top_by_turnover(tickers: Sequence[dict], allowed: set[str], size: int = UNIVERSE_SIZE) -> list[str]:
    """The ``size`` allowed symbols with the highest ``turnover24h``, highest first (ties by name)."""
    if size < 1:
        raise InvalidInput(f"universe size must be >= 1, got {size}")
    ranked = []
    for row in tickers:
        symbol = row.get("symbol")
        try:
            turnover = float(row.get("turnover24h") or "nan")
        except ValueError:
            continue
        if symbol in allowed and turnover == turnover:
            ranked.append((-turnover, symbol))
    return [symbol for _, symbol in sorted(ranked)[:size]]


class Universe:
    """The tracked pairs: ``configured`` if given, else the daily top ``size`` by turnover."""

    def __init__(self, rest: HistoryClient, configured: Sequence[str] | None = None, *, size: int = UNIVERSE_SIZE,
                 refresh_every: pd.Timedelta = REFRESH_EVERY, clock: Clock = wall_clock) -> None:
        self.rest = rest
        self.configured = [p.strip().upper() for p in configured or [] if p.strip()]
        self.size = size
        self.refresh_every = refresh_every
        self.clock = clock
        self._selected: list[str] = []
        self._selected_at: pd.Timestamp | None = None

    async def pairs(self) -> list[str]:
        """The current selection; re-ranked when the last ranking is older than ``refresh_every``."""
        if self.configured:
            return list(self.configured)
        now = self.clock()
        if self._selected_at is None or now - self._selected_at >= self.refresh_every:
            await self.refresh()
        return list(self._selected)

    async def refresh(self) -> list[str]:
        markets = await self.rest.load_markets()
        selected = top_by_turnover(await self.rest.linear_tickers(), usdt_perpetual_ids(markets), self.size)
        if not selected:
            raise DataUnavailable("Bybit listed no USDT perpetual with a 24 h turnover")
        self._selected, self._selected_at = selected, self.clock()
        logger.info("universe: top %d by 24 h turnover: %s", len(selected), ", ".join(selected))
        return list(selected)
