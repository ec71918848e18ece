"""Is there an edge? The strategy against its random-entry runs, and the mean P&L per trade with its interval.

Definitions (all pure, seeded where random):

- percentile of a value within runs: 100 x (runs below it + half the runs equal to it) / runs;
- p-value (one-sided, "the strategy's timing beats random entries"): (1 + runs at or above the
  strategy's net P&L) / (1 + runs), the usual Monte Carlo p-value;
- interval: the 2.5 and 97.5 percentiles of the mean P&L per trade over ``RESAMPLES`` bootstrap
  resamples of the trades (drawn with replacement, seeded).

Verdict (``MIN_TRADES`` = 30, ``ALPHA`` = 0.05):

- ``too_small``: fewer than 30 trades - the sample is too small to judge;
- ``detected``: p-value <= 0.05 and the interval lies above zero;
- ``timing_only``: p-value <= 0.05 but the interval reaches zero or below (beats random entries,
  yet not shown to make money after costs);
- ``worse``: the strategy's net P&L is at or below all but 5 % of the runs (p-value of the
  other side, (1 + runs at or below) / (1 + runs), <= 0.05): its timing did worse than chance;
- ``none``: otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel

MIN_TRADES = 30
ALPHA = 0.05
RESAMPLES = 2000
LEVEL = 95.0
BOOTSTRAP_SEED = 11
HEADLINE = {"too_small": "sample too small to judge", "detected": "detected",
            "timing_only": "timing beats random entries, but profit not shown",
            "worse": "none, timing worse than random entries", "none": "none detected"}


class MeanInterval(BaseModel):
    """Mean P&L per trade with its bootstrap 95 % interval."""

    trades: int
    mean: float
    low: float
    high: float


class Edge(BaseModel):
    """The edge verdict of one run (JSON key ``edge``)."""

    verdict: str
    line: str
    trades: int
    runs: int
    percentile: float  # of net P&L among the random-entry runs
    profit_factor_percentile: float
    p_value: float
    interval: MeanInterval
    per_engine: dict[str, MeanInterval]


def percentile_of(value: float, sample: np.ndarray) -> float:
    """Where ``value`` sits in ``sample``, in % (ties count half)."""
    sample = np.asarray(sample, dtype=float)
    if not len(sample):
        return 50.0
    return float(100.0 * (np.sum(sample < value) + 0.5 * np.sum(sample == value)) / len(sample))


def p_value(value: float, sample: np.ndarray) -> float:
    """One-sided Monte Carlo p-value of ``value`` being above ``sample``'s distribution."""
    sample = np.asarray(sample, dtype=float)
    return float((1 + np.sum(sample >= value)) / (1 + len(sample)))


def mean_interval(pnls: Sequence[float], seed: int = BOOTSTRAP_SEED, resamples: int = RESAMPLES) -> MeanInterval:
    """Mean of ``pnls`` and the bootstrap 95 % interval of that mean (zeros without trades)."""
    values = np.asarray(pnls, dtype=float)
    if not len(values):
        return MeanInterval(trades=0, mean=0.0, low=0.0, high=0.0)
    means = values[np.random.default_rng(seed).integers(len(values), size=(resamples, len(values)))].mean(axis=1)
    low, high = np.percentile(means, [(100 - LEVEL) / 2, 100 - (100 - LEVEL) / 2])
    return MeanInterval(trades=len(values), mean=float(values.mean()), low=float(low), high=float(high))


def verdict(trades: int, p: float, p_below: float, interval: MeanInterval) -> str:
    """The verdict code (see module doc); ``p_below``: the p-value of the strategy being below the runs."""
    if trades < MIN_TRADES:
        return "too_small"
    if p <= ALPHA:
        return "detected" if interval.low > 0 else "timing_only"
    return "worse" if p_below <= ALPHA else "none"


def ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th, 11th, 12th, 13th, 21st ..."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def money(value: float) -> str:
    """Whole dollars with a real minus sign: −$41, $75."""
    return f"−${-value:,.0f}" if round(value) < 0 else f"${value:,.0f}"


def signed_money(value: float) -> str:
    return money(value) if round(value) < 0 else f"+{money(value)}"


def interval_text(i: MeanInterval) -> str:
    return f"{money(i.mean)} (95 %: {signed_money(i.low)} … {signed_money(i.high)})"


def verdict_line(code: str, trades: int, runs: int, percentile: float, interval: MeanInterval) -> str:
    """One plain line, e.g. ``Edge: none detected — 43rd percentile of 200 random-entry runs; mean per trade ...``."""
    if trades == 0:
        return f"Edge: {HEADLINE[code]} — no trades"
    where = f"{ordinal(int(round(percentile)))} percentile of {runs} random-entry runs"
    if code == "too_small":
        where = f"{trades} trades, at least {MIN_TRADES} needed; {where}"
    return f"Edge: {HEADLINE[code]} — {where}; mean per trade {interval_text(interval)}"


def judge(pnls: Sequence[float], engines: Sequence[str], profit_factor: float | None, random_net: np.ndarray,
          random_pf: np.ndarray) -> Edge:
    """The strategy's trades (net P&L and engine of each) against the random runs' net P&L and PF."""
    net = float(np.sum(pnls))
    pf = np.inf if profit_factor is None else profit_factor
    p = p_value(net, random_net)
    interval = mean_interval(pnls)
    code = verdict(len(pnls), p, p_value(-net, -np.asarray(random_net, dtype=float)), interval)
    percentile = percentile_of(net, random_net)
    per_engine = {e: mean_interval([v for v, k in zip(pnls, engines) if k == e]) for e in sorted(set(engines))}
    return Edge(verdict=code, line=verdict_line(code, len(pnls), len(random_net), percentile, interval),
                trades=len(pnls), runs=len(random_net), percentile=percentile,
                profit_factor_percentile=percentile_of(pf, random_pf), p_value=p, interval=interval,
                per_engine=per_engine)
