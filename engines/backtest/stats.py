"""Statistics of a run: one pure function from closed trades and the window to a metrics model.

Conventions: ``win_rate`` is the percentage of trades with net P&L > 0; ``profit_factor`` is the
sum of net winning P&L over the absolute sum of net losing P&L (``None`` without losing trades);
daily P&L is booked on the UTC day a trade closes; ``max_drawdown_*`` is the largest fall from a
running peak of the mark-to-market equity (open positions valued at every 1m close, see
:mod:`engines.backtest.equity`) when given, in dollars and in % of that peak;
``closed_trade_drawdown_pct`` is the same on the closed-trade equity (capital plus cumulative net
P&L in exit order); exposure is the share of the window with at least one position open.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
from pydantic import BaseModel

from engines.backtest.equity import max_drawdown
from engines.backtest.portfolio import Trade
from engines.models import CHECK_NAMES


class GroupStats(BaseModel):
    trades: int
    win_rate: float
    profit_factor: float | None
    net_pnl: float


class CheckStats(BaseModel):
    fired: int | None
    win_rate: float | None
    note: str = ""


class RunMetrics(BaseModel):
    trades: int
    wins: int
    win_rate: float
    profit_factor: float | None
    net_pnl: float
    gross_profit: float
    gross_loss: float
    daily_pnl: dict[str, float]
    avg_daily_pnl: float
    max_drawdown_usd: float
    max_drawdown_pct: float
    closed_trade_drawdown_pct: float
    trades_per_pair_per_day: float
    avg_hold_minutes: float
    fees: float
    funding: dict[str, float]
    same_candle_tp_sl: int
    exposure_pct: float
    exits: dict[str, int]
    per_pair: dict[str, GroupStats]
    per_engine: dict[str, GroupStats]
    checks: dict[str, CheckStats]


def win_rate(pnls: Sequence[float]) -> float:
    return 100.0 * sum(p > 0 for p in pnls) / len(pnls) if len(pnls) else 0.0


def profit_factor(pnls: Iterable[float]) -> float | None:
    values = list(pnls)
    loss = -sum(p for p in values if p < 0)
    return sum(p for p in values if p > 0) / loss if loss > 0 else None


def drawdown(pnls_in_exit_order: Sequence[float], capital: float) -> tuple[float, float]:
    """Largest fall from a running peak of closed-trade equity: (dollars, % of that peak)."""
    equity = capital + np.concatenate([[0.0], np.cumsum(pnls_in_exit_order)])
    peaks = np.maximum.accumulate(equity)
    return float(np.max(peaks - equity)), float(np.max((peaks - equity) / peaks) * 100.0)


def exposure_pct(trades: Sequence[Trade], start: pd.Timestamp, end: pd.Timestamp) -> float:
    """% of ``[start, end]`` covered by at least one open position (intervals clipped to the window)."""
    spans = sorted((max(t.entry_time, start), min(t.exit_time, end)) for t in trades)
    covered, cursor = pd.Timedelta(0), start
    for begin, finish in spans:
        begin = max(begin, cursor)
        if finish > begin:
            covered += finish - begin
            cursor = finish
    return 100.0 * (covered / (end - start))


def daily_pnl(trades: Sequence[Trade], start: pd.Timestamp, end: pd.Timestamp) -> dict[str, float]:
    days = pd.date_range(start.floor("D"), (end - pd.Timedelta(microseconds=1)).floor("D"), freq="D")
    out = {d.date().isoformat(): 0.0 for d in days}
    for t in trades:
        day = t.exit_time.date().isoformat()
        out[day] = out.get(day, 0.0) + t.pnl
    return out


def group_stats(trades: Sequence[Trade], key) -> dict[str, GroupStats]:
    groups: dict[str, list[float]] = {}
    for t in trades:
        groups.setdefault(key(t), []).append(t.pnl)
    return {k: GroupStats(trades=len(v), win_rate=win_rate(v), profit_factor=profit_factor(v), net_pnl=sum(v))
            for k, v in sorted(groups.items())}


def check_stats(trades: Sequence[Trade]) -> dict[str, CheckStats]:
    """Win rate of scalps on which each exhaustion check fired."""
    scalps = [t for t in trades if t.checks is not None]
    out: dict[str, CheckStats] = {}
    for name in CHECK_NAMES:
        if name == "order_book_flip":
            out[name] = CheckStats(fired=None, win_rate=None, note="unavailable in history")
            continue
        pnls = [t.pnl for t in scalps if getattr(t.checks, name)]
        out[name] = CheckStats(fired=len(pnls), win_rate=win_rate(pnls) if pnls else None)
    return out


def summarize(trades: Sequence[Trade], capital: float, start: pd.Timestamp, end: pd.Timestamp,
              pair_count: int, equity: pd.Series | None = None) -> RunMetrics:
    """All metrics of one run (``trades`` in exit order; ``equity``: mark-to-market curve, if known)."""
    pnls = [t.pnl for t in trades]
    days = (end - start) / pd.Timedelta(days=1)
    daily = daily_pnl(trades, start, end)
    closed_usd, closed_pct = drawdown(pnls, capital)
    dd_usd, dd_pct = (closed_usd, closed_pct) if equity is None else max_drawdown(equity)
    funding = [t.funding for t in trades]
    exits: dict[str, int] = {}
    for t in trades:
        exits[t.reason] = exits.get(t.reason, 0) + 1
    return RunMetrics(
        trades=len(trades), wins=sum(p > 0 for p in pnls), win_rate=win_rate(pnls), profit_factor=profit_factor(pnls),
        net_pnl=sum(pnls), gross_profit=sum(p for p in pnls if p > 0), gross_loss=-sum(p for p in pnls if p < 0),
        daily_pnl=daily, avg_daily_pnl=sum(pnls) / days, max_drawdown_usd=dd_usd, max_drawdown_pct=dd_pct,
        closed_trade_drawdown_pct=closed_pct,
        trades_per_pair_per_day=len(trades) / pair_count / days,
        avg_hold_minutes=float(np.mean([t.hold_minutes for t in trades])) if trades else 0.0,
        fees=sum(t.fees for t in trades),
        funding={"paid": sum(f for f in funding if f > 0), "received": -sum(f for f in funding if f < 0),
                 "net": sum(funding)},
        same_candle_tp_sl=sum(t.same_candle for t in trades), exposure_pct=exposure_pct(trades, start, end),
        exits=dict(sorted(exits.items())), per_pair=group_stats(trades, lambda t: t.pair),
        per_engine=group_stats(trades, lambda t: t.engine), checks=check_stats(trades))


def break_even_win_rate(tp_pct: float, sl_pct: float, fee_rate: float) -> float:
    """Win rate (%) at which TP/SL outcomes net zero after entry and exit fees on notional."""
    win = tp_pct / 100 - fee_rate - fee_rate * (1 + tp_pct / 100)
    loss = sl_pct / 100 + fee_rate + fee_rate * (1 - sl_pct / 100)
    return 100.0 * loss / (win + loss)


def required_win_rate(tp_pct: float, sl_pct: float, fee_rate: float, target_pf: float) -> float:
    """Win rate (%) a TP/SL pair needs for profit factor ``target_pf`` after fees."""
    win = tp_pct / 100 - fee_rate * (2 + tp_pct / 100)
    loss = sl_pct / 100 + fee_rate * (2 - sl_pct / 100)
    return 100.0 * target_pf * loss / (win + target_pf * loss) if win > 0 else 100.0
