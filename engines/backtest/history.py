"""The market history a backtest runs on: per pair 1m/15m/1h candles, funding events and tick.

Loading from disk is the caller's job (``bot.cli.backtest.load_history``); this module only holds
the frames and answers questions about time windows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

from engines.backtest.funding import FundingSchedule, funding_schedule
from engines.candles import resample, timeframe_delta, validate_candles
from engines.errors import DataUnavailable, InvalidInput
from engines.execution import MINUTE_NS, MinuteBars
from engines.ticks import infer_tick

MINUTE = pd.Timedelta(minutes=1)
DECISION_WINDOWS = 32  # windows of decision times remembered per pair


@dataclass(frozen=True)
class PairHistory:
    """One pair: 1m candles (execution), 15m/1h candles (decisions), funding events (or None)."""

    pair: str
    m1: pd.DataFrame
    m15: pd.DataFrame
    h1: pd.DataFrame
    funding: pd.DataFrame | None
    tick: float
    bars: MinuteBars = field(repr=False, compare=False, default=None)  # type: ignore[assignment]
    _decision_times: dict[tuple[int, int, int], np.ndarray] = field(default_factory=dict, init=False, repr=False,
                                                                   compare=False)

    @classmethod
    def from_candles(cls, pair: str, m1: pd.DataFrame, funding: pd.DataFrame | None = None,
                     tick: float | None = None) -> "PairHistory":
        m1 = validate_candles(m1, name=f"{pair} 1m")
        if m1.empty:
            raise DataUnavailable(f"{pair}: no 1m candles")
        tick = tick if tick is not None else infer_tick(m1["close"].to_numpy())  # as engines.scan does
        return cls(pair, m1, resample(m1, "15m"), resample(m1, "1h"), funding, tick, MinuteBars.from_frame(m1))

    @property
    def first(self) -> pd.Timestamp:
        return self.m1["timestamp"].iloc[0]

    @cached_property
    def close_times(self) -> dict[str, np.ndarray]:
        """Close times (ns) of the 15m and 1h candles, for window cuts."""
        return {tf: (frame["timestamp"] + timeframe_delta(tf)).dt.as_unit("ns").astype("int64").to_numpy()
                for tf, frame in (("15m", self.m15), ("1h", self.h1))}

    @cached_property
    def funding_schedule(self) -> FundingSchedule:
        """Funding instants over the whole 1m span (real where the funding data cover it)."""
        return funding_schedule(self.pair, self.funding, self.first, self.end)

    def decision_times(self, start: pd.Timestamp, end: pd.Timestamp, step: pd.Timedelta) -> np.ndarray:
        """Decision times (ns, read-only) in ``[start, end]`` on ``step`` where the previous 1m candle and the
        entry candle exist; remembered per window (random-entry runs ask for the same ones again and again)."""
        key = (start.value, end.value, step.value)
        if key not in self._decision_times:
            if len(self._decision_times) >= DECISION_WINDOWS:
                self._decision_times.clear()
            grid = pd.date_range(start.ceil(step), end, freq=step).as_unit("ns").asi8
            found = grid[(self.bars.index_at(grid) >= 0) & (self.bars.index_at(grid - MINUTE_NS) >= 0)]
            found.flags.writeable = False
            self._decision_times[key] = found
        return self._decision_times[key]

    @property
    def end(self) -> pd.Timestamp:
        """Close time of the last 1m candle."""
        return self.m1["timestamp"].iloc[-1] + MINUTE


@dataclass(frozen=True)
class History:
    """The pairs of one backtest."""

    pairs: tuple[PairHistory, ...]

    def __post_init__(self) -> None:
        if not self.pairs:
            raise DataUnavailable("no pairs to backtest")

    @property
    def names(self) -> list[str]:
        return [p.pair for p in self.pairs]

    @property
    def end(self) -> pd.Timestamp:
        """The latest time every pair has data for (the common end)."""
        return min(p.end for p in self.pairs)

    @property
    def first(self) -> pd.Timestamp:
        """The earliest time every pair has data for (the common start)."""
        return max(p.first for p in self.pairs)

    def select(self, names: list[str] | None) -> "History":
        if not names:
            return self
        by_name = {p.pair: p for p in self.pairs}
        unknown = [n for n in names if n not in by_name]
        if unknown:
            raise InvalidInput(f"--pairs: unknown {', '.join(unknown)}; available: {', '.join(self.names)}")
        return History(tuple(by_name[n] for n in names))

    def last_days(self, days: float) -> tuple[pd.Timestamp, pd.Timestamp]:
        """The window of the last ``days`` days ending at the common end."""
        if days <= 0:
            raise InvalidInput(f"--days must be > 0, got {days}")
        end = self.end
        start = end - pd.Timedelta(days=days)
        if start < self.first:
            raise InvalidInput(f"--days {days:g}: data only cover {self.first.isoformat()} to {end.isoformat()}")
        return start, end

    def check_window(self, start: pd.Timestamp, end: pd.Timestamp) -> None:
        if start.tzinfo is None or end.tzinfo is None:
            raise InvalidInput("--start/--end must be timezone-aware (UTC)")
        if end <= start:
            raise InvalidInput(f"--end ({end.isoformat()}) must be after --start ({start.isoformat()})")
        if start < self.first or end > self.end:
            raise InvalidInput(f"--start/--end: window {start.isoformat()}..{end.isoformat()} is outside the data "
                               f"common to the pairs ({self.first.isoformat()}..{self.end.isoformat()})")
