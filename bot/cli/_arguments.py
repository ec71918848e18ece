"""Argument parsing shared by the ``signaltracker`` subcommands (times, pair lists).

Errors are :class:`engines.errors.InvalidInput` naming the flag and what it accepts.
"""

from __future__ import annotations

import pandas as pd

from engines.errors import InvalidInput


def parse_time(text: str, flag: str) -> pd.Timestamp:
    try:
        stamp = pd.Timestamp(text)
    except ValueError as e:
        raise InvalidInput(f"{flag}: expected an ISO time like 2025-05-27T00:00Z, got {text!r}") from e
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def parse_pairs(text: str | None) -> list[str] | None:
    if text is None:
        return None
    pairs = [p.strip().upper() for p in text.split(",") if p.strip()]
    if not pairs:
        raise InvalidInput("--pairs: expected a comma-separated list like BTCUSDT,ETHUSDT")
    return pairs
