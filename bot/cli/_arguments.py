"""Argument parsing shared by the ``signaltracker`` subcommands (times, pair lists).

Errors are :class:`engines.errors.InvalidInput` naming the flag and what it accepts.
"""

from __future__ import annotations

import argparse
import math

import pandas as pd

from engines.errors import InvalidInput, quoted

MAX_DAYS = 3650
EXCHANGES = ("bybit", "binanceusdm")  # what --exchange accepts (see bot.cli._exchange)


def days_argument(text: str) -> float:
    """``--days``: a finite number of days in (0, MAX_DAYS]; ``nan``, ``inf`` and ``1e9`` are refused."""
    try:
        days = float(text)
    except ValueError:
        days = math.nan
    if not (text.isascii() and 0 < days <= MAX_DAYS):
        raise argparse.ArgumentTypeError(f"expected a number of days above 0 and at most {MAX_DAYS}, got {quoted(text)}")
    return days


def parse_time(text: str, flag: str) -> pd.Timestamp:
    try:
        stamp = pd.Timestamp(text)
    except ValueError as e:
        raise InvalidInput(f"{flag}: expected an ISO time like 2025-05-27T00:00Z, got {quoted(text)}") from e
    if pd.isna(stamp):  # 'nan', 'NaT' and '' parse as "no time"
        raise InvalidInput(f"{flag}: expected an ISO time like 2025-05-27T00:00Z, got {quoted(text)}")
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def parse_pairs(text: str | None) -> list[str] | None:
    if text is None:
        return None
    pairs = [p.strip().upper() for p in text.split(",") if p.strip()]
    if not pairs:
        raise InvalidInput("--pairs: expected a comma-separated list like BTCUSDT,ETHUSDT")
    return pairs


def parse_days(value: float | None, flag: str = "--days") -> float | None:
    if value is not None and (not math.isfinite(value) or value <= 0):
        raise InvalidInput(f"{flag}: a number of days > 0, got {value:g}")
    return value
