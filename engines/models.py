"""The engines' output types: levels, trends, exhaustion checks and the signal JSON."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, field_serializer, field_validator

SignalType = Literal["MACRO", "SCALP"]
Side = Literal["LONG", "SHORT"]
LevelKind = Literal["support", "resistance"]
CHECK_NAMES: tuple[str, ...] = ("volume_drop", "double_wick", "rsi_extreme", "order_book_flip")


@dataclass(frozen=True)
class Level:
    """A support or resistance price with the candles that touched it."""

    price: float
    kind: LevelKind
    touch_times: tuple[pd.Timestamp, ...]

    @property
    def touches(self) -> int:
        return len(self.touch_times)

    @property
    def strength(self) -> int:
        """How many separate visits confirmed the level (equals ``touches``)."""
        return len(self.touch_times)


@dataclass(frozen=True)
class Swing:
    """A swing high or low on the 1h chart (fractal pivot)."""

    time: pd.Timestamp
    price: float
    kind: Literal["high", "low"]


class Trend(BaseModel):
    """Least-squares line of closes: ``price(h) = intercept + slope * h``.

    ``h`` is hours since the decision time (``h = 0`` at the decision, negative before),
    so ``intercept`` is the trend's value now and ``slope`` is price change per hour.
    """

    model_config = ConfigDict(frozen=True)
    slope: float
    intercept: float


class ExhaustionChecks(BaseModel):
    """Which exhaustion checks passed for the signal's side."""

    model_config = ConfigDict(frozen=True)
    volume_drop: bool = False
    double_wick: bool = False
    rsi_extreme: bool = False
    order_book_flip: bool = False

    @property
    def passed(self) -> int:
        return sum(self.as_dict().values())

    def as_dict(self) -> dict[str, bool]:
        return {name: bool(getattr(self, name)) for name in CHECK_NAMES}


class Signal(BaseModel):
    """A trading signal, serialised with exactly the fields of the product's JSON."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    type: SignalType
    pair: str
    side: Side
    entry: float
    tp: float
    sl: float
    support: list[float]
    resistance: list[float]
    trend: Trend
    timestamp: datetime
    confidence: int
    exhaustion_checks: ExhaustionChecks

    @field_validator("timestamp")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("timestamp must be timezone-aware UTC")
        return value.astimezone(timezone.utc)

    @field_serializer("timestamp")
    def _iso(self, value: datetime) -> str:
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")

    @property
    def key(self) -> str:
        """Identity of a signal: one per engine, pair, side and decision time."""
        return f"{self.type}:{self.pair}:{self.side}:{self.model_dump(mode='json')['timestamp']}"

    def to_json(self) -> str:
        return json.dumps(self.model_dump(mode="json"), separators=(", ", ": "))

    def to_pretty_json(self) -> str:
        return json.dumps(self.model_dump(mode="json"), indent=2)
