"""Candle frames: the input contract of the engines, and resampling 1m into 15m/1h.

A candle frame has columns ``timestamp`` (UTC, candle open time), ``open``, ``high``, ``low``,
``close``, ``volume``; rows sorted, timestamps unique, prices finite. Only complete buckets
are produced by :func:`resample`, so every resampled candle is a closed candle.
"""

from __future__ import annotations

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


def timeframe_delta(timeframe: str) -> pd.Timedelta:
    if timeframe not in TIMEFRAMES:
        raise CandleError(f"timeframe must be one of {', '.join(TIMEFRAMES)}, got {timeframe!r}")
    return TIMEFRAMES[timeframe]


def validate_candles(frame: pd.DataFrame, name: str = "candles") -> pd.DataFrame:
    """Return ``frame`` with float64 OHLCV and a UTC ``timestamp``; raise :class:`CandleError` if unusable."""
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise CandleError(f"{name}: missing columns {', '.join(missing)}")
    out = frame.loc[:, list(COLUMNS)].copy()
    ts = pd.to_datetime(out["timestamp"], utc=True)
    out["timestamp"] = ts.dt.as_unit("ms") if hasattr(ts.dt, "as_unit") else ts
    for column in COLUMNS[1:]:
        out[column] = out[column].astype("float64")
    if not out["timestamp"].is_monotonic_increasing:
        raise CandleError(f"{name}: timestamps are not sorted ascending")
    if out["timestamp"].duplicated().any():
        first = out.loc[out["timestamp"].duplicated(), "timestamp"].iloc[0]
        raise CandleError(f"{name}: duplicate timestamp {first.isoformat()}")
    prices = out[list(PRICE_COLUMNS)].to_numpy()
    if not np.isfinite(prices).all():
        row = int(np.flatnonzero(~np.isfinite(prices).all(axis=1))[0])
        raise CandleError(f"{name}: NaN or infinite price at {out['timestamp'].iloc[row].isoformat()}")
    if (out["volume"] < 0).any() or not np.isfinite(out["volume"].to_numpy()).all():
        raise CandleError(f"{name}: volume must be finite and >= 0")
    return out.reset_index(drop=True)


def resample(candles_1m: pd.DataFrame, timeframe: str) -> pd.DataFrame:
    """Aggregate 1m candles into complete ``timeframe`` candles (open-time labels, UTC-aligned)."""
    step = timeframe_delta(timeframe)
    if step == TIMEFRAMES["1m"]:
        return candles_1m.reset_index(drop=True)
    minutes = int(step / TIMEFRAMES["1m"])
    bucket = candles_1m["timestamp"].dt.floor(step)
    grouped = candles_1m.groupby(bucket, sort=True)
    out = grouped.agg(open=("open", "first"), high=("high", "max"), low=("low", "min"),
                      close=("close", "last"), volume=("volume", "sum"))
    complete = grouped.size() == minutes
    out = out[complete.to_numpy()]
    out.index.name = "timestamp"
    return out.reset_index()


def closed_until(candles: pd.DataFrame, timeframe: str, now: pd.Timestamp) -> pd.DataFrame:
    """The candles of ``candles`` whose close time (open + timeframe) is at or before ``now``."""
    step = timeframe_delta(timeframe)
    return candles[candles["timestamp"] + step <= now].reset_index(drop=True)


def close_times(candles: pd.DataFrame, timeframe: str) -> pd.Series:
    return candles["timestamp"] + timeframe_delta(timeframe)
