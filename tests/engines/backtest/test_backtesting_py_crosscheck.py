"""Independent cross-check: backtesting.py executes the backtester's own entries and finds the same exits.

backtesting.py is configured to match our fill rules:
- an order placed in ``next()`` on bar i fills at bar i+1's open (``trade_on_close=False``), so each
  entry is placed on the bar before the entry candle;
- SL/TP are checked on the entry bar itself (it re-processes new brackets) and on every later bar; its SL
  order sits first in the queue, so a bar reaching both counts as SL, like ours; a bar opening beyond the
  stop fills at the open (``min(open, sl)``), and a TP limit opening beyond fills at the open too;
- the time stop: on the bar before the time-stop candle the brackets are cancelled and the position is
  closed, which fills at the time-stop candle's open.

Where the two legitimately differ: a candle that *opens* beyond the TP and also trades through the SL.
We fill it at the open as a TP (the open is the first price of the minute); backtesting.py fills the SL,
because it checks stops before limits without looking at the open. No such bar occurs among these
trades, so exits are asserted equal trade for trade.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from backtesting import Backtest, Strategy

from engines.backtest.baseline import random_signals
from engines.backtest.candidates import hold_minutes
from engines.backtest.signals import pair_signals
from engines.execution import EXIT_REASONS, resolve_exits
from tests.engines.backtest.own_entries import own_entries_strategy
from engines.params import DEFAULT_PARAMS
from tests.engines.backtest.conftest import pair_history

START, END = pd.Timestamp("2025-05-20", tz="UTC"), pd.Timestamp("2025-06-02", tz="UTC")


def own_entries(pair: str, kind: str):
    """``kind`` signals of the engines plus random-entry twins (many seeds), thinned to one position at a time."""
    history = pair_history(pair)
    engine = [s for s in pair_signals(history, DEFAULT_PARAMS, START, END) if s.type == kind]
    signals = list(engine)
    for seed in range(40 if kind == "SCALP" else 10):
        signals += random_signals(history, engine, START, END, np.random.default_rng(seed))
    signals.sort(key=lambda s: s.timestamp)
    bars = history.bars
    index = bars.index_at(np.array([pd.Timestamp(s.timestamp).value for s in signals]))
    exits = resolve_exits(bars, index, np.array([s.side == "LONG" for s in signals]), np.array([s.tp for s in signals]),
                          np.array([s.sl for s in signals]), np.array([hold_minutes(s, DEFAULT_PARAMS) for s in signals]))
    chosen, free_from = [], -1
    for k, signal in enumerate(signals):
        if index[k] > free_from and exits.exit_index[k] < len(bars.times) - 1:
            chosen.append((int(index[k]), signal, int(exits.exit_index[k]), float(exits.exit_price[k]),
                           EXIT_REASONS[int(exits.reason[k])]))
            free_from = int(exits.exit_index[k])
    return history, chosen


def backtesting_py_exits(history, entries) -> list[tuple[int, int, float]]:
    """(entry bar, exit bar, exit price) per trade, bar indices in the full 1m frame."""
    first, last = entries[0][0] - 3, entries[-1][2] + 2  # backtesting.py calls next() from the 2nd bar on
    frame = history.m1.iloc[first:last].rename(columns=str.capitalize).set_index("Timestamp")
    frame.index = frame.index.tz_localize(None)
    times = history.bars.times
    plan = {i - 1 - first: (s, int(np.searchsorted(times, times[i] + hold_minutes(s, DEFAULT_PARAMS) * 60_000_000_000)) - first)
            for i, s, *_ in entries}

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stats = Backtest(frame, own_entries_strategy(Strategy, plan), cash=1e9, commission=0.0, finalize_trades=True).run()
    trades = stats["_trades"]
    return list(zip(trades["EntryBar"].astype(int) + first, trades["ExitBar"].astype(int) + first,
                    trades["ExitPrice"].astype(float)))


@pytest.mark.slow
@pytest.mark.parametrize(("pair", "kind"), [("BTCUSDT", "SCALP"), ("ETHUSDT", "SCALP"), ("SOLUSDT", "SCALP"),
                                            ("BTCUSDT", "MACRO"), ("SOLUSDT", "MACRO"), ("XRPUSDT", "MACRO")])
def test_backtesting_py_finds_the_same_exits_trade_for_trade(pair, kind):
    history, entries = own_entries(pair, kind)
    ours = [(i, exit_index, price) for i, _, exit_index, price, _ in entries]
    theirs = backtesting_py_exits(history, entries)
    assert len(ours) >= (40 if kind == "SCALP" else 5)
    assert [(e, x) for e, x, _ in theirs] == [(e, x) for e, x, _ in ours]
    assert np.allclose([p for *_, p in theirs], [p for *_, p in ours], rtol=0, atol=1e-9)
    assert {reason for *_, reason in entries} >= ({"tp", "sl", "time_stop"} if kind == "SCALP" else {"tp", "sl"})
