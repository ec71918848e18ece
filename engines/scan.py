"""Run the engines over every closed candle of a history: the batch face of the live decision code.

A signal is reported for every 15m (MICRO) or 1h (MACRO) candle that closes inside ``[start, end]``.
Indicators and levels use only candles closed at or before each decision, so cutting the data after
``end`` never changes a signal (tested). The risk rules are not applied here: that is the
backtester's and the live bot's job.
"""

from __future__ import annotations

from typing import Literal

import pandas as pd

from engines.candles import close_times, resample, validate_candles
from engines.errors import InvalidInput
from engines.macro import macro_signals
from engines.micro import scalp_signals
from engines.models import Signal
from engines.params import StrategyParams
from engines.ticks import infer_tick

Engine = Literal["micro", "macro", "all"]
ENGINES: tuple[str, ...] = ("micro", "macro", "all")


def _first_index(candles: pd.DataFrame, timeframe: str, start: pd.Timestamp | None) -> int:
    """Index of the first candle that closes at or after ``start``."""
    if start is None:
        return 0
    return int(close_times(candles, timeframe).searchsorted(start, side="left"))


def _until(candles: pd.DataFrame, timeframe: str, end: pd.Timestamp | None) -> pd.DataFrame:
    if end is None:
        return candles
    return candles.iloc[: int(close_times(candles, timeframe).searchsorted(end, side="right"))]


def scan_signals(candles_1m: pd.DataFrame | None, pair: str, params: StrategyParams, *, engine: Engine = "all",
                 start: pd.Timestamp | None = None, end: pd.Timestamp | None = None, tick: float | None = None,
                 candles_15m: pd.DataFrame | None = None, candles_1h: pd.DataFrame | None = None) -> list[Signal]:
    """All signals of ``pair`` whose decision candle closes in ``[start, end]``, oldest first."""
    if engine not in ENGINES:
        raise InvalidInput(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    if candles_1m is None and (candles_15m is None or candles_1h is None):
        raise InvalidInput("scan_signals needs 1m candles, or both 15m and 1h candles")
    m15 = validate_candles(candles_15m, f"{pair} 15m") if candles_15m is not None else resample(candles_1m, "15m")
    h1 = validate_candles(candles_1h, f"{pair} 1h") if candles_1h is not None else resample(candles_1m, "1h")
    m15, h1 = _until(m15, "15m", end), _until(h1, "1h", end)
    if tick is None:
        tick = infer_tick((candles_1m if candles_1m is not None else m15)["close"].to_numpy())
    signals: list[Signal] = []
    if engine in ("micro", "all") and len(m15):
        signals += scalp_signals(m15, pair, params, tick, _first_index(m15, "15m", start))
    if engine in ("macro", "all") and len(h1):
        signals += macro_signals(h1, pair, params, tick, _first_index(h1, "1h", start))
    return sorted(signals, key=lambda s: (s.timestamp, s.type))
