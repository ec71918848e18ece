"""The edge verdict: percentile and p-value against random runs, bootstrap interval, and the verdict's boundaries."""

from __future__ import annotations

import numpy as np
import pytest

from engines.backtest.edge import (MeanInterval, judge, mean_interval, ordinal, p_value, percentile_of, verdict,
                                   verdict_line)

RUNS = np.arange(1.0, 201.0)  # 200 runs: net P&L 1, 2, ..., 200


def interval(low: float, high: float) -> MeanInterval:
    return MeanInterval(trades=40, mean=(low + high) / 2, low=low, high=high)


def test_percentile_counts_ties_half_and_p_value_is_the_monte_carlo_one():
    assert percentile_of(100.0, RUNS) == 49.75  # 99 below, one tie
    assert percentile_of(0.0, RUNS) == 0.0 and percentile_of(500.0, RUNS) == 100.0
    assert p_value(191.0, RUNS) == 11 / 201  # 10 runs at or above 191
    assert p_value(500.0, RUNS) == 1 / 201  # never 0 with 200 runs


def test_bootstrap_interval_is_seeded_and_brackets_the_mean():
    i = mean_interval([10.0, -20.0, 35.0, 5.0, -8.0])
    assert (i.trades, i.mean, round(i.low, 3), i.high) == (5, 4.4, -10.205, 21.4)
    assert mean_interval([10.0, -20.0, 35.0, 5.0, -8.0]) == i
    assert mean_interval([]) == MeanInterval(trades=0, mean=0.0, low=0.0, high=0.0)


@pytest.mark.parametrize(("trades", "p", "p_below", "low", "expected"), [
    (29, 0.001, 1.0, 50.0, "too_small"),  # even a striking result: 29 trades are too few
    (30, 0.05, 1.0, 0.01, "detected"),  # boundary: p = 0.05 counts, interval strictly above zero
    (30, 0.05, 1.0, 0.0, "timing_only"),  # interval touching zero: profit not shown
    (30, 0.0502, 1.0, 50.0, "none"),  # just above 0.05: not significant however profitable
    (30, 0.9, 0.05, -10.0, "worse"),
    (30, 0.9, 0.0502, -10.0, "none"),
])
def test_verdict_boundaries(trades, p, p_below, low, expected):
    assert verdict(trades, p, p_below, interval(low, low + 100)) == expected


def test_verdict_line_reads_plainly():
    i = MeanInterval(trades=40, mean=-41.2, low=-160.4, high=75.3)
    assert verdict_line("none", 40, 200, 43.2, i) == ("Edge: none detected — 43rd percentile of 200 random-entry runs; "
                                                      "mean per trade −$41 (95 %: −$160 … +$75)")
    assert verdict_line("too_small", 0, 200, 50.0, mean_interval([])) == "Edge: sample too small to judge — no trades"
    assert verdict_line("too_small", 12, 200, 61.0, i).startswith(
        "Edge: sample too small to judge — 12 trades, at least 30 needed; 61st percentile")
    assert [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 100)] == [
        "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "100th"]


def test_judge_puts_it_together():
    pnls = [100.0] * 25 + [-50.0] * 10
    engines = ["SCALP"] * 20 + ["MACRO"] * 15
    edge = judge(pnls, engines, 5.0, RUNS * 10, np.full(200, 1.2))
    assert (edge.verdict, edge.trades, edge.runs, edge.percentile, edge.profit_factor_percentile) == (
        "detected", 35, 200, 99.75, 100.0)  # net 2,000 ties the best run
    assert edge.p_value == 2 / 201 and round(edge.interval.mean, 4) == 57.1429
    assert {k: v.trades for k, v in edge.per_engine.items()} == {"MACRO": 15, "SCALP": 20}
    assert judge(pnls, engines, None, RUNS * 10, np.full(200, np.inf)).profit_factor_percentile == 50.0
