"""Bounded per-pair, per-timeframe buffers of closed candles, readable as validated frames."""

from __future__ import annotations

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
        self._frames: dict[tuple[str, str], pd.DataFrame] = {}

    def add_pair(self, pair: str) -> None:
        for timeframe in TIMEFRAMES:
            self._rows.setdefault((pair, timeframe), deque(maxlen=self.max_length))

    def load(self, pair: str, timeframe: str, frame: pd.DataFrame) -> None:
        """Replace the buffer with the last ``max_length`` rows of a candle frame."""
        rows = self._buffer(pair, timeframe)
        rows.clear()
        tail = frame.iloc[-self.max_length:]
        for row in tail.itertuples(index=False):
            rows.append((row.timestamp, row.open, row.high, row.low, row.close, row.volume))
        self._frames.pop((pair, timeframe), None)

    def append(self, candle: ClosedCandle) -> bool:
        """Add a candle newer than the last one; return False (and keep nothing) otherwise."""
        rows = self._buffer(candle.pair, candle.timeframe)
        if rows and candle.timestamp <= rows[-1][0]:
            return False
        rows.append((candle.timestamp, candle.open, candle.high, candle.low, candle.close, candle.volume))
        self._frames.pop((candle.pair, candle.timeframe), None)
        return True

    def last_timestamp(self, pair: str, timeframe: str) -> pd.Timestamp | None:
        rows = self._buffer(pair, timeframe)
        return rows[-1][0] if rows else None

    def frame(self, pair: str, timeframe: str) -> pd.DataFrame:
        """The buffered candles as a validated candle frame (cached until the next change)."""
        key = (pair, timeframe)
        cached = self._frames.get(key)
        if cached is None:
            data = pd.DataFrame(list(self._buffer(pair, timeframe)), columns=list(COLUMNS))
            if data.empty:
                data["timestamp"] = pd.to_datetime(data["timestamp"], utc=True)
            cached = validate_candles(data, name=f"{pair} {timeframe}")
            self._frames[key] = cached
        return cached.copy()

    def _buffer(self, pair: str, timeframe: str) -> deque[Row]:
        if timeframe not in TIMEFRAMES:
            raise InvalidInput(f"timeframe must be one of {', '.join(TIMEFRAMES)}, got {timeframe!r}")
        rows = self._rows.get((pair, timeframe))
        if rows is None:
            known = ", ".join(sorted({p for p, _ in self._rows})) or "none"
            raise DataUnavailable(f"{pair} is not tracked by this feed (tracked: {known})")
        return rows
