"""Bounded per-pair, per-timeframe buffers of closed candles, readable as validated frames.

The event loop appends while decision jobs read frames in worker threads. Every change bumps the
buffer's version under a lock; a frame is built from rows copied under that lock and is cached
only if no change happened meanwhile, so a reader never gets (or leaves behind) a frame older than
the buffer it asked about.
"""

from __future__ import annotations

import threading
from collections import deque

import pandas as pd

from engines.candles import COLUMNS, validate_candles
from engines.errors import DataUnavailable, InvalidInput
from market.feed import DEFAULT_BUFFER_LENGTH, TIMEFRAMES, ClosedCandle

Row = tuple[pd.Timestamp, float, float, float, float, float]


class CandleStore:
    """Closed candles per ``(pair, timeframe)``, oldest first, at most ``max_length`` each."""

    def __init__(self, max_length: int = DEFAULT_BUFFER_LENGTH) -> None:
        if max_length < 1:
            raise InvalidInput(f"buffer length must be >= 1, got {max_length}")
        self.max_length = max_length
        self._rows: dict[tuple[str, str], deque[Row]] = {}
        self._versions: dict[tuple[str, str], int] = {}
        self._frames: dict[tuple[str, str], tuple[int, pd.DataFrame]] = {}
        self._lock = threading.Lock()

    def add_pair(self, pair: str) -> None:
        with self._lock:
            for timeframe in TIMEFRAMES:
                self._rows.setdefault((pair, timeframe), deque(maxlen=self.max_length))
                self._versions.setdefault((pair, timeframe), 0)

    def pairs(self) -> list[str]:
        """Pairs added so far, in the order they were added."""
        with self._lock:
            return list(dict.fromkeys(pair for pair, _ in self._rows))

    def load(self, pair: str, timeframe: str, frame: pd.DataFrame) -> None:
        """Replace the buffer with the last ``max_length`` rows of a candle frame."""
        tail = frame.iloc[-self.max_length:]
        new = [(r.timestamp, r.open, r.high, r.low, r.close, r.volume) for r in tail.itertuples(index=False)]
        with self._lock:
            rows = self._buffer(pair, timeframe)
            rows.clear()
            rows.extend(new)
            self._changed((pair, timeframe))

    def append(self, candle: ClosedCandle) -> bool:
        """Add a candle newer than the last one; return False (and keep nothing) otherwise."""
        with self._lock:
            rows = self._buffer(candle.pair, candle.timeframe)
            if rows and candle.timestamp <= rows[-1][0]:
                return False
            rows.append((candle.timestamp, candle.open, candle.high, candle.low, candle.close, candle.volume))
            self._changed((candle.pair, candle.timeframe))
            return True

    def insert(self, candles: list[ClosedCandle]) -> int:
        """Put late candles (a gap filled after the fact) in their place; return how many were new."""
        added = 0
        with self._lock:
            for key in {(c.pair, c.timeframe) for c in candles}:
                rows = self._buffer(*key)
                known = {row[0] for row in rows}
                oldest = rows[0][0] if rows else None
                new = [(c.timestamp, c.open, c.high, c.low, c.close, c.volume) for c in candles
                       if (c.pair, c.timeframe) == key and c.timestamp not in known
                       and (oldest is None or c.timestamp > oldest)]
                if new:
                    merged = sorted([*rows, *new], key=lambda row: row[0])
                    rows.clear()
                    rows.extend(merged[-self.max_length:])
                    self._changed(key)
                    added += len(new)
        return added

    def last_timestamp(self, pair: str, timeframe: str) -> pd.Timestamp | None:
        with self._lock:
            rows = self._buffer(pair, timeframe)
            return rows[-1][0] if rows else None

    def frame(self, pair: str, timeframe: str) -> pd.DataFrame:
        """The buffered candles as a validated candle frame (cached until the next change)."""
        key = (pair, timeframe)
        with self._lock:
            version = self._versions.get(key, 0)
            cached = self._frames.get(key)
            if cached is not None and cached[0] == version:
                return cached[1].copy()
            rows = list(self._buffer(pair, timeframe))
        data = pd.DataFrame(rows, columns=list(COLUMNS))
        if data.empty:
            data["timestamp"] = pd.to_datetime(data["timestamp"], utc=True)
        built = validate_candles(data, name=f"{pair} {timeframe}")
        with self._lock:
            if self._versions.get(key, 0) == version:
                self._frames[key] = (version, built)
        return built.copy()

    def _changed(self, key: tuple[str, str]) -> None:
        """Call with the lock held."""
        self._versions[key] = self._versions.get(key, 0) + 1
        self._frames.pop(key, None)

    def _buffer(self, pair: str, timeframe: str) -> deque[Row]:
        if timeframe not in TIMEFRAMES:
            raise InvalidInput(f"timeframe must be one of {', '.join(TIMEFRAMES)}, got {timeframe!r}")
        rows = self._rows.get((pair, timeframe))
        if rows is None:
            known = ", ".join(sorted({p for p, _ in self._rows})) or "none"
            raise DataUnavailable(f"{pair} is not tracked by this feed (tracked: {known})")
        return rows
