"""Each exhaustion check on real 15m SOLUSDT bars where it is true and where it is false."""

import numpy as np
import pytest

from engines import exhaustion, indicators
from engines.candles import CandleArrays
from engines.exhaustion import BookFlip
from tests.engines.conftest import row_at


def test_volume_drop_compares_with_the_ewma_before_the_candle(sol_15m):
    i = row_at(sol_15m, "2025-05-04 21:30")
    ewma = indicators.volume_ewma(sol_15m["volume"])
    assert sol_15m["volume"][i] == 28632.92
    assert round(ewma[i - 1], 4) == 82757.222  # 28632.92 / 82757.22 = 0.346 < 0.4
    flags = exhaustion.volume_drop(sol_15m["volume"].to_numpy(), ewma, 0.4)
    assert flags[i] and not flags[i + 1]  # the next candle traded 1.23 x its EWMA
    assert not exhaustion.volume_drop(sol_15m["volume"].to_numpy(), ewma, 0.3)[i]


def test_double_wick_needs_two_rejection_wicks_at_the_level(sol_15m):
    candles = CandleArrays.of(sol_15m)
    j = row_at(sol_15m, "2025-05-07 03:45")  # 03:15 (wick 0.60 of 0.79) and 03:45 (0.32 of 0.40) near 145.52
    args = (candles.open, candles.high, candles.low, candles.close)
    assert exhaustion.double_wick(*args, j, 145.52, True, 0.0025, 3, 0.5)
    assert not exhaustion.double_wick(*args, j - 1, 145.52, True, 0.0025, 3, 0.5)  # 03:30's wick is 0.2 of range
    assert not exhaustion.double_wick(*args, j, 145.52, True, 0.0025, 3, 0.8)  # 03:15 fails a 0.8 wick ratio
    assert not exhaustion.double_wick(*args, j, 145.52, False, 0.0025, 3, 0.5)  # no upper wicks up there


def test_rsi_extreme_by_side(sol_15m):
    rsi = indicators.rsi(sol_15m["close"], 7)
    low_bar, high_bar = row_at(sol_15m, "2025-05-04 23:15"), row_at(sol_15m, "2025-05-05 18:30")
    assert round(rsi[low_bar], 4) == 14.5566 and round(rsi[high_bar], 4) == 81.5204
    longs = exhaustion.rsi_extreme(rsi, "LONG", 20, 80)
    shorts = exhaustion.rsi_extreme(rsi, "SHORT", 20, 80)
    assert longs[low_bar] and not shorts[low_bar]
    assert shorts[high_bar] and not longs[high_bar]
    assert not exhaustion.rsi_extreme(rsi, "SHORT", 20, 85)[high_bar]


def test_book_imbalance_over_top_levels():
    bids = [(100.0, 3.0), (99.9, 1.0)]
    asks = [(100.1, 1.0), (100.2, 1.0)]
    assert exhaustion.book_imbalance(bids, asks) == pytest.approx(2 / 6)
    assert exhaustion.book_imbalance(bids, asks, depth=1) == pytest.approx(0.5)
    assert exhaustion.book_imbalance([], []) == 0.0


@pytest.mark.parametrize("previous, current, side, expected", [
    (-0.2, 0.3, "LONG", True), (0.1, 0.3, "LONG", False), (-0.2, 0.3, "SHORT", False),
    (0.2, -0.1, "SHORT", True), (-0.2, -0.1, "SHORT", False), (0.0, 0.0, "LONG", False),
])
def test_order_book_flip_turns_toward_the_trade(previous, current, side, expected):
    assert exhaustion.order_book_flip(BookFlip(previous, current), side) is expected


@pytest.mark.parametrize("previous, current, side, expected", [
    (-0.05, 0.05, "LONG", False),  # noise around 0, inside the band: no flip (it was one before the band)
    (0.04, -0.06, "SHORT", False),
    (-0.2, 0.21, "LONG", True),  # clearly ask-heavy, then clearly bid-heavy
    (-0.25, 0.2, "LONG", False),  # not past the band yet
    (-0.19, 0.5, "LONG", False),  # it was never clearly ask-heavy
    (0.3, -0.21, "SHORT", True),
    (0.2, -0.2, "SHORT", False),
])
def test_order_book_flip_must_cross_the_hysteresis_band(previous, current, side, expected):
    assert exhaustion.order_book_flip(BookFlip(previous, current, threshold=0.2), side) is expected


def test_the_flip_threshold_is_a_parameter_with_a_range():
    from engines.errors import ParamError
    from engines.params import DEFAULT_PARAMS, describe_range

    assert DEFAULT_PARAMS.book_flip_threshold == 0.2
    assert describe_range("book_flip_threshold") == "a number from 0 to 0.6"
    with pytest.raises(ParamError, match="book_flip_threshold: a number from 0 to 0.6, got 0.7"):
        DEFAULT_PARAMS.with_changes(book_flip_threshold=0.7)


def test_order_book_flip_is_false_without_a_book():
    assert exhaustion.order_book_flip(None, "LONG") is False
    assert np.isnan(exhaustion.volume_drop(np.array([1.0]), np.array([np.nan]), 0.4).astype(float)).sum() == 0
