"""Rounding to the price tick: the issue's cases, and properties over real prices and real tick sizes."""

from __future__ import annotations

import math
from decimal import Decimal

import numpy as np
import pytest

from engines.errors import InvalidInput
from engines.ticks import infer_tick, round_to_tick, tick_decimals
from market.files import read_candles
from tests.conftest import SAMPLE

# Tick sizes exchanges quote: powers of ten (Binance and Bybit perps: BTC 0.1, SOL 0.01, XRP 0.0001,
# DOGE 0.00001, 1000PEPE 0.0000001) and steps that are not (Deribit BTC-PERPETUAL 0.5 and
# ETH-PERPETUAL 0.05, CME E-mini 0.25, and the 0.005 of the issue).
REAL_TICKS = (10.0, 1.0, 0.5, 0.25, 0.1, 0.05, 0.01, 0.005, 0.0025, 0.001, 0.0005, 0.0001, 0.00001, 0.0000001)


@pytest.mark.parametrize(("price", "tick", "expected"), [
    (100.5, 0.5, 100.5),  # was 100.0: the result was re-rounded to 0 decimals, half to even
    (1.235, 0.005, 1.235),  # was 1.24: re-rounded to 2 decimals
    (100.74, 0.5, 100.5),
    (100.76, 0.5, 101.0),
    (1.2374, 0.005, 1.235),
    (1.2376, 0.005, 1.24),
    (170.99575, 0.01, 171.0),
    (0.1 + 0.2, 0.1, 0.3),  # float noise (0.30000000000000004) is not kept
    (2.5, 1.0, 2.0),  # exact ties go to the even tick
    (3.5, 1.0, 4.0),
    (104_321.37, 10.0, 104_320.0),
])
def test_round_to_tick(price: float, tick: float, expected: float) -> None:
    assert round_to_tick(price, tick) == expected
    assert repr(round_to_tick(price, tick)) == repr(expected)


@pytest.mark.parametrize(("tick", "decimals"), [(10.0, 0), (1.0, 0), (0.5, 1), (0.25, 2), (0.01, 2), (0.005, 3),
                                                 (0.0000001, 7)])
def test_tick_decimals(tick: float, decimals: int) -> None:
    assert tick_decimals(tick) == decimals


def test_a_tick_must_be_positive() -> None:
    with pytest.raises(InvalidInput):
        round_to_tick(100.0, 0.0)


@pytest.fixture(scope="module")
def real_prices() -> np.ndarray:
    """TP/SL-like prices: real closes of the six sample pairs moved 0.1-3 % (seeded sample)."""
    rng = np.random.default_rng(18)
    closes = []
    for pair in ("BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT", "BNBUSDT", "LINKUSDT"):
        close = read_candles(SAMPLE, pair, "1m")["close"].to_numpy()
        closes.append(rng.choice(close, 300, replace=False))
    prices = np.concatenate(closes)
    return prices * (1 + rng.choice([-1, 1], len(prices)) * rng.uniform(0.001, 0.03, len(prices)))


@pytest.mark.parametrize("tick", REAL_TICKS)
def test_rounding_lands_on_the_nearest_grid_point(real_prices: np.ndarray, tick: float) -> None:
    step = Decimal(repr(tick))
    for price in real_prices:
        rounded = round_to_tick(float(price), tick)
        exact = Decimal(repr(rounded))
        assert exact % step == 0, (price, tick, rounded)  # on the grid, as printed
        assert abs(exact - Decimal(repr(float(price)))) <= step / 2, (price, tick, rounded)  # nearest point
        assert -exact.as_tuple().exponent <= max(tick_decimals(tick), 1)  # no float noise in the digits
        assert round_to_tick(rounded, tick) == rounded  # idempotent


def test_real_closes_already_sit_on_their_inferred_tick() -> None:
    for pair in ("BTCUSDT", "SOLUSDT", "XRPUSDT"):
        close = read_candles(SAMPLE, pair, "1m")["close"].to_numpy()
        tick = infer_tick(close)
        assert all(round_to_tick(float(c), tick) == c for c in close[:5000])


def test_non_finite_prices_pass_through() -> None:
    assert math.isnan(round_to_tick(float("nan"), 0.01))


def test_remembered_answers_equal_fresh_ones_and_keep_the_sign_of_zero() -> None:
    from engines.ticks import _decimal, _on_grid

    prices = read_candles(SAMPLE, "XRPUSDT", "1m")["close"].to_numpy()[:2000] * 1.000123
    for tick in (0.0001, 0.005, 0.5):
        fresh = [_on_grid(float(p), _decimal(tick)) for p in prices]
        assert [round_to_tick(p, tick) for p in prices] == fresh == [round_to_tick(p, tick) for p in prices]
    assert math.copysign(1.0, round_to_tick(-0.0, 0.01)) == -1.0 and math.copysign(1.0, round_to_tick(0.0, 0.01)) == 1.0
