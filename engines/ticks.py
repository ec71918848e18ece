"""Price tick: inferred from candles when the exchange does not say, and rounding to it.

Rounding works on the tick grid in decimal arithmetic: the price and the tick are read as the
decimals they print as (``1.235``, ``0.005``), the number of ticks is rounded half to even, and the
result is that many ticks, so any tick works (0.5, 0.25, 0.005, not only powers of ten) and the
float returned prints as the tick's decimals, without float noise.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from functools import lru_cache

import numpy as np

from engines.errors import InvalidInput

MAX_DECIMALS = 10


def infer_tick(prices: np.ndarray) -> float:
    """The coarsest power-of-ten tick every price sits on (0.1 for BTC perps, 0.01 for SOL)."""
    values = np.asarray(prices, dtype=float)
    values = values[np.isfinite(values)]
    for decimals in range(MAX_DECIMALS + 1):
        scaled = values * 10**decimals
        if np.all(np.abs(scaled - np.round(scaled)) < 1e-9 * np.maximum(1.0, np.abs(scaled))):
            return 10.0**-decimals
    return 10.0**-MAX_DECIMALS


def tick_decimals(tick: float) -> int:
    """Decimal places a price on this tick needs (0.01 -> 2, 0.005 -> 3, 0.5 -> 1, 1 -> 0)."""
    exponent = _decimal(tick).normalize().as_tuple().exponent
    return max(0, -int(exponent))


def round_to_tick(price: float, tick: float) -> float:
    """``price`` on the nearest point of the tick grid (ties to the even tick), printed without float noise.

    Answers are remembered (``ROUNDED`` of them): signals round the same level prices again and again."""
    step = _tick_step(tick)
    if not math.isfinite(price):
        return float(price)
    if price == 0:  # 0.0 and -0.0 are one key to a cache, but round to 0.0 and -0.0
        return _on_grid(price, step)
    return _rounded(price, tick)


ROUNDED = 1 << 16


@lru_cache(maxsize=ROUNDED)
def _rounded(price: float, tick: float) -> float:
    return _on_grid(price, _tick_step(tick))


@lru_cache(maxsize=256)
def _tick_step(tick: float) -> Decimal:
    """The tick as the decimal it prints as; a tick must be positive."""
    step = _decimal(tick)
    if not step > 0:
        raise InvalidInput(f"a tick must be a positive number, got {tick!r}")
    return step


def _on_grid(price: float, step: Decimal) -> float:
    ticks = (_decimal(price) / step).to_integral_value(rounding=ROUND_HALF_EVEN)
    return float(ticks * step)


def _decimal(value: float) -> Decimal:
    """The decimal a float prints as (``repr``): 0.005 is 0.005, not 0.005000000000000000104…"""
    try:
        return Decimal(repr(float(value)))
    except (InvalidOperation, ValueError) as e:
        raise InvalidInput(f"not a number: {value!r}") from e
