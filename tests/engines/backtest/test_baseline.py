"""Random-entry baselines: twins keep count, sides, pairs, sizes and TP/SL distances; seeded."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engines.backtest.baseline import random_runs, random_signals, run_equity, twins_at
from engines.backtest.equity import mark_to_market, max_drawdown
from engines.backtest.portfolio import CAPITAL, Costs, simulate
from engines.backtest.run import prepare
from engines.params import DEFAULT_PARAMS
from tests.engines.backtest.conftest import make_signal, sample_history

START, END = pd.Timestamp("2025-05-20", tz="UTC"), pd.Timestamp("2025-05-27", tz="UTC")


def _signals(btc):
    return [make_signal(btc, "2025-05-20 10:00"), make_signal(btc, "2025-05-21 12:45", "SHORT"),
            make_signal(btc, "2025-05-22 15:00", "LONG", "MACRO", tp_pct=2.0, sl_pct=1.0)]


def test_twins_keep_count_side_engine_and_distances_at_random_grid_times(btc):
    originals = _signals(btc)
    twins = random_signals(btc, originals, START, END, np.random.default_rng(7))
    assert [(t.type, t.side, t.pair) for t in twins] == [(s.type, s.side, s.pair) for s in originals]
    closes = btc.m1.set_index("timestamp")["close"]
    for original, twin in zip(originals, twins):
        when = pd.Timestamp(twin.timestamp)
        assert START <= when <= END and when.minute % 15 == 0
        assert twin.entry == closes.loc[when - pd.Timedelta(minutes=1)]
        assert abs(twin.tp / twin.entry - original.tp / original.entry) < 1e-5  # tick rounding
        assert abs(twin.sl / twin.entry - original.sl / original.entry) < 1e-5
    assert pd.Timestamp(twins[2].timestamp).minute == 0  # MACRO decides on 1h closes


def test_same_seed_same_twins_other_seed_other_times(btc):
    draw = lambda seed: [t.timestamp for t in random_signals(btc, _signals(btc), START, END, np.random.default_rng(seed))]
    assert draw(7) == draw(7)
    assert draw(7) != draw(8)


# ---- the random-entry distribution (data/sample, last 7 days, 6 pairs, default parameters) ----------------------

@pytest.fixture(scope="module")
def sample_run():
    history = sample_history()
    start, end = history.last_days(7)
    prepared = prepare(history, DEFAULT_PARAMS, start, end)
    return history, start, end, list(simulate(prepared.candidates, prepared.views, DEFAULT_PARAMS).trades)


def test_a_twin_at_the_trades_own_time_is_that_trade_again(sample_run):
    """Same fill, exit, fees and funding: the twins follow exactly the strategy's rules; only timing moves."""
    history, start, end, trades = sample_run
    twins = []
    for pair in history.pairs:
        mine = [t for t in trades if t.pair == pair.pair]
        twin = twins_at(pair, mine, np.array([[t.signal_time.value for t in mine]]), DEFAULT_PARAMS, Costs())
        assert twin.exit_ns.tolist() == [t.exit_time.value for t in mine]
        assert np.abs(twin.pnl - [t.pnl for t in mine]).max() < 1e-9
        twins.append(twin)
    curve = mark_to_market(trades, {p.pair: p.bars for p in history.pairs}, CAPITAL, start, end)
    equity, drawdown = run_equity(curve.index.as_unit("ns").asi8, twins, 1, CAPITAL)
    assert np.abs(equity[0] - curve.to_numpy()).max() < 1e-6  # the numba marking equals engines.backtest.equity
    assert abs(drawdown[0] - max_drawdown(curve)[1]) < 1e-9


def test_every_run_has_the_strategys_trades_at_random_times(sample_run):
    history, start, end, trades = sample_run
    runs = random_runs(history, trades, DEFAULT_PARAMS, start, end)
    assert (runs.runs, runs.pnl.shape, round(sum(t.pnl for t in trades), 2)) == (200, (200, 40), -24311.94)
    assert [round(v, 2) for v in runs.net_pnl[:3]] == [-1676.28, -2774.2, 6185.3]
    assert (round(float(np.median(runs.net_pnl)), 2), round(float(runs.net_pnl.min()), 2)) == (10995.0, -28824.52)
    band = runs.band
    assert (band.index[0], band.iloc[0].tolist(), len(band)) == (start, [CAPITAL, CAPITAL], 1442)  # every 7 min
    assert band.index[-1] == end + pd.Timedelta(minutes=2)  # the latest exit of any run
    assert band.iloc[-1].round(2).tolist() == [185185.62, 231501.54]
    assert (band["low"] <= band["high"]).all()
    assert round(float(np.median(runs.max_drawdown_pct)), 4) == 9.5804  # every 7 minutes; the strategy: 16.50 %


def test_runs_are_seeded(sample_run):
    history, start, end, trades = sample_run
    draw = lambda seed: random_runs(history, trades, DEFAULT_PARAMS, start, end, runs=20, seed=seed).net_pnl
    assert np.array_equal(draw(7), draw(7))
    assert not np.array_equal(draw(7), draw(8))


def test_decision_times_are_the_grid_times_with_both_1m_candles_remembered_read_only(btc):
    step = pd.Timedelta(minutes=15)
    grid = pd.date_range(START, END, freq=step).as_unit("ns").asi8
    minute = pd.Timedelta(minutes=1).value
    expected = grid[(btc.bars.index_at(grid) >= 0) & (btc.bars.index_at(grid - minute) >= 0)]
    first = btc.decision_times(START, END, step)
    assert np.array_equal(first, expected) and len(expected) > 600
    assert btc.decision_times(START, END, step) is first and not first.flags.writeable
