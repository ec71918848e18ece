"""End to end on real candles: BTC, ETH, SOL decisions 2025-05-26 -> 2025-06-02 with default parameters.

Figures computed once with this code and checked by hand on two trades:
- ETHUSDT SCALP LONG decided 2025-05-28 21:15: fills at the 21:15 open 2638.77 (= the decision close),
  TP 2651.96 = 2638.77 x 1.005; the 21:51 candle is the first with high >= TP (2652.46), low never
  reached the SL 2625.58, so it exits at 2651.96 at 21:52. Size 199,866.59 = 10 x 10 % of equity after
  the first trade's -133.41; fees 0.06 % x (199,866.59 + 200,866.6) = 240.44; net +758.60.
- BTCUSDT MACRO SHORT 2025-06-01 00:00 -> 22:05 (SL): held over 08:00 and 16:00, it *receives* funding
  (-12.53) because BTC's rates were positive; the SOLUSDT MACRO SHORT 02:00 -> 09:22 *pays* 15.55 =
  0.0080 % x 194,278.81 at 08:00 (SOL's rate was -0.0080 %: shorts pay).
"""

from __future__ import annotations

import pandas as pd
import pytest

from engines.backtest.history import History
from engines.backtest.run import BacktestRequest, run_backtest

START, END = pd.Timestamp("2025-05-26", tz="UTC"), pd.Timestamp("2025-06-02", tz="UTC")


@pytest.fixture(scope="module")
def report(three_pairs):
    return run_backtest(BacktestRequest(three_pairs, START, END))


def test_headline_figures(report):
    d = report.to_json_dict()
    assert (d["trades"], round(d["win_rate"], 2), round(d["profit_factor"], 4), round(d["net_pnl"], 2)) == (
        13, 38.46, 0.4555, -7105.87)
    assert (round(d["max_drawdown_usd"], 2), round(d["max_drawdown_pct"], 4), round(d["fees"], 2)) == (
        8884.14, 4.4029, 3098.73)  # marked to market at every 1m close
    assert round(d["closed_trade_drawdown_pct"], 4) == 4.0089
    assert {k: round(v, 2) for k, v in d["funding"].items()} == {"paid": 15.55, "received": 12.53, "net": 3.02}
    assert (d["same_candle_tp_sl"], d["exits"], d["rejections"]) == (
        0, {"sl": 6, "time_stop": 3, "tp": 4}, {"pair_has_open_macro": 8})
    assert d["signals"] == {"candidates": 21, "scalp": 7, "macro": 14, "no_entry_candle": 0}


def test_hand_checked_trades(report):
    rows = report.trades_csv().splitlines()
    assert rows[0] == "pair,engine,side,signal_time,entry_time,entry,exit_time,exit,reason,size,fees,funding,pnl"
    assert rows[2] == ("ETHUSDT,SCALP,LONG,2025-05-28T21:15:00Z,2025-05-28T21:15:00Z,2638.77,2025-05-28T21:52:00Z,"
                       "2651.96,tp,199866.59,240.44,0.00,758.60")
    assert rows[10] == ("BTCUSDT,MACRO,SHORT,2025-06-01T00:00:00Z,2025-06-01T00:00:00Z,104544.6,2025-06-01T22:05:00Z,"
                        "105590.1,sl,194278.81,234.30,-12.53,-2164.65")


def test_random_entry_runs_sit_beside_the_result(report):
    b = report.baseline
    assert (b.seed, b.runs, b.trades, round(b.win_rate, 2), round(b.net_pnl, 2)) == (7, 200, 13, 46.15, 2551.92)
    e = report.edge
    assert (e.verdict, e.percentile, round(e.interval.mean, 2)) == ("too_small", 11.0, -546.61)


def test_targets_and_break_even(report):
    assert [(t.name, t.met) for t in report.targets] == [
        ("win_rate", False), ("profit_factor", False), ("daily_pnl", False), ("max_drawdown", True), ("trades", False)]
    assert round(report.break_even_win_rate, 2) == 62.01


def test_equity_curve_starts_at_capital_and_ends_at_capital_plus_pnl(report):
    equity = report.equity
    assert (equity.index[0], equity.iloc[0], equity.index[-1], len(equity)) == (START, 200_000.0, END, 7 * 1440 + 1)
    assert round(equity.iloc[-1], 2) == round(200_000.0 - 7105.868416085514, 2)


def test_cutting_the_data_after_the_window_changes_no_entry(three_pairs):
    """No look-ahead: decisions and fills inside the window do not depend on candles after it."""
    cut = History(tuple(pair_history_cut(p, END + pd.Timedelta(hours=30)) for p in three_pairs.pairs))
    full = run_backtest(BacktestRequest(three_pairs, START, END)).trades
    short = run_backtest(BacktestRequest(cut, START, END)).trades
    assert [(t.pair, t.engine, t.entry_time, t.entry) for t in short] == [(t.pair, t.engine, t.entry_time, t.entry) for t in full]


def pair_history_cut(pair, until: pd.Timestamp):
    from engines.backtest.history import PairHistory

    m1 = pair.m1[pair.m1["timestamp"] < until]
    return PairHistory.from_candles(pair.pair, m1, pair.funding, tick=pair.tick)


def test_report_text_names_every_section(report):
    text = report.to_text()
    for needle in ("Edge: sample too small to judge — 13 trades", "random median", "break-even 62.0 %", "Plan targets", "MACRO conflict (rule: halve",
                   "order_book_flip unavailable in history", "P&L per day", "funding real: BTCUSDT, ETHUSDT, SOLUSDT"):
        assert needle in text
