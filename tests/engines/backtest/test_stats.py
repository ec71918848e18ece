"""Run statistics: break-even win rate (FINDINGS.md), drawdown, profit factor, exposure, per-check table."""

from __future__ import annotations

import pandas as pd
import pytest

from engines.backtest.candidates import pair_candidates
from engines.backtest.funding import funding_schedule
from engines.backtest.portfolio import simulate
from engines.backtest.stats import (break_even_win_rate, drawdown, profit_factor, required_win_rate, summarize,
                                    win_rate)
from engines.models import ExhaustionChecks
from engines.params import DEFAULT_PARAMS
from tests.engines.backtest.conftest import make_signal


def test_one_to_one_at_half_a_percent_needs_62_percent_wins_after_fees():
    # win nets 0.5 - 0.06 - 0.0603 = 0.3797 %, loss 0.5 + 0.06 + 0.0597 = 0.6197 %: 0.6197 / 0.9994
    assert round(break_even_win_rate(0.5, 0.5, 0.0006), 2) == 62.01
    assert round(required_win_rate(0.5, 0.5, 0.0006, 1.5), 2) == 71.0  # 1.5 x 0.6197 / (0.3797 + 1.5 x 0.6197)


def test_drawdown_is_measured_from_the_running_peak_in_dollars_and_percent():
    usd, pct = drawdown([1000.0, -3000.0, 500.0, -1000.0, 4000.0], 200_000.0)
    assert (usd, round(pct, 6)) == (3500.0, round(3500 / 201_000 * 100, 6))


def test_profit_factor_and_win_rate():
    assert (profit_factor([300.0, -100.0, -50.0]), win_rate([300.0, -100.0, -50.0, 0.0])) == (2.0, 25.0)
    assert profit_factor([10.0]) is None


@pytest.fixture(scope="module")
def trades(btc):
    signals = [make_signal(btc, "2025-05-20 10:00", checks=ExhaustionChecks(volume_drop=True, double_wick=True)),
               make_signal(btc, "2025-05-20 12:45", "SHORT", checks=ExhaustionChecks(volume_drop=True, rsi_extreme=True)),
               make_signal(btc, "2025-05-20 15:00", "LONG", "MACRO", tp_pct=2.0, sl_pct=1.0)]
    found, _ = pair_candidates(btc, signals, DEFAULT_PARAMS, funding_schedule("BTCUSDT", btc.funding, btc.first, btc.end))
    return simulate(found, [], DEFAULT_PARAMS).trades


def test_summary_of_three_real_trades(trades):
    start, end = pd.Timestamp("2025-05-20", tz="UTC"), pd.Timestamp("2025-05-22", tz="UTC")
    m = summarize(trades, 200_000.0, start, end, pair_count=1)
    assert (m.trades, m.wins, round(m.win_rate, 2), round(m.net_pnl, 2)) == (3, 2, 66.67, 3772.28)
    assert round(m.profit_factor, 4) == round((757.71399 + 3755.41528) / 740.84813, 4)
    assert m.daily_pnl == {"2025-05-20": pytest.approx(3772.2811, abs=1e-3), "2025-05-21": 0.0}
    assert (round(m.avg_daily_pnl, 2), m.trades_per_pair_per_day) == (1886.14, 1.5)
    # open 10:00-11:00, 12:45-13:43, 15:00-19:44 = 60 + 58 + 284 minutes of 2 days
    assert round(m.exposure_pct, 4) == round(402 / 2880 * 100, 4)
    assert (round(m.avg_hold_minutes, 4), m.exits) == (round(402 / 3, 4), {"time_stop": 1, "tp": 2})
    assert (round(m.funding["paid"], 2), m.funding["received"]) == (2.53, 0.0)


def test_check_table_reports_win_rate_per_check_and_order_book_as_unavailable(trades):
    m = summarize(trades, 200_000.0, pd.Timestamp("2025-05-20", tz="UTC"), pd.Timestamp("2025-05-21", tz="UTC"), 1)
    table = {k: (v.fired, v.win_rate, v.note) for k, v in m.checks.items()}
    assert table == {"volume_drop": (2, 50.0, ""), "double_wick": (1, 0.0, ""), "rsi_extreme": (1, 100.0, ""),
                     "order_book_flip": (None, None, "unavailable in history")}
