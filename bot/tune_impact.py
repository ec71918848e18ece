"""The /tune preview's numbers: old vs new parameters on the bot's own last two weeks.

The history (the bot's candles up to the last 15m close), the signals and the rows of every
parameter set previewed are kept until the next 15m close, so a second preview only computes what
the new parameters change. CPU-bound: called in a worker thread; one preview at a time.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pandas as pd

from bot.backtest_runner import feed_history
from engines.backtest.preview import ImpactRow, TuneImpact, tune_impact
from engines.backtest.sweep import SignalCache
from engines.errors import DataUnavailable
from engines.params import StrategyParams
from market.feed import MarketFeed

PREVIEW_DAYS = 7
STEP = "15min"


class ImpactPreviews:
    """Computes :class:`TuneImpact` for the bot, caching the history and signals per 15m close."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key: tuple | None = None
        self._cache: SignalCache | None = None
        self._rows: dict[tuple, ImpactRow] = {}

    def impact(self, feed: MarketFeed, replay_dir: Path | None, old: StrategyParams,
               new: StrategyParams) -> TuneImpact:
        with self._lock:
            cache = self._current(feed, replay_dir)
            return tune_impact(cache.history, old, new, cache.end, days=PREVIEW_DAYS, cache=cache, rows=self._rows)

    def warm(self, feed: MarketFeed, replay_dir: Path | None, params: StrategyParams) -> None:
        """Compute ``params``' side of the preview now (the /tune keyboard opened: a preview follows)."""
        with self._lock:
            cache = self._current(feed, replay_dir)
            tune_impact(cache.history, params, params, cache.end, days=PREVIEW_DAYS, cache=cache, rows=self._rows)

    def _current(self, feed: MarketFeed, replay_dir: Path | None) -> SignalCache:
        end = pd.Timestamp(feed.now()).floor(STEP)
        key = (end, tuple(feed.pairs()), replay_dir)
        if key != self._key or self._cache is None:
            self._cache, self._rows = self._signal_cache(feed, replay_dir, end), {}
            self._key = key
        return self._cache

    @staticmethod
    def _signal_cache(feed: MarketFeed, replay_dir: Path | None, end: pd.Timestamp) -> SignalCache:
        history = feed_history(feed, (), replay_dir)
        start = end - pd.Timedelta(days=2 * PREVIEW_DAYS)
        if start < history.first:
            days = max((end - history.first) / pd.Timedelta(days=1), 0)
            raise DataUnavailable(f"a preview needs {2 * PREVIEW_DAYS} days of candles before now; "
                                  f"the bot has {days:.1f}")
        return SignalCache(history, start, end)
