"""A market feed that replays 1m candle files (and funding files) on a simulated clock.

``DIR/<SYMBOL>_1m.parquet`` (+ optional ``DIR/<SYMBOL>_funding.parquet``), the format of the shared
data set. The buffers are pre-filled with the candles that closed before the replay start (by
default ``warmup_hours`` after the earliest pair's data begin, so the 1h trend has its history; a
pair whose files start later joins when its candles do); from there the
clock advances ``speed`` replay-minutes per wall second, or by hand with :meth:`ReplayFeed.advance`
and :meth:`ReplayFeed.run_to_end` when ``speed`` is ``None``. 15m and 1h candles are resampled from 1m.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from engines.candles import resample, timeframe_delta
from engines.errors import DataUnavailable, InvalidInput
from engines.ticks import infer_tick
from market.candle_store import CandleStore
from market.dispatch import ListenerSet
from market.feed import (DEFAULT_BUFFER_LENGTH, TIMEFRAMES, ClosedCandle, FundingUpdate, Listener, SourceState,
                         StartupProgress, StreamStatus)
from market.files import list_symbols, read_candles, read_candles_between, read_funding, read_span

logger = logging.getLogger(__name__)
MINUTE = pd.Timedelta(minutes=1)
CHUNK = pd.Timedelta(days=1)  # 1m candles held in memory per pair, read from disk as the replay goes


@dataclass
class _Series:
    """One pair's candles of one timeframe still to be replayed, as arrays, with the index of the next one."""

    open_ns: np.ndarray
    step_ns: int
    values: np.ndarray  # rows of open, high, low, close, volume
    next_index: int = 0
    more_from: int | None = None  # open time (ns) of the next chunk still on disk (1m only)

    @property
    def exhausted(self) -> bool:
        return self.next_index >= len(self.open_ns)

    def close_ns(self, index: int) -> int:
        return int(self.open_ns[index]) + self.step_ns


def release_arrow_memory() -> None:
    """Give the memory pyarrow kept from reading the files back to the system (mimalloc/jemalloc keep it)."""
    import pyarrow

    pyarrow.default_memory_pool().release_unused()


@dataclass
class _Funding:
    times: list[pd.Timestamp]
    rates: list[float]
    next_index: int = 0


class ReplayFeed:
    """:class:`market.feed.MarketFeed` over Parquet files; see the module docstring."""

    def __init__(self, data_dir: Path | str, speed: float | None = 60.0, warmup_hours: float = 250,
                 start: pd.Timestamp | str | None = None, *, funding_dir: Path | str | None = None,
                 buffer_length: int = DEFAULT_BUFFER_LENGTH, tick_seconds: float = 0.05) -> None:
        if speed is not None and speed < 0:
            raise InvalidInput(f"replay speed must be >= 0 replay-minutes per second, got {speed}")
        if warmup_hours < 0:
            raise InvalidInput(f"warmup_hours must be >= 0, got {warmup_hours}")
        self.data_dir = Path(data_dir)
        self.funding_dir = Path(funding_dir) if funding_dir is not None else self.data_dir
        self.speed = speed or None
        self.warmup = pd.Timedelta(hours=warmup_hours)
        self.requested_start = None if start is None else pd.Timestamp(start)
        self.tick_seconds = tick_seconds
        self._store = CandleStore(buffer_length)
        self._listeners = ListenerSet()
        self._pairs: list[str] = []
        self._series: dict[tuple[str, str], _Series] = {}
        self._funding: dict[str, _Funding] = {}
        self._spans: dict[str, tuple[pd.Timestamp, pd.Timestamp]] = {}
        self._ticks: dict[str, float] = {}
        self._clock: pd.Timestamp | None = None
        self._processed: pd.Timestamp | None = None
        self._end: pd.Timestamp | None = None
        self._lock = asyncio.Lock()
        self._runner: asyncio.Task | None = None
        self._finished = False

    # -- MarketFeed --------------------------------------------------------------------------
    async def start(self, pairs: Sequence[str]) -> None:
        self._pairs = list(pairs) or list_symbols(self.data_dir, "1m")
        spans = self._spans = {pair: self._read_span(pair) for pair in self._pairs}
        begin = self._replay_start(spans)
        for pair in self._pairs:  # one pair at a time: only one month of 1m candles is ever in memory
            self._prepare_pair(pair, self._read_pair(pair), begin)
        release_arrow_memory()
        self._clock = self._processed = begin
        self._end = max(span[1] for span in spans.values()) + MINUTE
        logger.info("replay of %d pairs from %s to %s", len(self._pairs), begin, self._end)
        for pair in self._pairs:
            await self._emit_funding_state(pair)
        if self.speed is not None:
            self._runner = asyncio.create_task(self._run_in_real_time(), name="replay-clock")

    async def stop(self) -> None:
        if self._runner is not None:
            self._runner.cancel()
            try:
                await self._runner
            except asyncio.CancelledError:
                pass
            self._runner = None

    def add_listener(self, listener: Listener) -> None:
        self._listeners.add(listener)

    def candles(self, pair: str, timeframe: str) -> pd.DataFrame:
        return self._store.frame(pair, timeframe)

    def now(self) -> pd.Timestamp:
        if self._clock is None:
            raise DataUnavailable("the replay has not started yet; call start() first")
        return self._clock

    def status(self) -> list[StreamStatus]:
        note = "replay finished" if self._finished else f"replay at {self._clock}"
        return [StreamStatus(pair, not self._finished, 0.0, self._last_closed(pair), f"{pair} {note}")
                for pair in self._pairs]

    def pairs(self) -> list[str]:
        return list(self._pairs)

    def tick_size(self, pair: str) -> float:
        if pair not in self._ticks:
            raise DataUnavailable(f"{pair} is not in this replay (pairs: {', '.join(self._pairs) or 'none'})")
        return self._ticks[pair]

    def loaded_pairs(self) -> list[str]:
        return [pair for pair in self._pairs if pair in self._ticks]

    def first_missing_minute(self, pair: str) -> pd.Timestamp | None:
        return None  # the files are read whole: a replay has no hole to wait for

    def progress(self) -> StartupProgress:
        return StartupProgress(len(self.loaded_pairs()), len(self._pairs) if self._pairs else None)

    def sources(self) -> list[SourceState]:
        ok = bool(self._pairs) and len(self.loaded_pairs()) == len(self._pairs)
        return [SourceState(f"replay files ({self.data_dir.name})", ok or None, None, None, 0,
                            "replay finished" if self._finished else "loaded" if ok else "loading")]

    # -- manual clock ------------------------------------------------------------------------
    @property
    def end(self) -> pd.Timestamp:
        """Close time of the last candle in the files."""
        if self._end is None:
            raise DataUnavailable("the replay has not started yet; call start() first")
        return self._end

    @property
    def finished(self) -> bool:
        return self._finished

    async def advance(self, minutes: float) -> None:
        """Move the simulated clock forward and emit every event up to the new time."""
        if minutes < 0:
            raise InvalidInput(f"cannot move the replay clock backwards ({minutes} minutes)")
        await self._advance_to(self.now() + pd.Timedelta(minutes=minutes))

    async def run_to_end(self) -> None:
        """Emit every remaining event."""
        await self._advance_to(self.end)

    # -- internals ---------------------------------------------------------------------------
    def _missing(self, pair: str) -> DataUnavailable:
        known = ", ".join(list_symbols(self.data_dir, "1m")) or "none"
        return DataUnavailable(f"no 1m candles for {pair} in {self.data_dir} (pairs there: {known})")

    def _read_span(self, pair: str) -> tuple[pd.Timestamp, pd.Timestamp]:
        """First and last 1m open time of ``pair`` (only the timestamp column is read)."""
        span = read_span(self.data_dir, pair, "1m")
        if span is None:
            raise self._missing(pair)
        return span

    def _read_pair(self, pair: str) -> pd.DataFrame:
        m1 = read_candles(self.data_dir, pair, "1m")
        if m1 is None or m1.empty:
            raise self._missing(pair)
        return m1

    def _replay_start(self, spans: dict[str, tuple[pd.Timestamp, pd.Timestamp]]) -> pd.Timestamp:
        if self.requested_start is not None:
            begin = pd.Timestamp(self.requested_start)
            begin = begin.tz_localize("UTC") if begin.tzinfo is None else begin.tz_convert("UTC")
        else:
            first = min(span[0] for span in spans.values())  # pairs whose files start later join later
            begin = first.ceil("1h") + self.warmup
        last = max(span[1] for span in spans.values()) + MINUTE
        if begin >= last:
            raise DataUnavailable(f"replay start {begin} is not before the end of the data ({last}); "
                                  f"lower warmup_hours ({self.warmup / pd.Timedelta(hours=1):g}) or pick a start")
        return begin

    def _prepare_pair(self, pair: str, m1: pd.DataFrame, begin: pd.Timestamp) -> None:
        self._store.add_pair(pair)
        self._ticks[pair] = infer_tick(m1["close"].to_numpy())
        for timeframe in TIMEFRAMES:
            frame = resample(m1, timeframe)
            step = timeframe_delta(timeframe).value
            open_ns = frame["timestamp"].to_numpy(dtype="datetime64[ns]").astype(np.int64)
            warm = int(np.searchsorted(open_ns + step, begin.value, side="right"))
            self._store.load(pair, timeframe, frame.iloc[max(0, warm - self._store.max_length):warm])
            # only what is still to be replayed is kept, as compact arrays; 1m candles a day at a time
            keep = len(open_ns) if timeframe != "1m" else int(np.searchsorted(open_ns, begin.value + CHUNK.value))
            self._series[(pair, timeframe)] = _Series(
                open_ns=open_ns[warm:keep].copy(), step_ns=step,
                values=frame[["open", "high", "low", "close", "volume"]].to_numpy(dtype=float)[warm:keep].copy(),
                more_from=int(open_ns[keep]) if keep < len(open_ns) else None)
        funding = read_funding(self.funding_dir, pair)
        if funding is not None and not funding.empty:
            times = list(funding["timestamp"])
            index = int((funding["timestamp"] <= begin).sum())
            self._funding[pair] = _Funding(times, list(funding["funding_rate"].astype(float)), max(index - 1, 0))

    async def _run_in_real_time(self) -> None:
        last = time.monotonic()
        while not self._finished:
            await asyncio.sleep(self.tick_seconds)
            now = time.monotonic()
            await self._advance_to(self.now() + pd.Timedelta(minutes=self.speed * (now - last)))
            last = now

    async def _advance_to(self, target: pd.Timestamp) -> None:
        async with self._lock:
            target = min(target, self.end)
            while self._processed + MINUTE <= target:
                minute = self._processed + MINUTE
                self._clock = max(self._clock, minute)  # listeners see now() >= the close they receive
                for pair in self._pairs:
                    await self._emit_minute(pair, minute)
                self._processed = minute
            self._clock = max(self._clock, target)
            if self._processed >= self.end and not self._finished:
                self._finished = True
                for pair in self._pairs:
                    await self._listeners.emit(StreamStatus(pair, False, 0.0, self._last_closed(pair),
                                                            f"{pair} replay finished at {self.end}"))

    async def _emit_minute(self, pair: str, minute: pd.Timestamp) -> None:
        limit = minute.value
        for timeframe in TIMEFRAMES:
            series = self._series[(pair, timeframe)]
            while series.exhausted and series.more_from is not None and series.more_from + series.step_ns <= limit:
                self._read_chunk(pair, timeframe, series)
            while series.next_index < len(series.open_ns) and series.close_ns(series.next_index) <= limit:
                candle = self._candle(pair, timeframe, series, series.next_index)
                series.next_index += 1
                self._store.append(candle)
                await self._listeners.emit(candle)
        funding = self._funding.get(pair)
        while funding is not None and funding.next_index + 1 < len(funding.times) \
                and funding.times[funding.next_index + 1] <= minute:
            funding.next_index += 1
            await self._emit_funding_state(pair)

    def _read_chunk(self, pair: str, timeframe: str, series: _Series) -> None:
        """The next ``CHUNK`` of candles from disk (the replay holds one day of 1m candles per pair)."""
        start = pd.Timestamp(series.more_from, tz="UTC")
        frame = read_candles_between(self.data_dir, pair, timeframe, start, start + CHUNK)
        series.open_ns = frame["timestamp"].to_numpy(dtype="datetime64[ns]").astype(np.int64)
        series.values = frame[["open", "high", "low", "close", "volume"]].to_numpy(dtype=float)
        series.next_index = 0
        last = self._spans[pair][1]
        series.more_from = (start + CHUNK).value if start + CHUNK <= last else None

    async def _emit_funding_state(self, pair: str) -> None:
        """The rate that settles at the next funding time after the last settlement seen."""
        funding = self._funding.get(pair)
        if funding is None or funding.next_index + 1 >= len(funding.times):
            return
        settled, upcoming = funding.times[funding.next_index], funding.times[funding.next_index + 1]
        interval = (upcoming - settled) / pd.Timedelta(hours=1)
        await self._listeners.emit(FundingUpdate(pair, funding.rates[funding.next_index + 1], upcoming, interval))

    @staticmethod
    def _candle(pair: str, timeframe: str, series: _Series, index: int) -> ClosedCandle:
        o, h, l, c, v = series.values[index]
        stamp = pd.Timestamp(int(series.open_ns[index]), tz="UTC").as_unit("ms")
        return ClosedCandle(pair, timeframe, stamp, float(o), float(h), float(l), float(c), float(v))

    def _last_closed(self, pair: str) -> dict[str, pd.Timestamp]:
        out = {}
        for timeframe in TIMEFRAMES:
            last = self._store.last_timestamp(pair, timeframe)
            if last is not None:
                out[timeframe] = last
        return out
