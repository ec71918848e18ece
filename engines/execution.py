"""Where a position exits: TP, SL and time stop resolved on 1-minute candles.

An exit depends only on the entry candle, the side, the absolute TP/SL prices and the time-stop
candle, so every candidate entry is resolved on its own (a numba loop over the pair's 1m arrays)
before any portfolio rule is applied. Fill rules, candle by candle from the entry candle on:

1. The time-stop candle (the first 1m candle whose open time is at or after entry + time stop)
   exits at its **open**, reason ``time_stop``.
2. A candle that **opens** beyond the SL or the TP (a gap) exits at its open, reason ``sl``/``tp``.
3. A candle whose range reaches both SL and TP counts as ``sl`` at the SL price (we cannot know
   which came first inside the minute) and is flagged ``same_candle``.
4. Otherwise SL (at the SL price) or TP (at the TP price) if the range reaches it.
5. If the data end first, the position exits at the last close, reason ``end_of_data``.

Exit time: the candle's open time for fills at an open (rules 1-2); the candle's close time
(open + 1 minute) for fills inside a candle (rules 3-4) and at the end of data, because the
minute in which it happened is only over then.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from engines.errors import InvalidInput
from engines.jit import kernel

EXIT_REASONS: tuple[str, ...] = ("tp", "sl", "time_stop", "end_of_data")
TP, SL, TIME_STOP, END_OF_DATA = range(4)
MINUTE_NS = 60_000_000_000


@dataclass(frozen=True)
class MinuteBars:
    """One pair's 1m candles as arrays (``times`` = open times in ns since the epoch, UTC)."""

    times: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray

    @classmethod
    def from_frame(cls, candles_1m: pd.DataFrame) -> "MinuteBars":
        times = candles_1m["timestamp"].dt.as_unit("ns").astype("int64").to_numpy()
        arrays = [np.ascontiguousarray(candles_1m[c].to_numpy(dtype=np.float64)) for c in ("open", "high", "low", "close")]
        return cls(np.ascontiguousarray(times), *arrays)

    def index_at(self, times_ns: np.ndarray) -> np.ndarray:
        """Index of the candle opening exactly at each time, or -1 if there is none."""
        idx = np.searchsorted(self.times, times_ns)
        found = (idx < len(self.times)) & (self.times[np.minimum(idx, len(self.times) - 1)] == times_ns)
        return np.where(found, idx, -1)


@dataclass(frozen=True)
class Exits:
    """Resolved exits of a batch of entries (arrays aligned with the entries)."""

    entry_price: np.ndarray
    exit_time: np.ndarray  # ns
    exit_price: np.ndarray
    reason: np.ndarray  # index into EXIT_REASONS
    same_candle: np.ndarray  # bool: one candle reached both TP and SL
    exit_index: np.ndarray  # index of the 1m candle in which the exit filled


def resolve_exits(bars: MinuteBars, entry_index: np.ndarray, is_long: np.ndarray, tp: np.ndarray,
                  sl: np.ndarray, hold_minutes: np.ndarray) -> Exits:
    """Exit of every entry filled at the open of candle ``entry_index`` (see module rules)."""
    entry_index = np.asarray(entry_index, dtype=np.int64)
    if len(entry_index) and (entry_index.min() < 0 or entry_index.max() >= len(bars.times)):
        raise InvalidInput("entry_index must point at existing 1m candles")
    stop_times = bars.times[entry_index] + np.asarray(hold_minutes, dtype=np.int64) * MINUTE_NS
    stop_index = np.searchsorted(bars.times, stop_times).astype(np.int64)
    out_index, out_price, reason, both, at_open = _resolve(
        bars.open, bars.high, bars.low, bars.close, entry_index, stop_index,
        np.asarray(is_long, dtype=np.bool_), np.asarray(tp, dtype=np.float64), np.asarray(sl, dtype=np.float64))
    exit_time = bars.times[out_index] + np.where(at_open, 0, MINUTE_NS)
    return Exits(bars.open[entry_index].copy(), exit_time, out_price, reason, both, out_index)


@kernel
def _resolve(open_, high, low, close, entry_index, stop_index, is_long, tp, sl):  # pragma: no cover - numba
    n = len(entry_index)
    last = len(open_) - 1
    out_index = np.empty(n, np.int64)
    out_price = np.empty(n, np.float64)
    reason = np.empty(n, np.int64)
    both = np.zeros(n, np.bool_)
    at_open = np.zeros(n, np.bool_)
    for j in range(n):
        out_index[j] = last
        out_price[j] = close[last]
        reason[j] = END_OF_DATA
        for k in range(entry_index[j], last + 1):
            if k == stop_index[j]:
                out_index[j], out_price[j], reason[j], at_open[j] = k, open_[k], TIME_STOP, True
                break
            o, h, lo = open_[k], high[k], low[k]
            if is_long[j]:
                gap_sl, gap_tp, hit_sl, hit_tp = o <= sl[j], o >= tp[j], lo <= sl[j], h >= tp[j]
            else:
                gap_sl, gap_tp, hit_sl, hit_tp = o >= sl[j], o <= tp[j], h >= sl[j], lo <= tp[j]
            if gap_sl or gap_tp:
                out_index[j], out_price[j], at_open[j] = k, o, True
                reason[j] = SL if gap_sl else TP
                break
            if hit_sl:
                out_index[j], out_price[j], reason[j], both[j] = k, sl[j], SL, hit_tp
                break
            if hit_tp:
                out_index[j], out_price[j], reason[j] = k, tp[j], TP
                break
    return out_index, out_price, reason, both, at_open
