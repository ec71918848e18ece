"""Least-squares trend of closes, in the units of the signal JSON (price per hour, value now)."""

from __future__ import annotations

import numpy as np

from engines.jit import kernel
from engines.models import Trend


@kernel
def linear_fit(y: np.ndarray, start: int, end: int) -> tuple[float, float, float]:
    """Fit ``y[i] = a + b * (i - (end - 1))`` over ``[start, end)``: (slope b per bar, value a at the last bar, r²)."""
    n = end - start
    if n < 2:
        return np.nan, np.nan, np.nan
    sx = 0.0
    sy = 0.0
    for i in range(start, end):
        sx += i - (end - 1)
        sy += y[i]
    mx = sx / n
    my = sy / n
    sxx = 0.0
    sxy = 0.0
    syy = 0.0
    for i in range(start, end):
        dx = (i - (end - 1)) - mx
        dy = y[i] - my
        sxx += dx * dx
        sxy += dx * dy
        syy += dy * dy
    slope = sxy / sxx
    intercept = my - slope * mx
    r2 = (sxy * sxy) / (sxx * syy) if syy > 0.0 else 0.0
    return slope, intercept, r2


def hourly_slope(slope_per_bar: float, bars_per_hour: float, tick: float) -> float:
    """The trend's slope per hour, rounded to a hundredth of a tick (as the signal JSON carries it)."""
    return round(float(slope_per_bar * bars_per_hour), max(0, int(round(-np.log10(tick))) + 2))


def trend_from_fit(slope_per_bar: float, value_now: float, bars_per_hour: float, tick: float) -> Trend:
    """The JSON trend: slope per hour (rounded to a hundredth of a tick) and value now (to the tick)."""
    value_decimals = max(0, int(round(-np.log10(tick))))
    return Trend(slope=hourly_slope(slope_per_bar, bars_per_hour, tick), intercept=round(float(value_now), value_decimals))
