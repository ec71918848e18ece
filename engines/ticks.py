"""Price tick: inferred from candles when the exchange does not say, and rounding to it."""

from __future__ import annotations

import math

import numpy as np

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
    """Decimal places of a power-of-ten-or-finer tick (0.01 -> 2, 1 -> 0)."""
    return max(0, int(round(-math.log10(tick)))) if tick < 1 else 0


def round_to_tick(price: float, tick: float) -> float:
    """``price`` on the tick grid, printed without float noise."""
    return round(round(price / tick) * tick, tick_decimals(tick))
