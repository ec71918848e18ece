"""Bounded per-pair, per-timeframe buffers of closed candles, readable as validated frames.

Each buffer is an :class:`engines.candles.CandleRing` (int64 open times, float64 OHLCV: 48 bytes a
candle; no Python object per candle). The event loop appends while decision jobs read frames in worker threads.
Every change bumps the buffer's version under a lock; a frame is built from arrays copied under that
lock and is cached only if no change happened meanwhile, so a reader never gets (or leaves behind) a
frame older than the buffer it asked about.
"""

from __future__ import annotations

import threading

import numpy as np
import pandas as pd

from engines.candles import COLUMNS, CandleRing, validate_candles
from engines.errors import DataUnavailable, InvalidInput
from market.feed import DEFAULT_BUFFER_LENGTH, TIMEFRAMES, ClosedCandle

class CandleStore:
    """Closed candles per ``(pair, timeframe)``, oldest first, at most ``max_length`` each."""

    def __init__(self, max_length: int = DEFAULT_BUFFER_LENGTH) -> None:
        if max_length < 1:
            raise InvalidInput(f"buffer length must be >= 1, got {max_length}")
        self.max_length = max_length
        self._rings: dict[tuple[str, str], CandleRing] = {}
        self._versions: dict[tuple[str, str], int] = {}
        self._frames: dict[tuple[str, str], tuple[int, pd.DataFrame]] = {}
        self._lock = threading.Lock()

    def add_pair(self, pair: str) -> None:
        with self._lock:
            for timeframe in TIMEFRAMES:
                if (pair, timeframe) not in self._rings:
                    self._rings[(pair, timeframe)] = CandleRing(self.max_length)
                self._versions.setdefault((pair, timeframe), 0)

    def pairs(self) -> list[str]:
        """Pairs added so far, in the order they were added."""
        with self._lock:
            return list(dict.fromkeys(pair for pair, _ in self._rings))

    def load(self, pair: str, timeframe: str, frame: pd.DataFrame) -> None:
        """Replace the buffer with the last ``max_length`` rows of a candle frame."""
        tail = frame.iloc[-self.max_length:]
        times = pd.DatetimeIndex(tail["timestamp"]).as_unit("ns").asi8.copy()
        values = tail[list(COLUMNS[1:])].to_numpy(dtype=np.float64).T
        with self._lock:
            self._buffer(pair, timeframe).replace(times, values)
            self._changed((pair, timeframe))

    def append(self, candle: ClosedCandle) -> bool:
        """Add a candle newer than the last one; return False (and keep nothing) otherwise."""
        with self._lock:
            ring = self._buffer(candle.pair, candle.timeframe)
            last = ring.last_time
            if last is not None and candle.timestamp.value <= last:
                return False
            ring.append(candle.timestamp.value, (candle.open, candle.high, candle.low, candle.close, candle.volume))
            self._changed((candle.pair, candle.timeframe))
            return True

    def insert(self, candles: list[ClosedCandle]) -> int:
        """Put late candles (a gap filled after the fact) in their place; return how many were new."""
        added = 0
        with self._lock:
            for key in dict.fromkeys((c.pair, c.timeframe) for c in candles):
                ring = self._buffer(*key)
                times, values = ring.arrays()
                oldest = int(times[0]) if len(times) else None
                new = {c.timestamp.value: (c.open, c.high, c.low, c.close, c.volume) for c in candles
                       if (c.pair, c.timeframe) == key}
                new = {ns: row for ns, row in new.items()
                       if (oldest is None or ns > oldest) and not np.isin(ns, times)}
                if new:
                    merged_times = np.concatenate([times, np.fromiter(new, dtype=np.int64, count=len(new))])
                    merged_values = np.concatenate([values, np.array(list(new.values()), dtype=np.float64).T], axis=1)
                    order = np.argsort(merged_times, kind="stable")
                    ring.replace(merged_times[order], merged_values[:, order])
                    self._changed(key)
                    added += len(new)
        return added

    def last_timestamp(self, pair: str, timeframe: str) -> pd.Timestamp | None:
        with self._lock:
            last = self._buffer(pair, timeframe).last_time
        return None if last is None else pd.Timestamp(last, tz="UTC").as_unit("ms")

    def frame(self, pair: str, timeframe: str) -> pd.DataFrame:
        """The buffered candles as a validated candle frame (cached until the next change)."""
        key = (pair, timeframe)
        with self._lock:
            version = self._versions.get(key, 0)
            cached = self._frames.get(key)
            if cached is not None and cached[0] == version:
                return cached[1].copy()
            times, values = self._buffer(pair, timeframe).arrays()
        data = pd.DataFrame(values.T, columns=list(COLUMNS[1:]))
        data.insert(0, "timestamp", pd.to_datetime(times, unit="ns", utc=True))
        built = validate_candles(data, name=f"{pair} {timeframe}")
        with self._lock:
            if self._versions.get(key, 0) == version:
                self._frames[key] = (version, built)
        return built.copy()

    def _changed(self, key: tuple[str, str]) -> None:
        """Call with the lock held."""
        self._versions[key] = self._versions.get(key, 0) + 1
        self._frames.pop(key, None)

    def _buffer(self, pair: str, timeframe: str) -> CandleRing:
        if timeframe not in TIMEFRAMES:
            raise InvalidInput(f"timeframe must be one of {', '.join(TIMEFRAMES)}, got {timeframe!r}")
        ring = self._rings.get((pair, timeframe))
        if ring is None:
            known = ", ".join(sorted({p for p, _ in self._rings})) or "none"
            raise DataUnavailable(f"{pair} is not tracked by this feed (tracked: {known})")
        return ring
