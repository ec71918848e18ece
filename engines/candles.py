"""Candle frames: the input contract of the engines, and resampling 1m into 15m/1h.

A candle frame has columns ``timestamp`` (UTC, candle open time), ``open``, ``high``, ``low``,
``close``, ``volume``; rows sorted, timestamps unique, prices finite. Only complete buckets
are produced by :func:`resample`, so every resampled candle is a closed candle.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from engines.errors import CandleError

COLUMNS: tuple[str, ...] = ("timestamp", "open", "high", "low", "close", "volume")
PRICE_COLUMNS: tuple[str, ...] = ("open", "high", "low", "close")
TIMEFRAMES: dict[str, pd.Timedelta] = {
    "1m": pd.Timedelta(minutes=1),
    "15m": pd.Timedelta(minutes=15),
    "1h": pd.Timedelta(hours=1),
}


def epoch_ms(timestamps: pd.Series) -> np.ndarray:
    """UTC timestamps as int64 milliseconds since the epoch (no per-element Python objects)."""
    return pd.DatetimeIndex(timestamps).as_unit("ms").asi8


def timeframe_delta(timeframe: str) -> pd.Timedelta:
    if timeframe not in TIMEFRAMES:
        raise CandleError(f"timeframe must be one of {', '.join(TIMEFRAMES)}, got {timeframe!r}")
    return TIMEFRAMES[timeframe]


def validate_candles(frame: pd.DataFrame, name: str = "candles") -> pd.DataFrame:
    """Return ``frame`` with float64 OHLCV and a UTC ``timestamp``; raise :class:`CandleError` if unusable.

    The checks run on numpy arrays (no per-row Python objects); the frame returned is a new one.
    """
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise CandleError(f"{name}: missing columns {', '.join(missing)}")
    ts = frame["timestamp"]
    if not (isinstance(ts.dtype, pd.DatetimeTZDtype) and str(ts.dtype.tz) == "UTC"):
        ts = pd.to_datetime(ts, utc=True)
    stamps = pd.DatetimeIndex(ts).as_unit("ms")
    values = {c: np.array(frame[c].to_numpy(dtype="float64"), dtype="float64") for c in COLUMNS[1:]}
    ms = stamps.asi8
    steps = np.diff(ms)
    if (steps < 0).any():
        raise CandleError(f"{name}: timestamps are not sorted ascending")
    if (steps == 0).any():
        first = stamps[int(np.flatnonzero(steps == 0)[0]) + 1]
        raise CandleError(f"{name}: duplicate timestamp {first.isoformat()}")
    prices = np.column_stack([values[c] for c in PRICE_COLUMNS]) if len(ms) else np.empty((0, 4))
    finite = np.isfinite(prices).all(axis=1)
    if not finite.all():
        row = int(np.flatnonzero(~finite)[0])
        raise CandleError(f"{name}: NaN or infinite price at {stamps[row].isoformat()}")
    volume = values["volume"]
    if not np.isfinite(volume).all() or (volume < 0).any():
        raise CandleError(f"{name}: volume must be finite and >= 0")
    return pd.DataFrame({"timestamp": stamps, **values})


def resample(candles_1m: pd.DataFrame, timeframe: str) -> pd.DataFrame:
    """Aggregate 1m candles into complete ``timeframe`` candles (open-time labels, UTC-aligned).

    A bucket is kept only when all of its 1m candles are present, so every output candle is closed.
    """
    step = timeframe_delta(timeframe)
    if step == TIMEFRAMES["1m"]:
        return candles_1m.reset_index(drop=True)
    minutes = int(step / TIMEFRAMES["1m"])
    stamps = epoch_ms(candles_1m["timestamp"])
    bucket = stamps // (minutes * 60_000)
    starts = np.flatnonzero(np.r_[True, bucket[1:] != bucket[:-1]])
    sizes = np.diff(np.r_[starts, len(bucket)])
    keep = sizes == minutes
    first, last = starts[keep], (starts + sizes - 1)[keep]
    columns = {name: candles_1m[name].to_numpy(dtype=float) for name in COLUMNS[1:]}
    opens = (bucket[first] * minutes * 60_000).astype("datetime64[ms]")
    return pd.DataFrame({
        "timestamp": pd.DatetimeIndex(opens).tz_localize("UTC"),
        "open": columns["open"][first],
        "high": np.maximum.reduceat(columns["high"], starts)[keep],
        "low": np.minimum.reduceat(columns["low"], starts)[keep],
        "close": columns["close"][last],
        "volume": np.add.reduceat(columns["volume"], starts)[keep],
    })


def closed_until(candles: pd.DataFrame, timeframe: str, now: pd.Timestamp) -> pd.DataFrame:
    """The candles of ``candles`` whose close time (open + timeframe) is at or before ``now``."""
    step = timeframe_delta(timeframe)
    return candles[candles["timestamp"] + step <= now].reset_index(drop=True)


def close_times(candles: pd.DataFrame, timeframe: str) -> pd.Series:
    return candles["timestamp"] + timeframe_delta(timeframe)


@dataclass(frozen=True)
class CandleArrays:
    """A candle frame's columns as numpy arrays, extracted once for the kernels."""

    timestamps: pd.DatetimeIndex
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray

    @classmethod
    def of(cls, frame: pd.DataFrame) -> "CandleArrays":
        return cls(pd.DatetimeIndex(frame["timestamp"]),
                   *(frame[c].to_numpy(dtype=float) for c in ("open", "high", "low", "close", "volume")))

    def __len__(self) -> int:
        return len(self.close)


class CandleRing:
    """The last ``capacity`` candles as float arrays, oldest first, appended in O(1) (amortised).

    Open times in ns (int64) and open, high, low, close, volume as one (5, n) float64 block: 48 bytes a
    candle, no Python object per candle. The arrays hold twice ``capacity`` so that an append only moves
    the kept rows to the front once every ``capacity`` appends.
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._times = np.zeros(2 * capacity, dtype=np.int64)  # open times, ns
        self._values = np.zeros((5, 2 * capacity))  # open, high, low, close, volume
        self._end = 0
        self.count = 0  # candles seen in all

    def __len__(self) -> int:
        return min(self._end, self.capacity)

    @property
    def nbytes(self) -> int:
        return self._times.nbytes + self._values.nbytes

    def append(self, open_ns: int, values: tuple[float, float, float, float, float]) -> None:
        if self._end == len(self._times):
            keep = self.capacity - 1
            self._times[:keep] = self._times[self._end - keep:self._end]
            self._values[:, :keep] = self._values[:, self._end - keep:self._end]
            self._end = keep
        self._times[self._end] = open_ns
        self._values[:, self._end] = values
        self._end += 1
        self.count += 1

    def replace(self, times_ns: np.ndarray, values: np.ndarray) -> None:
        """Hold the last ``capacity`` of ``times_ns`` (ascending) and ``values`` (shape (5, n)) instead."""
        self.count = len(times_ns)
        times_ns, values = times_ns[-self.capacity:], values[:, -self.capacity:]
        self._times[:len(times_ns)], self._values[:, :len(times_ns)] = times_ns, values
        self._end = len(times_ns)

    @property
    def last_time(self) -> int | None:
        return int(self._times[self._end - 1]) if self._end else None

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """Copies of the kept open times (ns) and values (5, n), oldest first."""
        start = max(0, self._end - self.capacity)
        return self._times[start:self._end].copy(), self._values[:, start:self._end].copy()

    def window(self) -> CandleArrays:
        """The kept candles (at most ``capacity``) as arrays (copies: safe to hand to another thread)."""
        times, values = self.arrays()
        return CandleArrays(pd.DatetimeIndex(times.astype("datetime64[ns]")).tz_localize("UTC"), *values)
