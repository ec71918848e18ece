"""MICRO signals of many parameter sets at once equal those of each set on its own (real candles)."""

from __future__ import annotations

import itertools

import pandas as pd

from engines.backtest.signals import micro_signals_of_sets, pair_signals
from engines.params import DEFAULT_PARAMS
from tests.engines.backtest.conftest import pair_history

START, END = pd.Timestamp("2025-05-20", tz="UTC"), pd.Timestamp("2025-06-03", tz="UTC")


def test_signals_of_many_parameter_sets_equal_each_set_alone():
    sets = [DEFAULT_PARAMS.with_changes(tolerance=t, volume_multiplier=v, sr_lookback=n)
            for t, v, n in itertools.product((0.2, 0.3), (0.3, 0.4, 0.5), (100, 150))]
    sets += [DEFAULT_PARAMS.with_changes(rsi_period=14), DEFAULT_PARAMS.with_changes(min_checks=1),
             DEFAULT_PARAMS.with_changes(tp=0.7, sl=0.3), DEFAULT_PARAMS]
    for pair in ("SOLUSDT", "XRPUSDT"):
        history = pair_history(pair)
        together = micro_signals_of_sets(history, sets, START, END)
        alone = [pair_signals(history, params, START, END, "micro") for params in sets]
        assert together == alone
        assert sum(map(len, alone)) > 100 and len({len(found) for found in alone}) > 3  # the sets differ


def test_a_window_before_the_first_15m_close_has_no_signals():
    history = pair_history("SOLUSDT")
    start = history.first - pd.Timedelta(hours=2)
    assert micro_signals_of_sets(history, [DEFAULT_PARAMS], start, history.first) == [[]]
