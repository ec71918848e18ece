"""Paper positions: signals admitted by the shared risk book, filled and resolved on 1m candles.

Same rules as the backtester: the entry fills at the open of the first 1m candle that opens at or
after the decision candle's close (live, a decision made late fills no earlier than ``fills_from``); TP, SL and the time stop are resolved by
:func:`engines.execution.resolve_exits`, one closed 1m candle at a time from the entry candle on
(both touched in one minute counts as SL); funding is charged at the pair's funding instants on the entry notional
(positive rate: longs pay). P&L, fees (``FEE_RATE`` of the entry and of the exit notional) and funding are
:func:`engines.risk.trade_pnl`, the backtester's own formula; the account starts with the backtester's ``CAPITAL``.

State lives in the store: table ``positions`` (key = signal key) and ``risk`` key ``book``
(the :class:`engines.risk.RiskState`). Every state change -- an admission, the fills and exits of
one 1m candle, a funding charge, a manual close -- is one :meth:`StateStore.write` of the new risk
book and positions (plus whatever the caller adds, e.g. the journal's record), computed on copies:
memory changes only once the write succeeded, so a failed write leaves memory equal to the file.
A position's candles are resolved from the last one it was checked on (in memory; after a restart
from its entry), so candles missed while the bot was down or while the disk refused a write are
resolved later by the same rules (:meth:`PaperBook.catch_up`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Literal, Protocol

import numpy as np
import pandas as pd
from pydantic import BaseModel, ValidationError

from bot.records import damage
from engines.backtest.portfolio import CAPITAL as STARTING_EQUITY, FEE_RATE
from engines.errors import InvalidInput
from engines.execution import END_OF_DATA, EXIT_REASONS, MINUTE_NS, MinuteBars, resolve_exits
from engines.models import Signal
from engines.params import StrategyParams
from engines.risk import MacroView, RiskBook, RiskState, Verdict, trade_pnl
from storage import Change, Put, StateStore

logger = logging.getLogger(__name__)
POSITIONS, RISK = "positions", "risk"
KEEP_CLOSED = timedelta(days=31)  # closed positions held in memory (/drift looks back 30 days at most)
Status = Literal["pending", "open", "closed"]


class MinuteCandle(Protocol):
    """A closed 1m candle (``market.feed.ClosedCandle`` fits)."""

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
    """Paper positions in a :class:`~storage.StateStore`, sized and admitted by :class:`RiskBook`.

    Thread-safe: state changes hold one lock (the bot runs them in worker threads); readers see
    the last committed dictionary, which is replaced, never changed in place.
    """

    def __init__(self, store: StateStore, params: Callable[[], StrategyParams], *,
                 on_close: Callable[[PaperPosition], Sequence[Change]] | None = None) -> None:
        self._store, self._params = store, params
        self._on_close = on_close or (lambda position: ())
        self._lock = threading.RLock()
        self.quarantined: dict[str, str] = {}
        self._risk_state = self._load_risk()
        self._positions: dict[str, PaperPosition] = {}
        for key, doc in store.items(POSITIONS):
            try:
                self._positions[key] = PaperPosition.model_validate(doc)
            except ValidationError as e:
                self._quarantine(f"{POSITIONS}/{key}", e)
        self._positions, self._archived_realized = _archive_old_closed(self._positions)
        self._open = _open_only(self._positions)
        self._checked: dict[str, pd.Timestamp] = {}  # key -> open time of the last 1m candle resolved
        self._drop_phantoms()

    def _drop_phantoms(self) -> None:
        """Free risk-book slots no open position holds (left by the old two-write admission)."""
        held = set(self._open)
        phantoms = [p for p in self._risk_state.positions if p.key not in held]
        for phantom in phantoms:
            logger.error("risk book slot %s has no open position; freed", phantom.key)
        self._risk_state.positions = [p for p in self._risk_state.positions if p.key in held]

    def _load_risk(self) -> RiskState:
        saved = self._store.get(RISK, "book")
        try:
            return RiskState.model_validate(saved) if saved else RiskState()
        except ValidationError as e:
            self._quarantine(f"{RISK}/book", e)
            return RiskState()

    def _quarantine(self, name: str, error: ValidationError) -> None:
        reason = self.quarantined[name] = damage(error)
        logger.error("state record %s is malformed (%s); left aside, the rest keeps working", name, reason)

    def _risk(self, state: RiskState | None = None) -> RiskBook:
        return RiskBook(self._params(), self._risk_state if state is None else state)

    def _commit(self, positions: dict[str, PaperPosition], risk: RiskState | None,
                changes: Sequence[Change]) -> None:
        """Write ``changes`` as one batch; only then make ``positions`` and ``risk`` the state in memory."""
        if not changes:
            return
        self._store.write(changes)
        positions, archived = _archive_old_closed(positions)
        self._positions, self._open = positions, _open_only(positions)
        self._archived_realized += archived
        if risk is not None:
            self._risk_state = risk

    def positions(self) -> list[PaperPosition]:
        return list(self._positions.values())

    def open_positions(self) -> list[PaperPosition]:
        return list(self._open.values())

    def get(self, key: str) -> PaperPosition | None:
        return self._positions.get(key)

    def has_open(self, pair: str) -> bool:
        return any(p.signal.pair == pair for p in self._open.values())

    @property
    def equity(self) -> float:
        return (STARTING_EQUITY + self._archived_realized
                + sum(p.realized for p in self.positions() if p.status == "closed"))

    @property
    def rejections(self) -> dict[str, int]:
        return dict(self._risk_state.rejections)

    def note_macro(self, view: MacroView) -> None:
        """Remember MACRO's latest view for the bias rule (one write: a restart must not forget it)."""
        with self._lock:
            state = self._risk_state.model_copy(deep=True)
            self._risk(state).note_macro(view)
            self._commit(self._positions, state, [_risk_put(state)])

    def admit(self, signal: Signal, now: datetime, fills_from: datetime | None = None,
              also: Callable[[Verdict], Sequence[Change]] = lambda verdict: ()) -> Verdict:
        """Ask the risk book; an accepted signal becomes a pending position (filling from ``fills_from`` if
        late). One write, with ``also(verdict)``."""
        with self._lock:
            state = self._risk_state.model_copy(deep=True)
            book = self._risk(state)
            verdict = book.admit(signal, now=now, equity=self.equity)
            positions, changes = dict(self._positions), [_risk_put(state)]
            if verdict.accepted:
                held = book.position(signal.pair, signal.type)
                position = PaperPosition(signal=signal, margin=verdict.margin, notional=verdict.notional,
                                         halved=verdict.reason == "halved", due_at=held.due_at,
                                         fills_from=fills_from)
                positions[position.key] = position
                changes.append(_position_put(position))
            self._commit(positions, state, [*changes, *also(verdict)])
            return verdict

    def on_candle(self, pair: str, candle: MinuteCandle) -> list[PaperPosition]:
        """Fill and resolve ``pair``'s positions on one closed 1m candle; returns those that closed."""
        bars = MinuteBars(np.array([candle.timestamp.as_unit("ns").value], dtype=np.int64),
                          np.array([candle.open]), np.array([candle.high]), np.array([candle.low]),
                          np.array([candle.close]))
        return self.resolve(pair, bars)

    def on_open(self, pair: str, candle: MinuteCandle) -> list[PaperPosition]:
        """What happens at the open of ``candle``: fills, and exits at the open (time stop, a gap through
        TP or SL); returns the positions that closed. :meth:`on_candle` on the same candle then resolves
        the rest of it (the candle is not marked as checked here). The backtester settles exits at an
        instant before it admits signals at that instant; the bot calls this, then admits, then
        :meth:`on_candle`.
        """
        at_open = MinuteBars(np.array([candle.timestamp.as_unit("ns").value], dtype=np.int64),
                             *(np.array([candle.open]) for _ in range(4)))
        return self.resolve(pair, at_open, mark_checked=False)

    def catch_up(self, pair: str, candles_1m: pd.DataFrame) -> list[PaperPosition]:
        """Resolve ``pair``'s positions on every candle of ``candles_1m`` they were not checked on."""
        return self.resolve(pair, MinuteBars.from_frame(candles_1m)) if len(candles_1m) else []

    def needs_candles_since(self, pair: str) -> pd.Timestamp | None:
        """Open time of the earliest 1m candle one of ``pair``'s positions still has to be resolved on."""
        starts = [self._first_unchecked(p) for p in self.open_positions() if p.signal.pair == pair]
        return min(starts) if starts else None

    def _first_unchecked(self, position: PaperPosition) -> pd.Timestamp:
        checked = self._checked.get(position.key)
        if checked is not None:
            return checked + pd.Timedelta(minutes=1)
        return pd.Timestamp(position.entry_time or position.fills_from or position.signal.timestamp)

    def resolve(self, pair: str, bars: MinuteBars, *, mark_checked: bool = True) -> list[PaperPosition]:
        """Fill and resolve ``pair``'s positions on ``bars`` (candles in order), as the backtester does.

        Candles a position was already checked on are skipped, so handing the same candles twice
        changes nothing. Fills and exits of the call are one write; returns the positions that closed.
        """
        with self._lock:
            positions, state = dict(self._positions), self._risk_state.model_copy(deep=True)
            changes: list[Change] = []
            closed, checked = [], {}
            for position in [p for p in self._open.values() if p.signal.pair == pair]:
                after = _resolve_on(position, bars, self._first_unchecked(position))
                if after is None:
                    continue
                updated, last_checked = after
                checked[position.key] = last_checked
                if updated is position:
                    continue
                positions[updated.key] = updated
                if updated.status == "closed":
                    _release(self._risk(state), updated)
                    closed.append(updated)
                    changes += self._on_close(updated)
                changes.insert(0, _position_put(updated))
            if closed:
                changes.insert(0, _risk_put(state))
            self._commit(positions, state, changes)
            if mark_checked:
                self._checked.update(checked)
            return closed

    def charge_funding(self, pair: str, rate: float, at: datetime) -> list[PaperPosition]:
        """Charge ``rate`` at instant ``at`` to ``pair``'s positions open across it (one write)."""
        with self._lock:
            positions, charged = dict(self._positions), []
            for position in self.open_positions():
                if position.signal.pair != pair or position.entry_time is None or position.entry_time >= at:
                    continue
                if position.funded_until is not None and position.funded_until >= at:
                    continue  # already charged (a replay that started over)
                rate_sum = position.funding_rate_sum + rate
                paid = trade_pnl(position.direction, position.notional, 1.0, 1.0, rate_sum, 0.0).funding
                positions[position.key] = position.model_copy(update={"funding_paid": paid, "funding_rate_sum": rate_sum,
                                                                      "funded_until": at})
                charged.append(positions[position.key])
            self._commit(positions, None, [_position_put(p) for p in charged])
            return charged

    def close(self, pair: str, price: float, now: datetime) -> PaperPosition:
        """Close ``pair``'s open position (the scalp if there are two) at ``price``, reason ``manual``."""
        with self._lock:
            held = sorted((p for p in self.open_positions() if p.signal.pair == pair),
                          key=lambda p: p.signal.type != "SCALP")
            if not held:
                raise InvalidInput(f"no open paper position on {pair}")
            position = held[0]
            if position.status == "pending":
                position = position.model_copy(update={"entry_price": price, "entry_time": now, "status": "open"})
            done = _closed(position, price, now, "manual")
            state = self._risk_state.model_copy(deep=True)
            _release(self._risk(state), done)
            self._commit({**self._positions, done.key: done}, state,
                         [_risk_put(state), _position_put(done), *self._on_close(done)])
            return done


def _release(book: RiskBook, position: PaperPosition) -> None:
    """Free the risk book's slot of a closed position (a book that lacks it -- old state -- is logged)."""
    if book.position(position.signal.pair, position.signal.type) is None:
        logger.error("the risk book holds no %s position on %s; closing %s anyway",
                     position.signal.type, position.signal.pair, position.key)
        return
    book.close(position.signal.pair, position.signal.type, now=position.exit_time)


def _risk_put(state: RiskState) -> Put:
    return Put(RISK, "book", state.model_dump(mode="json"))


def _archive_old_closed(positions: dict[str, PaperPosition]) -> tuple[dict[str, PaperPosition], float]:
    """``positions`` without those closed more than ``KEEP_CLOSED`` before the last exit, and their P&L.

    They stay in the store; memory holds only what the live book, /positions and /drift use, so a bot
    running for months does not grow with every scalp it ever closed.
    """
    exits = [p.exit_time for p in positions.values() if p.status == "closed" and p.exit_time is not None]
    if not exits:
        return positions, 0.0
    cutoff = max(exits) - KEEP_CLOSED
    old = {key for key, p in positions.items()
           if p.status == "closed" and p.exit_time is not None and p.exit_time < cutoff}
    if not old:
        return positions, 0.0
    return ({key: p for key, p in positions.items() if key not in old},
            sum(positions[key].realized for key in old))


def _open_only(positions: dict[str, PaperPosition]) -> dict[str, PaperPosition]:
    return {key: p for key, p in positions.items() if p.status != "closed"}


def _position_put(position: PaperPosition) -> Put:
    return Put(POSITIONS, position.key, position.model_dump(mode="json"))


def _closed(position: PaperPosition, price: float, when: datetime, reason: str,
            same_candle: bool = False) -> PaperPosition:
    return position.model_copy(update={"status": "closed", "exit_price": price, "exit_time": when,
                                       "exit_reason": reason, "same_candle": same_candle})


def _resolve_on(position: PaperPosition, bars: MinuteBars,
                first: pd.Timestamp) -> tuple[PaperPosition, pd.Timestamp] | None:
    """``position`` after the candles of ``bars`` opening at or after ``first``, and the last one used.

    ``None`` if no candle is new to it. A pending position fills at the open of the first candle
    opening at or after its decision candle's close; exits follow :func:`resolve_exits`.
    """
    begin = int(np.searchsorted(bars.times, first.as_unit("ns").value))
    if begin >= len(bars.times):
        return None
    last_checked = pd.Timestamp(int(bars.times[-1]), tz="UTC")
    if position.status == "pending":
        fills_from = pd.Timestamp(position.fills_from or position.signal.timestamp)
        begin = max(begin, int(np.searchsorted(bars.times, fills_from.value)))
        if begin >= len(bars.times):
            return position, last_checked
        position = position.model_copy(update={
            "status": "open", "entry_price": float(bars.open[begin]),
            "entry_time": pd.Timestamp(int(bars.times[begin]), tz="UTC").to_pydatetime()})
    hold = max((pd.Timestamp(position.due_at).value - int(bars.times[begin])) // MINUTE_NS, 0)
    exits = resolve_exits(bars, np.array([begin]), np.array([position.direction > 0]),
                          np.array([position.signal.tp]), np.array([position.signal.sl]), np.array([hold]))
    if int(exits.reason[0]) == END_OF_DATA:
        return position, last_checked
    return _closed(position, float(exits.exit_price[0]), pd.Timestamp(int(exits.exit_time[0]), tz="UTC"),
                   EXIT_REASONS[int(exits.reason[0])], bool(exits.same_candle[0])), last_checked
