"""Puts one pair's closed candles from a stream and from REST backfills into emission order.

Rules: a candle older than or equal to the last emitted one of its timeframe is a duplicate and is
dropped; a 15m/1h candle waits until the 1m candle closing its bucket has been emitted; a candle
that leaves a hole after the last emitted one opens a *gap*: it is held (with everything that
follows, each candle once) until a REST backfill has been merged with
:meth:`CandleSequencer.merge_backfill`. When REST cannot fill the hole, the feed stops waiting:
``merge_backfill(..., allow_gaps=True)`` emits what is there and records each hole as a
:class:`Gap`, which the feed keeps trying to fill in the background (:meth:`CandleSequencer.close_gap`).
While ``tolerate_gaps`` is set (REST is known to be down) a new hole is recorded at once instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from engines.candles import timeframe_delta
from market.feed import TIMEFRAMES, ClosedCandle

MINUTE = pd.Timedelta(minutes=1)
RANK = {timeframe: rank for rank, timeframe in enumerate(TIMEFRAMES)}


@dataclass(frozen=True)
class Gap:
    """Candles of ``timeframe`` opening from ``first`` to ``last`` (inclusive) were never emitted."""

    pair: str
    timeframe: str
    first: pd.Timestamp
    last: pd.Timestamp

    @property
    def count(self) -> int:
        return int((self.last - self.first) / timeframe_delta(self.timeframe)) + 1

    def __str__(self) -> str:
        span = f"{self.first:%m-%d %H:%M}" if self.first == self.last else f"{self.first:%m-%d %H:%M}-{self.last:%H:%M}"
        return f"{self.count} {self.timeframe} candle(s) missing at {span} UTC"


def emission_key(candle: ClosedCandle) -> tuple[pd.Timestamp, int]:
    """Close time first, then 1m before 15m before 1h."""
    return candle.timestamp + timeframe_delta(candle.timeframe), RANK[candle.timeframe]


class CandleSequencer:
    """Emission order of one pair's closed candles; see the module docstring."""

    def __init__(self, pair: str, last_emitted: dict[str, pd.Timestamp | None]) -> None:
        self.pair = pair
        self.last: dict[str, pd.Timestamp | None] = {tf: last_emitted.get(tf) for tf in TIMEFRAMES}
        self.waiting: list[ClosedCandle] = []  # 15m/1h candles waiting for their last 1m candle
        self._held: dict[tuple[str, pd.Timestamp], ClosedCandle] = {}  # received while a backfill is due
        self.gaps: list[Gap] = []  # holes emitted around after REST could not fill them
        self.needs_backfill = False
        self.tolerate_gaps = False  # REST is known to be failing: record new holes instead of waiting for it

    @property
    def held(self) -> list[ClosedCandle]:
        """Candles received while a backfill is due, in emission order, each once."""
        return sorted(self._held.values(), key=emission_key)

    def hold(self) -> None:
        """Stop emitting until the next backfill (after a disconnect)."""
        self.needs_backfill = True

    def offer(self, candle: ClosedCandle) -> list[ClosedCandle]:
        """The candles that can be emitted now that ``candle`` arrived (often just ``candle``)."""
        if self.needs_backfill:
            self._hold(candle)
            return []
        return self._accept(candle, self.tolerate_gaps)

    def backfill_start(self, timeframe: str) -> pd.Timestamp | None:
        """Open time of the first candle of ``timeframe`` a backfill must fetch (None: no history)."""
        last = self.last[timeframe]
        return None if last is None else last + timeframe_delta(timeframe)

    def merge_backfill(self, candles: list[ClosedCandle], *, allow_gaps: bool = False) -> list[ClosedCandle]:
        """Merge REST candles with those held and waiting; return what can be emitted, in order.

        With ``allow_gaps`` a hole no longer holds anything back: it is recorded in :attr:`gaps`.
        """
        unique = {(c.timeframe, c.timestamp): c for c in [*candles, *self._held.values(), *self.waiting]}
        pending = sorted(unique.values(), key=emission_key)
        self._held, self.waiting, self.needs_backfill = {}, [], False
        out: list[ClosedCandle] = []
        for candle in pending:
            out += self._accept(candle, allow_gaps) if allow_gaps else self.offer(candle)
        return out

    def close_gap(self, gap: Gap) -> None:
        """``gap`` has been filled after the fact (the candles went to the buffer, not to listeners)."""
        if gap in self.gaps:
            self.gaps.remove(gap)

    def _hold(self, candle: ClosedCandle) -> None:
        last = self.last[candle.timeframe]
        if last is None or candle.timestamp > last:
            self._held.setdefault((candle.timeframe, candle.timestamp), candle)

    def _accept(self, candle: ClosedCandle, allow_gaps: bool = False) -> list[ClosedCandle]:
        timeframe, step = candle.timeframe, timeframe_delta(candle.timeframe)
        newest = max([c.timestamp for c in self.waiting if c.timeframe == timeframe] + [self.last[timeframe]],
                     default=None, key=lambda t: t if t is not None else pd.Timestamp.min.tz_localize("UTC"))
        if newest is not None and candle.timestamp <= newest:
            return []
        if newest is not None and candle.timestamp > newest + step:
            if not allow_gaps:
                self.needs_backfill = True
                self._hold(candle)
                return []
            self.gaps.append(Gap(self.pair, timeframe, newest + step, candle.timestamp - step))
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
