"""Live parity: the backtester's signals and MACRO decisions equal the live path's, candle by candle.

The live bot calls ``evaluate_scalp`` on each closed 15m candle and ``evaluate_macro`` on each closed
1h candle with the frame of candles closed so far. Here that is replayed on a growing frame over three
days of real candles and compared with what the backtester feeds its portfolio (``prepare``).
"""

from __future__ import annotations

import pandas as pd
import pytest

from engines.backtest.history import History
from engines.backtest.run import prepare
from engines.macro import evaluate_macro
from engines.micro import evaluate_scalp
from engines.params import DEFAULT_PARAMS
from engines.risk import MacroView
from engines.scan import scan_signals
from tests.engines.backtest.conftest import pair_history

START, END = pd.Timestamp("2025-05-29", tz="UTC"), pd.Timestamp("2025-06-01", tz="UTC")
PAIRS = ("SOLUSDT", "XRPUSDT")


@pytest.fixture(scope="module")
def prepared():
    history = History(tuple(pair_history(p) for p in PAIRS))
    return history, prepare(history, DEFAULT_PARAMS, START, END)


def _growing(frame: pd.DataFrame, step: pd.Timedelta):
    closes = frame["timestamp"] + step
    for k in range(len(frame)):
        if START <= closes.iloc[k] <= END:
            yield frame.iloc[: k + 1]


@pytest.mark.slow
def test_backtest_signals_equal_live_evaluation_candle_by_candle(prepared):
    history, ready = prepared
    for pair in history.pairs:
        live = [d.signal for f in _growing(pair.m15, pd.Timedelta(minutes=15))
                if (d := evaluate_scalp(f, pair.pair, DEFAULT_PARAMS, pair.tick)).signal is not None]
        live += [d.signal for f in _growing(pair.h1, pd.Timedelta(hours=1))
                 if (d := evaluate_macro(f, pair.pair, DEFAULT_PARAMS, pair.tick)).signal is not None]
        live.sort(key=lambda s: (s.timestamp, s.type))
        assert [s.to_json() for s in ready.signals[pair.pair]] == [s.to_json() for s in live]
    assert sum(len(v) for v in ready.signals.values()) >= 10


@pytest.mark.slow
def test_macro_bias_inputs_equal_live_macro_decisions(prepared):
    history, ready = prepared
    live = []
    for pair in history.pairs:
        for f in _growing(pair.h1, pd.Timedelta(hours=1)):
            d = evaluate_macro(f, pair.pair, DEFAULT_PARAMS, pair.tick)
            live.append(MacroView(pair=pair.pair, side=d.bias, confidence=d.confidence, time=d.time.to_pydatetime()))
    assert ready.views == live
    assert len(live) == 2 * 72 + 2


@pytest.mark.slow
def test_backtest_signals_equal_scan_signals(prepared):
    history, ready = prepared
    for pair in history.pairs:
        scanned = scan_signals(pair.m1, pair.pair, DEFAULT_PARAMS, start=START, end=END)
        assert [s.to_json() for s in ready.signals[pair.pair]] == [s.to_json() for s in scanned]
