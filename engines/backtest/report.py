"""The backtest report: a typed object that renders to a console table, JSON and trades.csv."""

from __future__ import annotations

import csv
import io
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict

from engines.backtest.baseline import RandomRuns
from engines.backtest.edge import Edge, judge
from engines.backtest.equity import mark_to_market
from engines.backtest.portfolio import PortfolioRun, Trade
from engines.backtest.stats import RunMetrics, break_even_win_rate, required_win_rate, summarize, win_rate

if TYPE_CHECKING:
    from engines.backtest.run import BacktestRequest, Prepared

TRADE_COLUMNS = ("pair", "engine", "side", "signal_time", "entry_time", "entry", "exit_time", "exit", "reason",
                 "size", "fees", "funding", "pnl")
FILL_RULES = (
    "decision on a closed 15m/1h candle; entry at the open of the 1m candle opening at the decision close",
    "TP/SL/time stop resolved on 1m candles; a candle reaching both TP and SL counts as SL",
    "time stop fills at the open of the first 1m candle at/after entry + time stop",
    "a 1m candle opening beyond SL/TP fills at its open",
    "funding: rate x entry notional at each funding instant strictly inside the hold; longs pay positive rates; "
    "pairs without funding data: 00/08/16 UTC at +0.01 % (longs pay)",
    "equity for sizing = capital + closed-trade P&L; drawdown on mark-to-market equity (open positions at every "
    "1m close); fees and funding booked at exit",
)


class ConflictSide(BaseModel):
    scalps: int
    overlapped: int
    overlapped_pct: float
    overlapped_avg_size: float
    overlapped_win_rate: float
    overlapped_net_pnl: float
    net_pnl: float
    max_drawdown_pct: float


class MacroConflict(BaseModel):
    rule: str
    stood_aside: int
    halved: int
    with_rule: ConflictSide
    without_rule: ConflictSide


class Target(BaseModel):
    name: str
    goal: str
    measured: float | None
    met: bool


class Baseline(BaseModel):
    """The random-entry runs in figures: medians over runs, and the 5th/95th percentiles of net P&L."""

    seed: int
    runs: int
    trades: int  # per run (the strategy's trade count)
    win_rate: float
    profit_factor: float | None  # None when the median run has no losing trade
    net_pnl: float
    net_pnl_p5: float
    net_pnl_p95: float
    avg_daily_pnl: float
    max_drawdown_pct: float


def baseline_summary(runs: RandomRuns, days: float) -> Baseline:
    net = runs.net_pnl
    pf = float(np.median(runs.profit_factor))
    p5, p95 = np.percentile(net, [5, 95])
    drawdowns = runs.max_drawdown_pct if runs.max_drawdown_pct is not None else np.zeros(1)
    return Baseline(seed=runs.seed, runs=runs.runs, trades=runs.pnl.shape[1], win_rate=float(np.median(runs.win_rate)),
                    profit_factor=None if not np.isfinite(pf) else pf, net_pnl=float(np.median(net)),
                    net_pnl_p5=float(p5), net_pnl_p95=float(p95), avg_daily_pnl=float(np.median(net)) / days,
                    max_drawdown_pct=float(np.median(drawdowns)))


class BacktestReport(BaseModel):
    """Everything a backtest found; ``trades`` and ``equity`` feed trades.csv and the chart.

    ``equity``: mark-to-market equity (USD) at every 1m close from the window start to the later of
    the window end and the last exit (UTC index); ``random_band``: the 5th (``low``) and 95th
    (``high``) percentiles over the random-entry runs of their equity, on the same kind of grid.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)
    params: dict[str, Any]
    data: dict[str, Any]
    signals: dict[str, int]
    metrics: RunMetrics
    rejections: dict[str, int]
    daily_cap: dict[str, Any]
    margin_skips: int
    break_even_win_rate: float
    pf_1_5_win_rate: float
    macro_conflict: MacroConflict
    baseline: Baseline
    edge: Edge
    targets: list[Target]
    trades: list[Trade]
    equity: pd.Series
    random_band: pd.DataFrame

    def to_json_dict(self) -> dict[str, Any]:
        """One JSON object: headline metrics at the top level, then the sections."""
        metrics = self.metrics.model_dump(mode="json")
        return {**metrics, "edge": self.edge.model_dump(mode="json"), "rejections": self.rejections,
                "daily_cap": self.daily_cap, "margin_skips": self.margin_skips,
                "break_even_win_rate": self.break_even_win_rate, "pf_1_5_win_rate": self.pf_1_5_win_rate,
                "signals": self.signals, "macro_conflict": self.macro_conflict.model_dump(mode="json"),
                "baseline": self.baseline.model_dump(mode="json"),
                "targets": [t.model_dump(mode="json") for t in self.targets], "params": self.params, "data": self.data}

    def trades_csv(self) -> str:
        """trades.csv: one row per closed trade in entry order; money rounded to cents."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(TRADE_COLUMNS)
        for t in sorted(self.trades, key=lambda t: (t.entry_time, t.pair, t.engine)):
            writer.writerow([t.pair, t.engine, t.side, _iso(t.signal_time), _iso(t.entry_time), repr(t.entry),
                             _iso(t.exit_time), repr(t.exit), t.reason, f"{t.size:.2f}", f"{t.fees:.2f}",
                             f"{t.funding:.2f}", f"{t.pnl:.2f}"])
        return out.getvalue()

    def to_text(self) -> str:
        from engines.backtest.text import render_text

        return render_text(self)


def _iso(ts: pd.Timestamp) -> str:
    return ts.strftime("%Y-%m-%dT%H:%M:%SZ")


def conflict_side(run: PortfolioRun, metrics: RunMetrics) -> ConflictSide:
    scalps = [t for t in run.trades if t.engine == "SCALP"]
    overlapped = [t for t in scalps if t.macro_open]
    pnls = [t.pnl for t in overlapped]
    return ConflictSide(
        scalps=len(scalps), overlapped=len(overlapped),
        overlapped_pct=100.0 * len(overlapped) / len(scalps) if scalps else 0.0,
        overlapped_avg_size=sum(t.size for t in overlapped) / len(overlapped) if overlapped else 0.0,
        overlapped_win_rate=win_rate(pnls), overlapped_net_pnl=sum(pnls), net_pnl=metrics.net_pnl,
        max_drawdown_pct=metrics.max_drawdown_pct)


def targets(metrics: RunMetrics, days: float) -> list[Target]:
    """The plan's targets; the trade-count goal (50-150 in 7 days) scales with the window length."""
    low, high = 50 * days / 7, 150 * days / 7
    pf = metrics.profit_factor
    return [
        Target(name="win_rate", goal="> 60 %", measured=metrics.win_rate, met=metrics.win_rate > 60),
        Target(name="profit_factor", goal="> 1.5", measured=pf, met=pf is not None and pf > 1.5),
        Target(name="daily_pnl", goal="$2,000-6,000 a day", measured=metrics.avg_daily_pnl,
               met=2000 <= metrics.avg_daily_pnl <= 6000),
        Target(name="max_drawdown", goal="< 10 % of peak equity", measured=metrics.max_drawdown_pct,
               met=metrics.max_drawdown_pct < 10),
        Target(name="trades", goal=f"{low:.0f}-{high:.0f} in {days:g} days (50-150 per 7 days)",
               measured=float(metrics.trades), met=low <= metrics.trades <= high),
    ]


def build_report(request: "BacktestRequest", prepared: "Prepared", main: PortfolioRun, no_rule: PortfolioRun,
                 baseline: RandomRuns) -> BacktestReport:
    start, end, params, costs = request.start, request.end, request.params, request.costs
    days = (end - start) / pd.Timedelta(days=1)
    pairs = len(request.history.pairs)
    bars = {p.pair: p.bars for p in request.history.pairs}
    curves = [mark_to_market(run.trades, bars, costs.capital, start, end) for run in (main, no_rule)]
    metrics = summarize(main.trades, costs.capital, start, end, pairs, curves[0])
    no_rule_metrics = summarize(no_rule.trades, costs.capital, start, end, pairs, curves[1])
    sources = prepared.funding_sources
    scalp_signals = sum(1 for c in prepared.candidates if c.signal.type == "SCALP")
    return BacktestReport(
        params=params.model_dump(mode="json"),
        data={"pairs": request.history.names, "start": _iso(start), "end": _iso(end), "days": days,
              "engine": request.engine, "capital": costs.capital, "leverage": costs.leverage,
              "margin_fraction": costs.margin_fraction, "fee_rate": costs.fee_rate, "funding_sources": sources,
              "real_funding_pairs": sorted(p for p, s in sources.items() if s == "real"),
              "assumed_funding_pairs": sorted(p for p, s in sources.items() if s != "real"),
              "fill_rules": list(FILL_RULES)},
        signals={"candidates": len(prepared.candidates), "scalp": scalp_signals,
                 "macro": len(prepared.candidates) - scalp_signals, "no_entry_candle": prepared.no_entry_candle},
        metrics=metrics, rejections=dict(sorted(main.rejections.items())),
        daily_cap={"limit": params.max_trades_per_day, "days_bound": len(main.cap_days),
                   "signals_skipped": main.rejections.get("daily_cap", 0), "days": list(main.cap_days)},
        margin_skips=main.rejections.get("margin", 0),
        break_even_win_rate=break_even_win_rate(params.tp, params.sl, costs.fee_rate),
        pf_1_5_win_rate=required_win_rate(params.tp, params.sl, costs.fee_rate, 1.5),
        macro_conflict=MacroConflict(rule=params.macro_conflict, stood_aside=main.rejections.get("macro_conflict", 0),
                                     halved=main.halved, with_rule=conflict_side(main, metrics),
                                     without_rule=conflict_side(no_rule, no_rule_metrics)),
        baseline=baseline_summary(baseline, days),
        edge=judge([t.pnl for t in main.trades], [t.engine for t in main.trades], metrics.profit_factor,
                   baseline.net_pnl, baseline.profit_factor),
        targets=targets(metrics, days), trades=list(main.trades), equity=curves[0], random_band=baseline.band)
