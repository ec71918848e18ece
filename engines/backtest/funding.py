"""Funding events per pair: the real ones from the funding file, assumed ones where it is silent.

A position pays ``rate x notional`` at every funding instant ``t`` with ``entry < t < exit``
(open before the instant and still open at it; a position closed exactly at ``t`` does not pay).
Positive rates: longs pay, shorts receive. The notional is the entry notional.

Real events are used inside the span the file covers (first event to last event plus one
interval); outside it we assume events at 00:00, 08:00 and 16:00 UTC with rate +0.01 %
(the plan's "±0.01 %", signed so that longs pay).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

ASSUMED_RATE = 0.0001
ASSUMED_HOURS = (0, 8, 16)
FundingSource = Literal["real", "assumed", "mixed"]


@dataclass(frozen=True)
class FundingSchedule:
    """A pair's funding instants (ns, sorted) and rates, with cumulative sums for fast lookups."""

    pair: str
    times: np.ndarray
    rates: np.ndarray
    source: FundingSource

    def rate_sum(self, entry_ns: np.ndarray, exit_ns: np.ndarray) -> np.ndarray:
        """Sum of rates over instants strictly between each entry and exit."""
        cumulative = np.concatenate([[0.0], np.cumsum(self.rates)])
        first = np.searchsorted(self.times, entry_ns, side="right")
        last = np.searchsorted(self.times, exit_ns, side="left")
        return cumulative[np.maximum(last, first)] - cumulative[first]


def funding_schedule(pair: str, funding: pd.DataFrame | None, start: pd.Timestamp,
                     end: pd.Timestamp) -> FundingSchedule:
    """Funding instants in ``[start, end]``: real where ``funding`` covers them, assumed elsewhere."""
    real_times, real_rates = _real_events(funding, start, end)
    covered = _covered_span(funding)
    assumed = _assumed_times(start, end)
    if covered is not None:
        assumed = assumed[(assumed < covered[0]) | (assumed > covered[1])]
    times = np.concatenate([real_times, assumed.astype("int64")])
    rates = np.concatenate([real_rates, np.full(len(assumed), ASSUMED_RATE)])
    order = np.argsort(times, kind="stable")
    source: FundingSource = "mixed" if len(real_times) and len(assumed) else "assumed" if len(assumed) else "real"
    return FundingSchedule(pair, times[order], rates[order], source)


def _real_events(funding: pd.DataFrame | None, start: pd.Timestamp, end: pd.Timestamp) -> tuple[np.ndarray, np.ndarray]:
    if funding is None or funding.empty:
        return np.empty(0, np.int64), np.empty(0, np.float64)
    inside = funding[(funding["timestamp"] >= start) & (funding["timestamp"] <= end)]
    times = inside["timestamp"].dt.as_unit("ns").astype("int64").to_numpy()
    return times, inside["funding_rate"].to_numpy(dtype=np.float64)


def _covered_span(funding: pd.DataFrame | None) -> tuple[int, int] | None:
    if funding is None or len(funding) < 2:
        return None
    times = funding["timestamp"].dt.as_unit("ns").astype("int64").to_numpy()
    interval = int(np.median(np.diff(times)))
    return int(times[0]), int(times[-1]) + interval


def _assumed_times(start: pd.Timestamp, end: pd.Timestamp) -> np.ndarray:
    hours = pd.date_range(start.floor("D"), end.ceil("D"), freq="8h", tz="UTC")
    hours = hours[hours.hour.isin(ASSUMED_HOURS) & (hours >= start) & (hours <= end)]
    return hours.as_unit("ns").asi8
