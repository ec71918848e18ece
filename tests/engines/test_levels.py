import numpy as np
import pandas as pd
import pytest

from engines.candles import CandleArrays, resample
from engines.levels import all_pivots, count_visits, find_levels, sliding_levels, window_levels
from engines.params import DEFAULT_PARAMS
from market.files import read_candles
from tests.conftest import M1_2023, M1_2025, M1_2026


def test_levels_of_solusdt_on_2025_05_20(sol_15m):
    window = sol_15m[sol_15m["timestamp"] < pd.Timestamp("2025-05-20 12:00", tz="UTC")].tail(120)
    assert window["close"].iloc[-1] == 166.38
    levels = find_levels(window, DEFAULT_PARAMS, 166.38)
    assert [(lv.price, lv.kind, lv.touches) for lv in levels] == [
        (165.05, "support", 6), (163.37, "support", 5), (162.33, "support", 9), (160.68, "support", 6),
        (166.68, "resistance", 9), (168.07, "resistance", 7), (169.4, "resistance", 4), (170.59, "resistance", 3),
    ]
    first, last = levels[0].touch_times[0], levels[0].touch_times[-1]
    assert (first, last) == (pd.Timestamp("2025-05-19 15:45", tz="UTC"), pd.Timestamp("2025-05-20 10:45", tz="UTC"))


def test_tolerance_and_touches_reshape_the_levels(sol_15m):
    # a narrower band merges less (levels may sit 0.4 % apart instead of 0.5 %) and splits some visits
    window = sol_15m[sol_15m["timestamp"] < pd.Timestamp("2025-05-20 12:00", tz="UTC")].tail(120)
    strict = find_levels(window, DEFAULT_PARAMS.with_changes(tolerance=0.2, touches=4), 166.38)
    assert [(lv.price, lv.touches) for lv in strict] == [
        (165.13, 5), (163.51, 6), (162.33, 8), (160.68, 7), (166.68, 9), (167.5, 6), (168.23, 8), (169.4, 5)]


def test_levels_are_never_closer_than_two_tolerances(sol_15m):
    levels = find_levels(sol_15m.iloc[1000:1120], DEFAULT_PARAMS, float(sol_15m["close"].iloc[1119]))
    prices = np.sort([lv.price for lv in levels])
    assert (np.diff(prices) / prices[1:] > 2 * 0.0025).all()


def test_a_visit_is_a_run_of_touching_candles():
    # a synthetic series pins the rule: touch, touch, away, touch -> 2 visits
    high = np.array([100.1, 100.05, 103.0, 100.2])
    low = np.array([99.0, 99.5, 102.0, 99.9])
    close = np.array([99.5, 99.9, 102.5, 100.1])
    assert count_visits(high, low, close, 0, 4, 100.0, 0.0025) == 2
    assert count_visits(high, low, close, 0, 4, 100.0, 0.0001) == 0


@pytest.mark.parametrize("folder, symbol", [(M1_2025, "BTCUSDT"), (M1_2023, "DOGEUSDT"), (M1_2026, "1000PEPEUSDT")])
def test_sliding_kernel_equals_full_recount_at_every_candle(folder, symbol):
    m15 = CandleArrays.of(resample(read_candles(folder, symbol, "1m"), "15m"))
    pivots = all_pivots(m15.high, m15.low)
    visits = np.zeros(len(pivots[0]), dtype=np.int64)
    counted = np.full(len(pivots[0]), -2, dtype=np.int64)
    for t in range(120, len(m15)):
        fast = sliding_levels(m15.high, m15.low, m15.close, t, 120, 0.0025, 3, pivots, visits, counted)
        full = window_levels(m15.high, m15.low, m15.close, t - 120, t, 0.0025, 3)
        assert np.array_equal(fast[0], full[0]) and np.array_equal(fast[1], full[1]), t
