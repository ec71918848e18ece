"""Candidate trades: every signal with its fill and its exit, resolved before any portfolio rule.

A signal decided at the close ``T`` of a 15m/1h candle fills at the open of the 1m candle that
opens at ``T`` (``signal.timestamp``), never earlier. A signal without that 1m candle cannot be
filled and is dropped (counted as ``no_entry_candle``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property

import numpy as np
import pandas as pd

from engines.backtest.funding import FundingSchedule
from engines.backtest.history import PairHistory
from engines.execution import EXIT_REASONS, resolve_exits
from engines.models import Signal
from engines.params import StrategyParams


@dataclass(frozen=True)
class Candidate:
    """A signal that could be traded, with the trade's path already known."""

    signal: Signal
    entry_time: pd.Timestamp
    entry_price: float
    exit_time: pd.Timestamp
    exit_price: float
    reason: str
    same_candle: bool
    funding_rate_sum: float  # sum of funding rates over instants strictly inside the hold

    @property
    def sort_key(self) -> tuple:
        """Time order; at the same instant MACRO before SCALP (so the conflict rule sees it), then pair."""
        return self.entry_time, 0 if self.signal.type == "MACRO" else 1, self.signal.pair, self.signal.side

    @cached_property
    def pass_order(self) -> tuple[int, int, str, str]:
        """``sort_key`` with the entry time in ns: the same order, cheaper to compare, computed once (every
        portfolio pass sorts the candidates)."""
        return self.entry_time.value, 0 if self.signal.type == "MACRO" else 1, self.signal.pair, self.signal.side

    @cached_property
    def entry_at(self) -> datetime:
        """``entry_time`` as a datetime (what the risk book is given), computed once."""
        return self.entry_time.to_pydatetime()


def hold_minutes(signal: Signal, params: StrategyParams) -> int:
    return params.time_stop if signal.type == "SCALP" else params.macro_time_stop


def pair_candidates(history: PairHistory, signals: list[Signal], params: StrategyParams,
                    funding: FundingSchedule) -> tuple[list[Candidate], int]:
    """Resolve the signals of one pair; returns the candidates and how many had no entry candle."""
    if not signals:
        return [], 0
    times = np.array([pd.Timestamp(s.timestamp).as_unit("ns").value for s in signals], dtype=np.int64)
    index = history.bars.index_at(times)
    fillable = [s for s, i in zip(signals, index) if i >= 0]
    index = index[index >= 0]
    if not fillable:
        return [], len(signals)
    exits = resolve_exits(
        history.bars, index,
        np.array([s.side == "LONG" for s in fillable]),
        np.array([s.tp for s in fillable]), np.array([s.sl for s in fillable]),
        np.array([hold_minutes(s, params) for s in fillable]))
    entry_ns = history.bars.times[index]
    rate_sums = funding.rate_sum(entry_ns, exits.exit_time)
    out = [
        Candidate(signal=s, entry_time=pd.Timestamp(int(entry_ns[k]), tz="UTC"), entry_price=float(exits.entry_price[k]),
                  exit_time=pd.Timestamp(int(exits.exit_time[k]), tz="UTC"), exit_price=float(exits.exit_price[k]),
                  reason=EXIT_REASONS[int(exits.reason[k])], same_candle=bool(exits.same_candle[k]),
                  funding_rate_sum=float(rate_sums[k]))
        for k, s in enumerate(fillable)
    ]
    return out, len(signals) - len(fillable)


def candidates_of_sets(history: PairHistory, signal_sets: Sequence[list[Signal]], params_sets: Sequence[StrategyParams],
                       funding: FundingSchedule) -> list[tuple[list[Candidate], int]]:
    """``pair_candidates`` of each set of signals with its parameters, each signal object appearing in several
    sets resolved once per time stop (sweeps share signals between parameter sets)."""
    by_stops: dict[tuple[int, int], dict[int, Signal]] = {}
    for signals, params in zip(signal_sets, params_sets):
        by_stops.setdefault(_stops(params), {}).update((id(s), s) for s in signals)
    resolved: dict[tuple[tuple[int, int], int], Candidate] = {}
    for stops, unique in by_stops.items():
        found, _ = pair_candidates(history, list(unique.values()), _params_with(params_sets, stops), funding)
        resolved.update(((stops, id(c.signal)), c) for c in found)
    out = []
    for signals, params in zip(signal_sets, params_sets):
        mine = [resolved.get((_stops(params), id(s))) for s in signals]
        out.append(([c for c in mine if c is not None], sum(c is None for c in mine)))
    return out


def _stops(params: StrategyParams) -> tuple[int, int]:
    return params.time_stop, params.macro_time_stop


def _params_with(params_sets: Sequence[StrategyParams], stops: tuple[int, int]) -> StrategyParams:
    """A parameter set with these time stops: all that :func:`pair_candidates` reads of its parameters."""
    return next(p for p in params_sets if _stops(p) == stops)
