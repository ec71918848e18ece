"""Old vs new parameters on two weeks of real candles (data/sample), and the percentile vs random entries."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from engines.backtest.history import History, PairHistory
from engines.backtest.preview import percentile_vs_random, tune_impact
from engines.backtest.run import quick_run
from engines.backtest.sweep import SignalCache
from engines.errors import InvalidInput
from engines.params import DEFAULT_PARAMS
from market.files import read_candles, read_funding
from tests.conftest import SAMPLE

END = pd.Timestamp("2025-06-03T15:00Z")
NEW = DEFAULT_PARAMS.with_changes(tolerance=0.2)


@pytest.fixture(scope="module")
def history() -> History:
    return History(tuple(PairHistory.from_candles(p, read_candles(SAMPLE, p, "1m"), read_funding(SAMPLE, p))
                         for p in ("SOLUSDT", "XRPUSDT")))


@pytest.fixture(scope="module")
def cache(history: History) -> SignalCache:
    return SignalCache(history, END - pd.Timedelta(days=14), END)


@pytest.fixture(scope="module")
def impact(history: History, cache: SignalCache):
    return tune_impact(history, DEFAULT_PARAMS, NEW, END, cache=cache)


def test_each_parameter_set_on_each_week(impact) -> None:
    rows = [(r.params, r.window, str(r.start), r.trades, round(r.win_rate, 2), round(r.profit_factor, 3),
             round(r.net_pnl, 2), r.percentile) for r in impact.rows]
    assert rows == [("old", "previous", "2025-05-20 15:00:00+00:00", 14, 7.14, 0.006, -25446.53, 0.0),
                    ("old", "last", "2025-05-27 15:00:00+00:00", 22, 31.82, 0.642, -11163.26, 5.0),
                    ("new", "previous", "2025-05-20 15:00:00+00:00", 13, 0.0, 0.0, -25594.78, 0.0),
                    ("new", "last", "2025-05-27 15:00:00+00:00", 22, 27.27, 0.618, -12086.42, 4.0)]


def test_a_micro_only_change_reuses_the_macro_signals(impact, cache: SignalCache) -> None:
    assert sorted(key[0] for key in cache._parts) == ["macro", "micro", "micro"]


def test_the_rows_are_the_backtesters_own_runs_of_each_week(history: History, cache: SignalCache, impact) -> None:
    start, middle = END - pd.Timedelta(days=14), END - pd.Timedelta(days=7)
    trades = quick_run(cache.prepared(NEW), NEW, middle, END).trades
    assert impact.row("new", "last").trades == len(trades)
    assert impact.row("new", "last").net_pnl == sum(t.pnl for t in trades)
    assert impact.row("old", "previous").start == start


def test_percentile_ranks_the_strategys_net_pnl_among_the_random_runs(history: History, cache: SignalCache) -> None:
    start = END - pd.Timedelta(days=7)
    trades = quick_run(cache.prepared(DEFAULT_PARAMS), DEFAULT_PARAMS, start, END).trades
    ranked = percentile_vs_random(history, trades, DEFAULT_PARAMS, start, END)
    lucky = [dataclasses.replace(trades[0], pnl=trades[0].pnl + 1e9), *trades[1:]]
    unlucky = [dataclasses.replace(trades[0], pnl=trades[0].pnl - 1e9), *trades[1:]]
    assert ranked == 5.0
    assert percentile_vs_random(history, lucky, DEFAULT_PARAMS, start, END) == 100.0
    assert percentile_vs_random(history, unlucky, DEFAULT_PARAMS, start, END) == 0.0
    assert percentile_vs_random(history, [], DEFAULT_PARAMS, start, END) is None


def test_a_cache_of_another_window_is_refused(history: History, cache: SignalCache) -> None:
    with pytest.raises(InvalidInput, match="another history or window"):
        tune_impact(history, DEFAULT_PARAMS, NEW, END - pd.Timedelta(hours=1), cache=cache)


def test_rows_of_parameters_seen_before_are_remembered(history: History, cache: SignalCache, impact) -> None:
    rows: dict = {}
    first = tune_impact(history, DEFAULT_PARAMS, NEW, END, cache=cache, rows=rows)
    assert len(rows) == 4 and first == impact
    second = tune_impact(history, NEW, DEFAULT_PARAMS, END, cache=cache, rows=rows)
    assert len(rows) == 4
    assert second.row("old", "last") == dataclasses.replace(impact.row("new", "last"), params="old")
