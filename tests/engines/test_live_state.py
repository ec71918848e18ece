"""The live per-pair state equals the batch scan at every candle of three real data sets.

The live side runs its kernels interpreted, as the bot does (numba never loaded there); the batch
scans run them compiled, as backtests do (:mod:`engines.jit`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engines import indicators, macro, micro
from engines.candles import CandleArrays, resample
from engines.live_state import MACRO_WINDOW, SCALP_WINDOW, CandleRing, PairEngines
from engines.params import DEFAULT_PARAMS
from engines.jit import interpreted
from engines.ticks import infer_tick
from engines.trend import trend_from_fit
from market.files import read_candles
from tests.conftest import SAMPLE

PAIRS = ("SOLUSDT", "XRPUSDT", "LINKUSDT")


@pytest.fixture(scope="module", params=PAIRS)
def candles(request) -> tuple[str, float, pd.DataFrame, pd.DataFrame]:
    m1 = read_candles(SAMPLE, request.param, "1m")
    return request.param, infer_tick(m1["close"].to_numpy()), resample(m1, "15m"), resample(m1, "1h")


def _stream(state_add, frame: pd.DataFrame):
    times = pd.DatetimeIndex(frame["timestamp"]).as_unit("ns").asi8
    for t, (stamp, row) in enumerate(zip(times, frame[["open", "high", "low", "close", "volume"]].to_numpy())):
        assert state_add(int(stamp), *row)
        yield t


def _interpreted(steps):
    """Each step (the state's update and the test body after it) with the kernels interpreted."""
    with interpreted():
        yield from steps


def test_scalp_state_equals_the_batch_scan_at_every_candle(candles):
    pair, tick, m15, _ = candles
    arrays = CandleArrays.of(m15)
    batch = micro.scan_arrays(arrays, DEFAULT_PARAMS, 0)
    rsi = indicators.rsi(arrays.close, DEFAULT_PARAMS.rsi_period)
    batch_signals = {s.timestamp: s for s in micro.scalp_signals(m15, pair, DEFAULT_PARAMS, tick, 0)}
    state = PairEngines(pair, DEFAULT_PARAMS.rsi_period)
    signals = 0
    for t in _interpreted(_stream(state.add_15m, m15)):
        assert state.rsi.value == rsi[t] or (np.isnan(rsi[t]) and np.isnan(state.rsi.value))
        decision = state.scalp(DEFAULT_PARAMS, tick)
        if t < DEFAULT_PARAMS.sr_lookback:
            assert decision.signal is None and decision.reason.startswith("need")
            continue
        for side, level, checks in (("LONG", decision.long_level, decision.long_checks),
                                    ("SHORT", decision.short_level, decision.short_checks)):
            expected = batch[side]
            assert (level is None) == (expected.visits[t] == 0)
            assert checks == expected.checks(t)
        expected_signal = batch_signals.get(decision.time.to_pydatetime())
        assert (decision.signal.to_json() if decision.signal else None) == \
            (expected_signal.to_json() if expected_signal else None)
        signals += decision.signal is not None
    assert signals == len(batch_signals) >= 1
    assert len(state.m15.window()) == SCALP_WINDOW


def test_macro_state_equals_the_batch_scan_at_every_candle(candles):
    pair, tick, _, h1 = candles
    arrays = CandleArrays.of(h1)
    batch = macro.scan_arrays(arrays, DEFAULT_PARAMS, 0)
    batch_signals = {s.timestamp: s for s in macro.macro_signals(h1, pair, DEFAULT_PARAMS, tick, 0)}
    state = PairEngines(pair, DEFAULT_PARAMS.rsi_period)
    decided = 0
    for t in _interpreted(_stream(state.add_1h, h1)):
        decision = state.macro(DEFAULT_PARAMS, tick)
        if t < DEFAULT_PARAMS.trend_lookback - 1:
            assert decision.trend is None
            continue
        assert decision.trend == trend_from_fit(batch.slope[t], batch.value[t], 1.0, tick)
        assert decision.confidence == (int(batch.confidence[t]) if np.isfinite(batch.confidence[t]) else 0)
        expected_signal = batch_signals.get(decision.time.to_pydatetime())
        assert (decision.signal.to_json() if decision.signal else None) == \
            (expected_signal.to_json() if expected_signal else None)
        decided += 1
    assert decided == len(h1) - DEFAULT_PARAMS.trend_lookback + 1
    assert len(state.h1.window()) == MACRO_WINDOW


def test_decision_equals_evaluate_on_the_whole_frame(candles):
    """The full verdict (levels, reason, checks) as the engines give it on the whole frame, at a few candles."""
    pair, tick, m15, h1 = candles
    for at in (len(m15) // 3, len(m15) // 2, len(m15) - 1):
        state = PairEngines.from_candles(pair, DEFAULT_PARAMS.rsi_period, m15.iloc[: at + 1], h1.iloc[: at // 4])
        assert state.scalp(DEFAULT_PARAMS, tick) == micro.evaluate_scalp(m15.iloc[: at + 1], pair, DEFAULT_PARAMS, tick)
        assert state.macro(DEFAULT_PARAMS, tick) == macro.evaluate_macro(h1.iloc[: at // 4], pair, DEFAULT_PARAMS, tick)


def test_older_candles_are_refused_and_change_nothing(candles):
    pair, _, m15, _ = candles
    state = PairEngines.from_candles(pair, 7, m15.iloc[:200], m15.iloc[:0])
    stamp = pd.Timestamp(m15["timestamp"].iloc[100]).value
    before = state.rsi.value
    assert not state.add_15m(stamp, 1.0, 2.0, 0.5, 1.0, 3.0)
    assert state.rsi.value == before and state.m15.count == 200


def test_ring_keeps_the_last_candles_in_order():
    ring = CandleRing(3)
    for k in range(10):
        ring.append(k * 60_000_000_000, (k, k + 1, k - 1, k + 0.5, 10 * k))
    window = ring.window()
    assert list(window.close) == [7.5, 8.5, 9.5] and ring.count == 10
    assert list(window.timestamps.asi8 // 60_000_000_000) == [7, 8, 9]
