"""Puts one pair's closed candles from a stream and from REST backfills into emission order.

Rules: a candle older than or equal to the last emitted one of its timeframe is a duplicate and is
dropped; a 15m/1h candle waits until the 1m candle closing its bucket has been emitted; a candle
that leaves a hole after the last emitted one opens a *gap*: it is held (with everything that
follows) until a REST backfill has been merged with :meth:`CandleSequencer.merge_backfill`.
"""

from __future__ import annotations

import pandas as pd

from engines.candles import timeframe_delta
from market.feed import TIMEFRAMES, ClosedCandle

MINUTE = pd.Timedelta(minutes=1)
RANK = {timeframe: rank for rank, timeframe in enumerate(TIMEFRAMES)}


def emission_key(candle: ClosedCandle) -> tuple[pd.Timestamp, int]:
    """Close time first, then 1m before 15m before 1h."""
    return candle.timestamp + timeframe_delta(candle.timeframe), RANK[candle.timeframe]


class CandleSequencer:
    """Emission order of one pair's closed candles; see the module docstring."""

    def __init__(self, pair: str, last_emitted: dict[str, pd.Timestamp | None]) -> None:
        self.pair = pair
        self.last: dict[str, pd.Timestamp | None] = {tf: last_emitted.get(tf) for tf in TIMEFRAMES}
        self.waiting: list[ClosedCandle] = []  # 15m/1h candles waiting for their last 1m candle
        self.held: list[ClosedCandle] = []  # candles received while a backfill is due
        self.needs_backfill = False

    def hold(self) -> None:
        """Stop emitting until the next backfill (after a disconnect)."""
        self.needs_backfill = True

    def offer(self, candle: ClosedCandle) -> list[ClosedCandle]:
        """The candles that can be emitted now that ``candle`` arrived (often just ``candle``)."""
        if self.needs_backfill:
            self.held.append(candle)
            return []
        return self._accept(candle)

    def backfill_start(self, timeframe: str) -> pd.Timestamp | None:
        """Open time of the first candle of ``timeframe`` a backfill must fetch (None: no history)."""
        last = self.last[timeframe]
        return None if last is None else last + timeframe_delta(timeframe)

    def merge_backfill(self, candles: list[ClosedCandle]) -> list[ClosedCandle]:
        """Merge REST candles with those held and waiting; return what can be emitted, in order."""
        pending = sorted(candles + self.held + self.waiting, key=emission_key)
        self.held, self.waiting, self.needs_backfill = [], [], False
        out: list[ClosedCandle] = []
        for candle in pending:
            out += self.offer(candle)
        return out

    def _accept(self, candle: ClosedCandle) -> list[ClosedCandle]:
        timeframe, step = candle.timeframe, timeframe_delta(candle.timeframe)
        newest = max([c.timestamp for c in self.waiting if c.timeframe == timeframe] + [self.last[timeframe]],
                     default=None, key=lambda t: t if t is not None else pd.Timestamp.min.tz_localize("UTC"))
        if newest is not None and candle.timestamp <= newest:
            return []
        if newest is not None and candle.timestamp > newest + step:
            self.needs_backfill = True
            self.held.append(candle)
            return []
        if timeframe != "1m":
            self.waiting.append(candle)
            return self._release_waiting()
        self.last["1m"] = candle.timestamp
        return [candle] + self._release_waiting()

    def _release_waiting(self) -> list[ClosedCandle]:
        last_1m = self.last["1m"]
        ready = [c for c in self.waiting
                 if last_1m is not None and last_1m >= c.timestamp + timeframe_delta(c.timeframe) - MINUTE]
        self.waiting = [c for c in self.waiting if c not in ready]
        ready.sort(key=emission_key)
        for candle in ready:
            self.last[candle.timeframe] = candle.timestamp
        return ready
