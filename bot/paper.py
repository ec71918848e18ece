"""Paper positions: signals admitted by the shared risk book, filled and resolved on 1m candles.

Same rules as the backtester: the entry fills at the open of the first 1m candle that opens at or
after the decision candle's close (live, a decision made late fills no earlier than ``fills_from``); TP, SL and the time stop are resolved by
:func:`engines.execution.resolve_exits`, one closed 1m candle at a time from the entry candle on
(both touched in one minute counts as SL); funding is charged at the pair's funding instants on the entry notional
(positive rate: longs pay). P&L, fees (``FEE_RATE`` of the entry and of the exit notional) and funding are
:func:`engines.risk.trade_pnl`, the backtester's own formula; the account starts with the backtester's ``CAPITAL``.

State lives in the store: table ``positions`` (key = signal key) and ``risk`` key ``book``
(the :class:`engines.risk.RiskState`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

import numpy as np
import pandas as pd
from pydantic import BaseModel

from engines.backtest.portfolio import CAPITAL as STARTING_EQUITY, FEE_RATE
from engines.errors import InvalidInput
from engines.execution import END_OF_DATA, EXIT_REASONS, MINUTE_NS, MinuteBars, resolve_exits
from engines.models import Signal
from engines.params import StrategyParams
from engines.risk import MacroView, RiskBook, RiskState, Verdict, trade_pnl
from storage import StateStore

POSITIONS, RISK = "positions", "risk"
Status = Literal["pending", "open", "closed"]


class MinuteCandle(Protocol):
    """A closed 1m candle (``market.feed.ClosedCandle`` fits)."""

    timestamp: pd.Timestamp
    open: float
    high: float
    low: float
    close: float


@dataclass(frozen=True)
class _AtOpen:
    """Only the open of a 1m candle (high = low = close = open): the exits that happen at its open."""

    timestamp: pd.Timestamp
    open: float
    high: float
    low: float
    close: float


class PaperPosition(BaseModel):
    """One paper position, from admission to exit."""

    signal: Signal
    margin: float
    notional: float
    halved: bool = False
    status: Status = "pending"
    entry_price: float | None = None
    entry_time: datetime | None = None
    due_at: datetime
    exit_price: float | None = None
    exit_time: datetime | None = None
    exit_reason: str | None = None
    same_candle: bool = False
    funding_paid: float = 0.0
    funding_rate_sum: float = 0.0  # sum of the funding rates charged (the backtester's input)
    funded_until: datetime | None = None
    fills_from: datetime | None = None  # a late decision: no fill on a candle opening before this

    @property
    def key(self) -> str:
        return self.signal.key

    @property
    def direction(self) -> float:
        return 1.0 if self.signal.side == "LONG" else -1.0

    def pnl(self, price: float) -> float:
        """P&L in USDT if closed at ``price``: price move on the notional, minus fees and funding."""
        if self.entry_price is None:
            return 0.0
        return trade_pnl(self.direction, self.notional, self.entry_price, price, self.funding_rate_sum, FEE_RATE).net

    def pnl_pct(self, price: float) -> float:
        """P&L as % of the margin."""
        return 100.0 * self.pnl(price) / self.margin if self.margin else 0.0

    @property
    def realized(self) -> float:
        return self.pnl(self.exit_price) if self.exit_price is not None else 0.0


class PaperBook:
    """Paper positions in a :class:`~storage.StateStore`, sized and admitted by :class:`RiskBook`."""

    def __init__(self, store: StateStore, params: Callable[[], StrategyParams]) -> None:
        self._store, self._params = store, params
        saved = store.get(RISK, "book")
        self._risk_state = RiskState.model_validate(saved) if saved else RiskState()
        self._positions = {key: PaperPosition.model_validate(doc) for key, doc in store.items(POSITIONS)}

    def _risk(self) -> RiskBook:
        return RiskBook(self._params(), self._risk_state)

    def _save(self, position: PaperPosition) -> None:
        """Write through: the store is the record, the dictionary answers reads."""
        self._store.put(POSITIONS, position.key, position.model_dump(mode="json"))
        self._positions[position.key] = position

    def _save_risk(self) -> None:
        self._store.put(RISK, "book", self._risk_state.model_dump(mode="json"))

    def positions(self) -> list[PaperPosition]:
        return list(self._positions.values())

    def open_positions(self) -> list[PaperPosition]:
        return [p for p in self.positions() if p.status != "closed"]

    def get(self, key: str) -> PaperPosition | None:
        return self._positions.get(key)

    def has_open(self, pair: str) -> bool:
        return any(p.signal.pair == pair and p.status != "closed" for p in self._positions.values())

    @property
    def equity(self) -> float:
        return STARTING_EQUITY + sum(p.realized for p in self.positions() if p.status == "closed")

    @property
    def rejections(self) -> dict[str, int]:
        return dict(self._risk_state.rejections)

    def note_macro(self, view: MacroView) -> None:
        """Remember MACRO's latest view for the bias rule; persisted with the next position change.

        Not written on its own: it changes every hour on every pair, and the next 1h close
        restores it after a restart anyway.
        """
        self._risk().note_macro(view)

    def admit(self, signal: Signal, now: datetime, fills_from: datetime | None = None) -> Verdict:
        """Ask the risk book; an accepted signal becomes a pending position (filling from ``fills_from`` if late)."""
        book = self._risk()
        verdict = book.admit(signal, now=now, equity=self.equity)
        self._save_risk()
        if verdict.accepted:
            held = book.position(signal.pair, signal.type)
            self._save(PaperPosition(signal=signal, margin=verdict.margin, notional=verdict.notional,
                                     halved=verdict.reason == "halved", due_at=held.due_at, fills_from=fills_from))
        return verdict

    def on_candle(self, pair: str, candle: MinuteCandle) -> list[PaperPosition]:
        """Fill and resolve ``pair``'s positions on one closed 1m candle; returns those that closed.

        Candles must come in order. Each candle is resolved on its own with
        :func:`engines.execution.resolve_exits` (a position that reached this candle was open
        through the previous ones), which is exactly the backtester's candle-by-candle rule.
        """
        closed = []
        for position in [p for p in self.open_positions() if p.signal.pair == pair]:
            if position.status == "pending":
                if candle.timestamp < pd.Timestamp(position.fills_from or position.signal.timestamp):
                    continue
                position = position.model_copy(update={"status": "open", "entry_price": candle.open,
                                                       "entry_time": candle.timestamp.to_pydatetime()})
                self._save(position)
            if candle.timestamp < pd.Timestamp(position.entry_time):
                continue
            if (done := self._resolve(position, candle)) is not None:
                closed.append(done)
        return closed

    def on_open(self, pair: str, candle: MinuteCandle) -> list[PaperPosition]:
        """What happens at the open of ``candle``: fills, and exits at the open (time stop, a gap through
        TP or SL); returns the positions that closed. :meth:`on_candle` on the same candle then resolves
        the rest of it. The backtester settles exits at an instant before it admits signals at that
        instant; the bot calls this, then admits, then :meth:`on_candle`.
        """
        return self.on_candle(pair, _AtOpen(candle.timestamp, candle.open, candle.open, candle.open, candle.open))

    def _resolve(self, position: PaperPosition, candle: MinuteCandle) -> PaperPosition | None:
        start_ns = candle.timestamp.as_unit("ns").value
        bars = MinuteBars(np.array([start_ns], dtype=np.int64), np.array([candle.open]), np.array([candle.high]),
                          np.array([candle.low]), np.array([candle.close]))
        hold = max((pd.Timestamp(position.due_at).as_unit("ns").value - start_ns) // MINUTE_NS, 0)
        exits = resolve_exits(bars, np.array([0]), np.array([position.direction > 0]),
                              np.array([position.signal.tp]), np.array([position.signal.sl]), np.array([hold]))
        if int(exits.reason[0]) == END_OF_DATA:
            return None
        return self._finish(position, float(exits.exit_price[0]), pd.Timestamp(int(exits.exit_time[0]), tz="UTC"),
                            EXIT_REASONS[int(exits.reason[0])], bool(exits.same_candle[0]))

    def _finish(self, position: PaperPosition, price: float, when: datetime, reason: str,
                same_candle: bool = False) -> PaperPosition:
        done = position.model_copy(update={"status": "closed", "exit_price": price, "exit_time": when,
                                           "exit_reason": reason, "same_candle": same_candle})
        self._risk().close(position.signal.pair, position.signal.type, now=when)
        self._save_risk()
        self._save(done)
        return done

    def charge_funding(self, pair: str, rate: float, at: datetime) -> list[PaperPosition]:
        """Charge ``rate`` at instant ``at`` to ``pair``'s positions open across it."""
        charged = []
        for position in self.open_positions():
            if position.signal.pair != pair or position.entry_time is None or position.entry_time >= at:
                continue
            if position.funded_until is not None and position.funded_until >= at:
                continue  # already charged (a replay that started over)
            rate_sum = position.funding_rate_sum + rate
            paid = trade_pnl(position.direction, position.notional, 1.0, 1.0, rate_sum, 0.0).funding
            position = position.model_copy(update={"funding_paid": paid, "funding_rate_sum": rate_sum,
                                                   "funded_until": at})
            self._save(position)
            charged.append(position)
        return charged

    def close(self, pair: str, price: float, now: datetime) -> PaperPosition:
        """Close ``pair``'s open position (the scalp if there are two) at ``price``, reason ``manual``."""
        held = sorted((p for p in self.open_positions() if p.signal.pair == pair),
                      key=lambda p: p.signal.type != "SCALP")
        if not held:
            raise InvalidInput(f"no open paper position on {pair}")
        position = held[0]
        if position.status == "pending":
            position = position.model_copy(update={"entry_price": price, "entry_time": now, "status": "open"})
        return self._finish(position, price, now, "manual")
