"""Typed answers of the service layer; handlers format them, the console and tests read them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd

from bot.live import FlipRate
from bot.paper import PaperPosition
from engines.macro import MacroDecision
from engines.micro import ScalpDecision
from engines.models import Level, Trend
from engines.params import StrategyParams
from market.feed import SourceState
from bot.params_book import ParamChange


@dataclass(frozen=True)
class LevelsView:
    pair: str
    timeframe: str
    time: pd.Timestamp
    close: float
    levels: tuple[Level, ...]
    trend: Trend | None
    chart: bytes

    def as_json(self) -> dict[str, object]:
        def level(lv: Level) -> dict[str, object]:
            return {"price": lv.price, "touches": lv.touches,
                    "last_touch": lv.touch_times[-1].strftime("%Y-%m-%dT%H:%M:%SZ") if lv.touch_times else None}
        return {"pair": self.pair, "timeframe": self.timeframe, "time": self.time.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "close": self.close,
                "support": [level(lv) for lv in self.levels if lv.kind == "support"],
                "resistance": [level(lv) for lv in self.levels if lv.kind == "resistance"],
                "trend": self.trend.model_dump() if self.trend else None}


@dataclass(frozen=True)
class SignalView:
    pair: str
    scalp: ScalpDecision
    macro: MacroDecision
    min_checks: int


@dataclass(frozen=True)
class PositionView:
    position: PaperPosition
    last_price: float | None
    unrealized: float
    unrealized_pct: float
    minutes_left: float
    waiting_for: pd.Timestamp | None = None  # a missing 1m candle the position is resolved on first


@dataclass(frozen=True)
class TunePreview:
    changes: tuple[ParamChange, ...]
    params: StrategyParams
    version: int


@dataclass(frozen=True)
class JobRun:
    name: str
    market_time: pd.Timestamp
    seconds: float
    summary: str


@dataclass(frozen=True)
class PairFreshness:
    pair: str
    last_closed: pd.Timestamp | None
    lag_minutes: float | None
    connected: bool
    note: str
    gaps: tuple[str, ...] = ()  # candles the stream missed and REST could not fill yet


@dataclass(frozen=True)
class StatusView:
    now: pd.Timestamp
    source: str
    pairs: tuple[PairFreshness, ...]
    jobs: tuple[JobRun, ...]
    open_positions: int
    equity: float
    params_version: int
    paused: bool
    version: str
    sources: tuple[SourceState, ...] = ()  # health of each data source (WebSocket, REST)
    starting: str | None = None  # "starting, 3 of 25 pairs loaded" until every pair is loaded
    state_problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class ScoreRow:
    engine: str
    pair: str
    sent: int = 0
    tp: int = 0
    sl: int = 0
    timeout: int = 0
    other: int = 0
    open: int = 0
    pnl_pct: float = 0.0

    @property
    def closed(self) -> int:
        return self.tp + self.sl + self.timeout + self.other


@dataclass(frozen=True)
class EngineScore:
    """Mean P&L (% of margin) per closed signal of one engine, with its bootstrap 95 % interval."""

    engine: str
    closed: int
    mean: float
    low: float
    high: float


@dataclass(frozen=True)
class Scorecard:
    rows: tuple[ScoreRow, ...]
    total: ScoreRow
    rejections: dict[str, int] = field(default_factory=dict)
    engines: tuple[EngineScore, ...] = ()
    book_flips: tuple[FlipRate, ...] = ()
    book_flip_threshold: float = 0.0


@dataclass(frozen=True)
class Admission:
    """What happened to a new signal: recorded (first time seen) and whether a position opened."""

    new: bool
    opened: bool
    reason: str
    decided_at: datetime
