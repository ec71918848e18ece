"""Strategy parameters: one frozen model, its allowed ranges, and parsing of ``key=value`` text.

Percentages are given in percent (``tolerance=0.25`` means 0.25 %). Durations are in minutes.
The same model is used by the engines, the backtester, the CLI (``--param key=value``) and
``/tune key value`` in chat.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from engines.errors import ParamError, quoted

MacroConflict = Literal["halve", "stand_aside"]
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,2})?")  # ASCII, no nan or inf


class StrategyParams(BaseModel):
    """Every tunable rule of both engines and of the risk book."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # MICRO-SCALP levels
    tolerance: float = Field(0.25, ge=0.2, le=0.3, description="S/R touch tolerance, % of price")
    touches: int = Field(3, ge=2, le=4, description="touches a level needs")
    sr_lookback: int = Field(120, ge=100, le=150, description="15m candles used for S/R")
    # MACRO trend
    trend_lookback: int = Field(200, ge=150, le=250, description="1h candles used for the trend")
    # exhaustion checks
    volume_multiplier: float = Field(0.4, ge=0.3, le=0.5, description="volume_drop: volume < this x EWMA-10")
    min_checks: int = Field(2, ge=1, le=4, description="exhaustion checks a scalp needs")
    rsi_period: int = Field(7, ge=2, le=30, description="RSI length")
    rsi_high: float = Field(80, ge=50, le=95, description="RSI above this is overbought (shorts)")
    rsi_low: float = Field(20, ge=5, le=50, description="RSI below this is oversold (longs)")
    wick_window: int = Field(3, ge=2, le=6, description="double_wick: candles searched for two rejection wicks")
    wick_ratio: float = Field(0.5, ge=0.2, le=0.9, description="double_wick: wick share of the candle range")
    book_flip_threshold: float = Field(0.2, ge=0.0, le=0.6, description="order_book_flip (live only): the top-10 "
                                       "imbalance must go from <= -this to > +this (hysteresis band)")
    # scalp exits and risk
    tp: float = Field(0.5, ge=0.1, le=2.0, description="scalp take-profit, %")
    sl: float = Field(0.5, ge=0.1, le=2.0, description="scalp stop-loss, %")
    cooldown: int = Field(15, ge=0, le=240, description="minutes a coin rests after a scalp closes")
    time_stop: int = Field(60, ge=5, le=480, description="minutes after which a scalp is closed")
    max_trades_per_day: int = Field(50, ge=1, le=500, description="scalps per UTC day, all pairs")
    # MACRO
    macro_tp: float = Field(2.0, ge=1.0, le=3.0, description="MACRO take-profit, %")
    macro_sl: float = Field(1.0, ge=1.0, le=3.0, description="MACRO stop-loss, %")
    macro_zone: float = Field(0.5, ge=0.1, le=1.0, description="MACRO pullback zone around a swing level or the trend line, %")
    macro_min_confidence: int = Field(50, ge=0, le=100, description="MACRO signals need this confidence")
    macro_time_stop: int = Field(2880, ge=60, le=10080, description="minutes after which a MACRO position is closed")
    macro_bias_confidence: int = Field(80, ge=0, le=100, description="at or above, scalps only trade MACRO's side")
    macro_conflict: MacroConflict = Field("halve", description="scalp on a pair with an open MACRO position")

    def with_changes(self, **changes: Any) -> "StrategyParams":
        """A validated copy with ``changes`` applied; raises :class:`ParamError`."""
        for key in changes:
            param_spec(key)
        try:
            return StrategyParams.model_validate({**self.model_dump(), **changes})
        except ValidationError as e:
            key = str(e.errors()[0]["loc"][0])
            raise ParamError(f"{key}: {describe_range(key)}, got {quoted(changes[key])}") from e


@dataclass(frozen=True)
class ParamSpec:
    """What a parameter accepts, for messages and keyboards."""

    key: str
    kind: type
    default: Any
    minimum: float | None
    maximum: float | None
    choices: tuple[str, ...]
    description: str


def _build_specs() -> dict[str, ParamSpec]:
    specs: dict[str, ParamSpec] = {}
    for key, field in StrategyParams.model_fields.items():
        low = next((m.ge for m in field.metadata if hasattr(m, "ge")), None)
        high = next((m.le for m in field.metadata if hasattr(m, "le")), None)
        choices = tuple(getattr(field.annotation, "__args__", ())) if key == "macro_conflict" else ()
        kind = str if choices else field.annotation
        specs[key] = ParamSpec(key, kind, field.default, low, high, choices, field.description or "")
    return specs


PARAM_SPECS: dict[str, ParamSpec] = _build_specs()
DEFAULT_PARAMS = StrategyParams()


def param_spec(key: str) -> ParamSpec:
    """What ``key`` accepts; raises :class:`ParamError` for an unknown key."""
    if key not in PARAM_SPECS:
        raise ParamError(f"unknown parameter {quoted(key)}; known: {', '.join(PARAM_SPECS)}")
    return PARAM_SPECS[key]


def describe_range(key: str) -> str:
    """Human text of what ``key`` accepts, e.g. ``'a number from 0.2 to 0.3'``."""
    spec = param_spec(key)
    if spec.choices:
        return "one of " + " | ".join(spec.choices)
    noun = "a whole number" if spec.kind is int else "a number"
    return f"{noun} from {spec.minimum:g} to {spec.maximum:g}"


def parse_value(key: str, text: str) -> Any:
    """Parse the text of one value for ``key``; range is checked by :meth:`StrategyParams.with_changes`."""
    spec = param_spec(key)
    if spec.choices:
        if text not in spec.choices:
            raise ParamError(f"{key}: {describe_range(key)}, got {quoted(text)}")
        return text
    number = float(text) if _NUMBER.fullmatch(text) else math.nan
    if not math.isfinite(number):
        raise ParamError(f"{key}: {describe_range(key)}, got {quoted(text)}")
    if spec.kind is int:
        if not number.is_integer():
            raise ParamError(f"{key}: {describe_range(key)}, got {quoted(text)}")
        return int(number)
    return number


def parse_assignments(items: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """Parse ``["tolerance=0.2", "touches=4"]`` into typed values (ranges not yet checked)."""
    changes: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key.strip() or not text.strip():
            raise ParamError(f"expected key=value, got {quoted(item)}")
        changes[key.strip()] = parse_value(key.strip(), text.strip())
    return changes


def params_from_assignments(items: list[str] | tuple[str, ...], base: StrategyParams = DEFAULT_PARAMS) -> StrategyParams:
    """``base`` with ``key=value`` items applied and validated."""
    return base.with_changes(**parse_assignments(items))
