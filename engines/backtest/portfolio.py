"""The paper portfolio: one pass in time order over candidates, through the shared risk book.

Equity is the starting capital plus the net P&L of closed trades (a trade's fees and funding are
booked when it closes). Before each entry, every position whose exit time is at or before the
entry time is closed, and the book is given the pair's latest MACRO decision known at the entry
time (the only one its rules read for that entry).

P&L of a trade: quantity = notional / entry price; gross = quantity x (exit - entry) x direction;
fees = fee rate x (entry notional + exit notional); funding = direction x (sum of rates) x entry
notional (positive = paid); net = gross - fees - funding.
"""

from __future__ import annotations

import heapq
from bisect import bisect_right
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from dataclasses import dataclass, field
from operator import attrgetter

import pandas as pd

from engines.backtest.candidates import Candidate
from engines.models import ExhaustionChecks
from engines.params import StrategyParams
from engines.risk import LEVERAGE, MARGIN_FRACTION, MacroView, RiskBook, Verdict, trade_pnl

CAPITAL = 200_000.0
FEE_RATE = 0.0006


@dataclass(frozen=True)
class Costs:
    """Account and cost settings of a run."""

    capital: float = CAPITAL
    fee_rate: float = FEE_RATE
    leverage: float = LEVERAGE
    margin_fraction: float = MARGIN_FRACTION


@dataclass(frozen=True)
class Trade:
    """A filled and closed position (one row of trades.csv)."""

    pair: str
    engine: str
    side: str
    signal_time: pd.Timestamp
    entry_time: pd.Timestamp
    entry: float
    exit_time: pd.Timestamp
    exit: float
    reason: str
    size: float  # entry notional, USD
    margin: float
    fees: float
    funding: float  # positive = paid
    pnl: float  # net of fees and funding
    same_candle: bool
    halved: bool
    macro_open: bool  # a MACRO position was open on the pair when this trade opened
    tp: float = 0.0  # the signal's absolute take-profit
    sl: float = 0.0  # the signal's absolute stop-loss
    checks: ExhaustionChecks | None = None

    @property
    def hold_minutes(self) -> float:
        return (self.exit_time - self.entry_time).total_seconds() / 60


@dataclass(frozen=True)
class PortfolioRun:
    """Closed trades of one pass, in exit order, and the book's counters."""

    trades: tuple[Trade, ...]
    candidates: int
    rejections: dict[str, int]
    halved: int
    cap_days: tuple[str, ...]
    costs: Costs = field(default_factory=Costs)


class MacroViews:
    """MACRO decisions by pair in time order, for the latest one known at an instant (by bisection).

    Build it once for many portfolio passes over the same decisions; of decisions at the same instant
    on a pair, the last one given counts (as when they are fed to the book in time order).
    """

    def __init__(self, views: Iterable[MacroView]) -> None:
        self._views: dict[str, list[MacroView]] = {}
        for view in views:
            self._views.setdefault(view.pair, []).append(view)
        for mine in self._views.values():
            mine.sort(key=attrgetter("time"))  # stable; one pair's decisions usually come in time order already
        self._times = {pair: [view.time for view in mine] for pair, mine in self._views.items()}

    def latest(self, pair: str, now: datetime) -> MacroView | None:
        """The pair's last decision at or before ``now``; None before its first."""
        times = self._times.get(pair)
        count = bisect_right(times, now) if times else 0
        return self._views[pair][count - 1] if count else None


def close_trade(candidate: Candidate, verdict: Verdict, macro_open: bool, costs: Costs) -> Trade:
    signal = candidate.signal
    pnl = trade_pnl(1.0 if signal.side == "LONG" else -1.0, verdict.notional, candidate.entry_price,
                    candidate.exit_price, candidate.funding_rate_sum, costs.fee_rate)
    return Trade(
        pair=signal.pair, engine=signal.type, side=signal.side, signal_time=pd.Timestamp(signal.timestamp),
        entry_time=candidate.entry_time, entry=candidate.entry_price, exit_time=candidate.exit_time,
        exit=candidate.exit_price, reason=candidate.reason, size=verdict.notional, margin=verdict.margin,
        fees=pnl.fees, funding=pnl.funding, pnl=pnl.net, same_candle=candidate.same_candle,
        halved=verdict.reason == "halved", macro_open=macro_open, tp=signal.tp, sl=signal.sl,
        checks=signal.exhaustion_checks if signal.type == "SCALP" else None)


def simulate(candidates: list[Candidate], views: Sequence[MacroView] | MacroViews, params: StrategyParams,
             costs: Costs = Costs(), *, macro_conflict_rule: bool = True,
             params_at: Callable[[datetime], StrategyParams] | None = None,
             verdicts: dict[str, str] | None = None) -> PortfolioRun:
    """Apply the risk rules, sizing, fees and funding to ``candidates`` in time order.

    ``views``: MACRO's decisions (as a list, or already indexed for several passes);
    ``params_at``: the parameters in force at each entry time (a replay across parameter versions);
    ``verdicts``: filled with each candidate's verdict reason by signal key.
    """
    book = RiskBook(params, leverage=costs.leverage, margin_fraction=costs.margin_fraction,
                    macro_conflict_rule=macro_conflict_rule)
    known = views if isinstance(views, MacroViews) else MacroViews(views)
    open_heap: list[tuple[datetime, int, Trade]] = []
    trades: list[Trade] = []
    equity = costs.capital
    for seq, candidate in enumerate(sorted(candidates, key=attrgetter("pass_order"))):
        now = candidate.entry_at
        while open_heap and open_heap[0][0] <= now:
            equity += _settle(heapq.heappop(open_heap)[2], book, trades)
        view = known.latest(candidate.signal.pair, now)
        if view is not None:
            book.note_macro(view)
        macro_open = book.position(candidate.signal.pair, "MACRO") is not None
        if params_at is not None:
            book.params = params_at(now)
        verdict = book.admit(candidate.signal, now, equity)
        if verdicts is not None:
            verdicts[candidate.signal.key] = verdict.reason
        if verdict.accepted:
            trade = close_trade(candidate, verdict, macro_open, costs)
            heapq.heappush(open_heap, (trade.exit_time.to_pydatetime(), seq, trade))
    while open_heap:
        equity += _settle(heapq.heappop(open_heap)[2], book, trades)
    state = book.state
    return PortfolioRun(tuple(trades), len(candidates), dict(state.rejections), state.halved,
                        tuple(state.cap_days), costs)


def _settle(trade: Trade, book: RiskBook, trades: list[Trade]) -> float:
    book.close(trade.pair, trade.engine, trade.exit_time.to_pydatetime())  # type: ignore[arg-type]
    trades.append(trade)
    return trade.pnl
