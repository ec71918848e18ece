"""Candle and funding files on disk: ``DIR/<SYMBOL>_<tf>.parquet`` and ``DIR/<SYMBOL>_funding.parquet``.

The format is the one of the shared real-data set: ``timestamp`` (UTC open time) + OHLCV floats;
funding files have ``timestamp`` and ``funding_rate``. 15m and 1h candles are resampled from 1m
when a folder only has 1m files.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from engines.candles import COLUMNS, resample, validate_candles
from engines.errors import DataUnavailable, InvalidInput

SYMBOL_PATTERN = re.compile(r"^([A-Z0-9]+)_(1m|15m|1h)\.parquet$")
REPO_ROOT = Path(__file__).resolve().parent.parent
SAMPLE_DATA_DIR = REPO_ROOT / "data" / "sample"


@dataclass(frozen=True)
class PairCandles:
    """One pair's candles in the three timeframes the engines use."""

    pair: str
    m1: pd.DataFrame | None
    m15: pd.DataFrame
    h1: pd.DataFrame


def list_symbols(data_dir: Path, timeframe: str | None = None) -> list[str]:
    """Symbols with at least one candle file (of ``timeframe``, if given) in ``data_dir``."""
    if not Path(data_dir).is_dir():
        raise DataUnavailable(f"data folder {data_dir} does not exist")
    found = set()
    for path in Path(data_dir).iterdir():
        match = SYMBOL_PATTERN.match(path.name)
        if match and (timeframe is None or match.group(2) == timeframe):
            found.add(match.group(1))
    return sorted(found)


def read_through_the_system_allocator() -> None:
    """Make pyarrow allocate from malloc, so the buffers of a read go back once freed.

    For a long-running process (the bot) reading Parquet now and then: pyarrow's default
    mimalloc/jemalloc pool keeps freed memory (≈ 20 MB after a day of replay reads).
    """
    import pyarrow

    pyarrow.set_memory_pool(pyarrow.system_memory_pool())


def read_parquet(path: Path, **options: Any) -> pd.DataFrame:
    """``path`` as a frame; a file that is not Parquet (or is cut short) raises :class:`InvalidInput`."""
    try:
        return pd.read_parquet(path, **options)
    except (OSError, ValueError) as e:
        raise InvalidInput(f"{path} is not a readable Parquet file ({e})") from e


def read_candles(data_dir: Path, symbol: str, timeframe: str) -> pd.DataFrame | None:
    """The validated candles of one file, or ``None`` when the file does not exist."""
    path = Path(data_dir) / f"{symbol}_{timeframe}.parquet"
    if not path.exists():
        return None
    try:
        frame = pd.read_parquet(path, columns=list(COLUMNS))  # only the columns the engines use
    except (KeyError, ValueError):  # a column is missing (or the file is damaged): read all, so the error is named
        frame = read_parquet(path)
    return validate_candles(frame, name=path.name)


def read_candles_between(data_dir: Path, symbol: str, timeframe: str, start: pd.Timestamp,
                         end: pd.Timestamp) -> pd.DataFrame:
    """The validated candles of one file that open in ``[start, end)`` (the reader skips the rest)."""
    path = Path(data_dir) / f"{symbol}_{timeframe}.parquet"
    frame = read_parquet(path, columns=list(COLUMNS), filters=[("timestamp", ">=", start), ("timestamp", "<", end)])
    return validate_candles(frame, name=path.name)


def read_span(data_dir: Path, symbol: str, timeframe: str) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """First and last timestamp of one candle file, reading only its timestamp column (``None``: no file or empty)."""
    path = Path(data_dir) / f"{symbol}_{timeframe}.parquet"
    if not path.exists():
        return None
    stamps = pd.to_datetime(read_parquet(path, columns=["timestamp"])["timestamp"], utc=True)
    if stamps.empty:
        return None
    return stamps.min(), stamps.max()


def load_pair(data_dir: Path, symbol: str) -> PairCandles:
    """1m (if present), 15m and 1h candles of ``symbol``; missing timeframes are resampled from 1m."""
    m1 = read_candles(data_dir, symbol, "1m")
    m15 = read_candles(data_dir, symbol, "15m")
    h1 = read_candles(data_dir, symbol, "1h")
    if m1 is None and (m15 is None or h1 is None):
        known = ", ".join(list_symbols(data_dir)) or "none"
        raise DataUnavailable(f"no candles for {symbol} in {data_dir} (pairs there: {known})")
    m15 = m15 if m15 is not None else resample(m1, "15m")
    h1 = h1 if h1 is not None else resample(m1, "1h")
    return PairCandles(symbol, m1, m15, h1)


def read_funding(funding_dir: Path | None, symbol: str) -> pd.DataFrame | None:
    """Funding events (``timestamp`` floored to the second, ``funding_rate``) or ``None`` if unknown."""
    if funding_dir is None:
        return None
    path = Path(funding_dir) / f"{symbol}_funding.parquet"
    if not path.exists():
        return None
    frame = read_parquet(path)
    if not {"timestamp", "funding_rate"} <= set(frame.columns):
        raise InvalidInput(f"{path.name}: expected columns timestamp, funding_rate")
    frame = frame.loc[:, ["timestamp", "funding_rate"]].copy()
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True).dt.floor("s")
    return frame.sort_values("timestamp").drop_duplicates("timestamp").reset_index(drop=True)


def write_atomic(frame: pd.DataFrame, path: Path) -> None:
    """Write ``frame`` as Parquet to ``path`` through a unique temporary file and ``os.replace``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    try:
        frame.to_parquet(temporary, index=False)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def merge(old: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """Rows of both, one per timestamp (a later copy replaces an earlier one), oldest first."""
    if new.empty:
        return old
    frame = new if old.empty else pd.concat([old, new], ignore_index=True)
    return frame.drop_duplicates("timestamp", keep="last").sort_values("timestamp", ignore_index=True)
