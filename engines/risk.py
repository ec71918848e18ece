"""The risk book: which signals may open a position, and at what size. Shared by backtest and live.

One small state machine, no clock and no I/O: the caller passes the time and the equity.

    book = RiskBook(params)                       # or RiskBook(params, RiskState.model_validate(saved))
    book.note_macro(MacroView(pair=..., side="LONG", confidence=85, time=t))   # each MACRO decision
    verdict = book.admit(signal, now=t, equity=eq)  # accepted -> position recorded, size in verdict
    book.close(signal.pair, "SCALP", now=t_exit)    # when TP / SL / time stop fills
    book.due(now)                                   # positions past their time stop
    book.state.model_dump(mode="json")              # persist

Rules (every rejection has a reason code, counted in ``state.rejections``):

- ``margin``: margin in use + the new position's margin would exceed equity.
- SCALP ``pair_has_open_scalp``: one open scalp per coin.
- SCALP ``daily_cap``: at most ``max_trades_per_day`` scalps opened per UTC day, all pairs together.
- SCALP ``cooldown``: a coin rests ``cooldown`` minutes after its scalp closed.
- SCALP ``macro_conflict``: a MACRO position is open on the pair and ``macro_conflict="stand_aside"``;
  with ``"halve"`` the scalp is accepted at half size (counted in ``state.halved``).
- SCALP ``macro_bias``: the pair's latest MACRO decision has confidence >= ``macro_bias_confidence``
  and points the other way (side = sign of the trend slope; a flat trend has no side).
- MACRO ``pair_has_open_macro``: one MACRO position per coin.

Sizing: margin = ``margin_fraction`` x equity (x 0.5 when halved), notional = margin x ``leverage``.
Time stops: a scalp is due ``time_stop`` minutes after opening, a MACRO position ``macro_time_stop``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pydantic import BaseModel, Field

from engines.errors import InvalidInput
from engines.models import Side, Signal, SignalType
from engines.params import StrategyParams

REJECTION_REASONS: tuple[str, ...] = (
    "margin", "pair_has_open_scalp", "daily_cap", "cooldown", "macro_conflict", "macro_bias",
    "pair_has_open_macro",
)
LEVERAGE = 10.0
MARGIN_FRACTION = 0.10


class MacroView(BaseModel):
    """The latest MACRO decision on a pair: its side (trend slope sign) and confidence."""

    pair: str
    side: Side | None
    confidence: int
    time: datetime


class OpenPosition(BaseModel):
    """A position the book holds."""

    key: str
    pair: str
    engine: SignalType
    side: Side
    opened_at: datetime
    due_at: datetime
    margin: float
    notional: float
    tp: float
    sl: float
    halved: bool = False


class RiskState(BaseModel):
    """Everything the book remembers; JSON-serialisable (``model_dump(mode="json")``)."""

    positions: list[OpenPosition] = Field(default_factory=list)
    day: str | None = None
    scalps_today: int = 0
    cooldown_until: dict[str, datetime] = Field(default_factory=dict)
    macro_views: dict[str, MacroView] = Field(default_factory=dict)
    rejections: dict[str, int] = Field(default_factory=dict)
    halved: int = 0
    cap_days: list[str] = Field(default_factory=list)


@dataclass(frozen=True)
class Verdict:
    """The book's answer to one signal."""

    accepted: bool
    reason: str  # "ok", "halved" or a rejection code
    margin: float = 0.0
    notional: float = 0.0


class RiskBook:
    """Applies the risk rules to signals in time order and remembers open positions."""

    def __init__(self, params: StrategyParams, state: RiskState | None = None, *, leverage: float = LEVERAGE,
                 margin_fraction: float = MARGIN_FRACTION, macro_conflict_rule: bool = True) -> None:
        if leverage <= 0 or not 0 < margin_fraction <= 1:
            raise InvalidInput("leverage must be > 0 and margin_fraction in (0, 1]")
        self.params = params
        self.state = state if state is not None else RiskState()
        self.leverage = leverage
        self.margin_fraction = margin_fraction
        self.macro_conflict_rule = macro_conflict_rule

    @property
    def margin_in_use(self) -> float:
        return sum([p.margin for p in self.state.positions])  # sum(), not a loop: it sums floats compensated

    def position(self, pair: str, engine: SignalType) -> OpenPosition | None:
        for p in self.state.positions:  # a loop, not next(generator): the portfolio pass asks this a lot
            if p.pair == pair and p.engine == engine:
                return p
        return None

    def note_macro(self, view: MacroView) -> None:
        """Remember the pair's latest MACRO decision (feeds the bias rule)."""
        self.state.macro_views[view.pair] = view

    def admit(self, signal: Signal, now: datetime, equity: float) -> Verdict:
        """Check ``signal`` at ``now``; if accepted, record the position and return its size."""
        self._roll_day(now)
        reason = self._scalp_rejection(signal, now) if signal.type == "SCALP" else self._macro_rejection(signal)
        halved = signal.type == "SCALP" and reason is None and self._macro_open(signal.pair) and self.macro_conflict_rule
        margin = equity * self.margin_fraction * (0.5 if halved else 1.0)
        if reason is None and (equity <= 0 or self.margin_in_use + margin > equity + 1e-9):
            reason = "margin"
        if reason is not None:
            self.state.rejections[reason] = self.state.rejections.get(reason, 0) + 1
            if reason == "daily_cap" and self.state.day not in self.state.cap_days:
                self.state.cap_days.append(self.state.day)
            return Verdict(False, reason)
        self._open(signal, now, margin, halved)
        return Verdict(True, "halved" if halved else "ok", margin, margin * self.leverage)

    def close(self, pair: str, engine: SignalType, now: datetime) -> OpenPosition:
        """Forget the pair's ``engine`` position; a closed scalp starts the pair's cooldown."""
        position = self.position(pair, engine)
        if position is None:
            raise InvalidInput(f"no open {engine} position on {pair}")
        self.state.positions = [p for p in self.state.positions if p is not position]
        if engine == "SCALP":
            self.state.cooldown_until[pair] = now + timedelta(minutes=self.params.cooldown)
        return position

    def due(self, now: datetime) -> list[OpenPosition]:
        """Open positions whose time stop has come (``due_at <= now``)."""
        return [p for p in self.state.positions if p.due_at <= now]

    def _roll_day(self, now: datetime) -> None:
        day = now.date().isoformat()
        if day != self.state.day:
            self.state.day, self.state.scalps_today = day, 0

    def _macro_open(self, pair: str) -> bool:
        return self.position(pair, "MACRO") is not None

    def _scalp_rejection(self, signal: Signal, now: datetime) -> str | None:
        pair, p = signal.pair, self.params
        if self.position(pair, "SCALP") is not None:
            return "pair_has_open_scalp"
        if self.state.scalps_today >= p.max_trades_per_day:
            return "daily_cap"
        if pair in self.state.cooldown_until and now < self.state.cooldown_until[pair]:
            return "cooldown"
        if self.macro_conflict_rule and self._macro_open(pair) and p.macro_conflict == "stand_aside":
            return "macro_conflict"
        view = self.state.macro_views.get(pair)
        if view is not None and view.confidence >= p.macro_bias_confidence and view.side not in (None, signal.side):
            return "macro_bias"
        return None

    def _macro_rejection(self, signal: Signal) -> str | None:
        return "pair_has_open_macro" if self._macro_open(signal.pair) else None

    def _open(self, signal: Signal, now: datetime, margin: float, halved: bool) -> None:
        minutes = self.params.time_stop if signal.type == "SCALP" else self.params.macro_time_stop
        self.state.positions.append(OpenPosition(
            key=signal.key, pair=signal.pair, engine=signal.type, side=signal.side, opened_at=now,
            due_at=now + timedelta(minutes=minutes), margin=margin, notional=margin * self.leverage,
            tp=signal.tp, sl=signal.sl, halved=halved))
        if signal.type == "SCALP":
            self.state.scalps_today += 1
        self.state.halved += int(halved)


@dataclass(frozen=True)
class TradePnl:
    """What a position earned, in USDT: gross move, fees, funding (positive = paid) and the net."""

    gross: float
    fees: float
    funding: float
    net: float


def trade_pnl(direction: float, notional: float, entry: float, exit: float, funding_rate_sum: float,
              fee_rate: float) -> TradePnl:
    """P&L of a position of entry ``notional`` (USDT) from ``entry`` to ``exit``: the one formula of the
    backtester and the paper book.

    quantity = notional / entry; gross = quantity x (exit - entry) x direction; fees = fee rate x
    (entry notional + exit notional); funding = direction x (sum of the rates it was charged) x entry
    notional; net = gross - fees - funding.
    """
    quantity = notional / entry
    gross = quantity * (exit - entry) * direction
    fees = fee_rate * (notional + quantity * exit)
    funding = direction * funding_rate_sum * notional + 0.0  # no negative zero
    return TradePnl(gross, fees, funding, gross - fees - funding)


def side_of_slope(slope: float) -> Side | None:
    """MACRO's side from its trend: up-sloping LONG, down-sloping SHORT, flat none."""
    return "LONG" if slope > 0 else "SHORT" if slope < 0 else None

