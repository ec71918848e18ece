"""Exchange history into a data folder: closed 1m candles and funding of USDT perpetuals.

    client = HistoryClient("bybit", url, cache_dir=None)
    downloader = HistoryDownloader(client, Path("var/cache/bybit"))
    pairs = await downloader.resolve_pairs(["SOLUSDT"], top=None)
    summary = await downloader.download(pairs, start=now - pd.Timedelta(days=7))

Files are ``DIR/<PAIR>_1m.parquet`` (``timestamp`` = open time UTC, OHLCV floats) and
``DIR/<PAIR>_funding.parquet`` (``timestamp``, ``funding_rate``): what ``--data`` reads and what
the bot's cache holds. A run fetches only what a file lacks in the window (after its last minute,
before its first, and its holes), writes after every chunk of pages by atomic replace (an interrupted
run leaves valid files and a re-run resumes), and never stores a candle that has not closed.
Pairs run concurrently; the one ccxt exchange they share paces every request within its rate limit.
"""

from __future__ import annotations

import asyncio
import difflib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from engines.candles import COLUMNS, validate_candles
from engines.errors import InvalidInput, MarketError
from engines.params import StrategyParams
from market.files import merge, write_atomic
from market.history import CLOSE_GRACE, MIN_FUNDING_INTERVAL, PAGE_LIMIT, HistoryClient
from market.universe import top_by_turnover

logger = logging.getLogger(__name__)
MINUTE = pd.Timedelta(minutes=1)
MINUTE_MS = 60_000
CHUNK_PAGES = 10  # pages fetched between two writes of a file
FUNDING_COLUMNS = ("timestamp", "funding_rate")


def warmup(params: StrategyParams) -> pd.Timedelta:
    """History the engines read before the first decision: the 1h trend and the 15m levels lookbacks."""
    return max(pd.Timedelta(hours=params.trend_lookback + 1), pd.Timedelta(minutes=15 * (params.sr_lookback + 8)))


def missing_ranges(stored_ms: np.ndarray, start_ms: int, end_ms: int) -> list[tuple[int, int]]:
    """Minute ranges ``[a, b)`` (ms) in ``[start_ms, end_ms)`` with no open time in ``stored_ms``."""
    inside = stored_ms[(stored_ms >= start_ms) & (stored_ms < end_ms)]
    edges = np.concatenate(([start_ms - MINUTE_MS], np.unique(inside), [end_ms]))
    gaps = np.flatnonzero(np.diff(edges) > MINUTE_MS)
    return [(int(edges[i]) + MINUTE_MS, int(edges[i + 1])) for i in gaps]


def _read_parquet(path: Path, columns: list[str] | None = None) -> pd.DataFrame:
    try:
        return pd.read_parquet(path, columns=columns)
    except (OSError, ValueError, KeyError) as e:  # pyarrow's errors derive from these
        raise InvalidInput(f"{path} is not a readable candle file ({str(e)[:120]}); delete it to download "
                           f"it again") from e


def read_stored_candles(path: Path) -> pd.DataFrame:
    if not path.exists():
        return validate_candles(pd.DataFrame({c: [] for c in COLUMNS}), name=path.name)
    return validate_candles(_read_parquet(path), name=path.name)


def stored_open_times(path: Path) -> np.ndarray:
    """Open times (ms) of the candles in a file (empty if there is none): all a plan needs."""
    if not path.exists():
        return np.array([], dtype=np.int64)
    stamps = _read_parquet(path, columns=["timestamp"])["timestamp"]
    return pd.DatetimeIndex(pd.to_datetime(stamps, utc=True)).as_unit("ms").asi8


def read_stored_funding(path: Path) -> pd.DataFrame:
    if not path.exists():
        return pd.DataFrame({"timestamp": pd.to_datetime([], utc=True).as_unit("ms"), "funding_rate": []})
    frame = _read_parquet(path)
    if not set(FUNDING_COLUMNS) <= set(frame.columns):
        raise InvalidInput(f"{path.name}: expected columns timestamp, funding_rate")
    frame = frame.loc[:, list(FUNDING_COLUMNS)].copy()
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True).dt.as_unit("ms")
    return frame


@dataclass(frozen=True)
class PairResult:
    pair: str
    candles_added: int
    funding_added: int
    candles_stored: int


@dataclass(frozen=True)
class DownloadSummary:
    exchange_id: str
    dest: Path
    results: tuple[PairResult, ...]
    seconds: float

    @property
    def candles_added(self) -> int:
        return sum(r.candles_added for r in self.results)

    def line(self) -> str:
        funding = sum(r.funding_added for r in self.results)
        return (f"{self.exchange_id}: {len(self.results)} pairs, {self.candles_added:,} new 1m candles, "
                f"{funding:,} funding events in {self.seconds:.1f} s -> {self.dest}")


class DownloadProgress:
    """What a download reports as it goes; the default reports nothing."""

    def planned(self, pairs: int, candles: int) -> None:
        """``candles`` 1m candles are missing over ``pairs`` pairs (an upper bound: holes may stay empty)."""

    def advance(self, candles: int) -> None:
        """``candles`` more were fetched (or found not to exist)."""

    def pair_done(self, pair: str) -> None:
        """Every file of ``pair`` is up to date."""


@dataclass(frozen=True)
class _Plan:
    pair: str
    ranges: tuple[tuple[int, int], ...]
    stored: int  # candles in the file before the download
    funding_interval: pd.Timedelta  # the shortest time after which a new funding event can exist

    @property
    def candles(self) -> int:
        return sum((b - a) // MINUTE_MS for a, b in self.ranges)


class HistoryDownloader:
    """Fills ``dest`` from ``client`` (which it does not close); see the module docstring."""

    def __init__(self, client: HistoryClient, dest: Path, *, concurrency: int = 8,
                 chunk_pages: int = CHUNK_PAGES) -> None:
        if concurrency < 1 or chunk_pages < 1:
            raise InvalidInput("concurrency and chunk_pages must be >= 1")
        if Path(dest).exists() and not Path(dest).is_dir():
            raise InvalidInput(f"--dest: {dest} exists and is not a folder")
        self.client = client
        self.dest = Path(dest)
        self.concurrency = concurrency
        self.chunk_minutes = chunk_pages * PAGE_LIMIT[client.exchange_id]

    # -- what to download ----------------------------------------------------------------------
    async def perpetuals(self) -> dict[str, dict]:
        """The exchange's trading USDT-settled linear perpetuals by id (``SOLUSDT``)."""
        markets = await self.client.load_markets()
        return {m["id"]: m for m in markets.values()
                if m.get("swap") and m.get("linear") and m.get("settle") == "USDT" and m.get("active")}

    async def resolve_pairs(self, pairs: Sequence[str] | None, top: int | None) -> list[str]:
        """``pairs`` checked against the exchange (unknown ones named with the nearest valid ones), or the top
        ``top`` by 24 h turnover."""
        known = await self.perpetuals()
        if pairs:
            unknown = [p for p in pairs if p not in known]
            if unknown:
                raise InvalidInput("; ".join(_unknown_pair(self.client.exchange_id, p, known) for p in unknown))
            return list(dict.fromkeys(pairs))
        if top is None or top < 1:
            raise InvalidInput(f"--top: a whole number >= 1, got {top}")
        return top_by_turnover(await self.client.turnover_rows(), set(known), top)

    async def oldest_listing(self) -> pd.Timestamp | None:
        """The launch time of the oldest perpetual: the exchange serves no 1m history before it."""
        created = [m["created"] for m in (await self.perpetuals()).values() if m.get("created")]
        return pd.Timestamp(min(created), unit="ms", tz="UTC") if created else None

    def closed_end(self) -> pd.Timestamp:
        """Open time after the last closed 1m candle (exclusive end of what may be stored)."""
        return (self.client.clock() - CLOSE_GRACE).floor("min")

    # -- the download ----------------------------------------------------------------------------
    async def download(self, pairs: Sequence[str], start: pd.Timestamp, *, funding: bool = True,
                       progress: DownloadProgress | None = None) -> DownloadSummary:
        """Bring every pair's files up to date over ``[start, now)``; raise :class:`MarketError` naming the
        pairs that failed (after the others are done and saved)."""
        began = time.monotonic()
        progress = progress or DownloadProgress()
        markets = await self.perpetuals()
        end = self.closed_end()
        plans = [self._plan(pair, start, end, markets.get(pair)) for pair in pairs]
        progress.planned(len(plans), sum(p.candles for p in plans))
        gate = asyncio.Semaphore(self.concurrency)

        async def run(plan: _Plan) -> PairResult:
            async with gate:
                result = await self._download_pair(plan, start, funding, progress)
            progress.pair_done(plan.pair)
            return result

        outcomes = await asyncio.gather(*(run(plan) for plan in plans), return_exceptions=True)
        failures = [f"{plan.pair}: {outcome}" for plan, outcome in zip(plans, outcomes)
                    if isinstance(outcome, Exception)]
        for outcome in outcomes:
            if isinstance(outcome, BaseException) and not isinstance(outcome, Exception):
                raise outcome
        if failures:
            raise MarketError(f"{self.client.exchange_id} download failed for {len(failures)} of {len(plans)} "
                              f"pairs (files of the others are complete): " + "; ".join(failures))
        results = tuple(o for o in outcomes if isinstance(o, PairResult))
        return DownloadSummary(self.client.exchange_id, self.dest, results, time.monotonic() - began)

    def _plan(self, pair: str, start: pd.Timestamp, end: pd.Timestamp, market: dict | None) -> _Plan:
        first = start.ceil("min")
        if market and market.get("created"):
            first = max(first, pd.Timestamp(market["created"], unit="ms", tz="UTC").ceil("min"))
        stored_ms = stored_open_times(self.candle_path(pair))
        ranges = missing_ranges(stored_ms, first.value // 1_000_000, end.value // 1_000_000)
        return _Plan(pair, tuple(ranges), len(stored_ms), funding_interval(market))

    def candle_path(self, pair: str) -> Path:
        return self.dest / f"{pair}_1m.parquet"

    def funding_path(self, pair: str) -> Path:
        return self.dest / f"{pair}_funding.parquet"

    async def _download_pair(self, plan: _Plan, start: pd.Timestamp, funding: bool,
                             progress: DownloadProgress) -> PairResult:
        stored = None
        for chunk_start, chunk_end in self._chunks(plan.ranges):
            frame = await self.client.fetch(plan.pair, "1m", _stamp(chunk_start), _stamp(chunk_end))
            frame = frame[frame["timestamp"] < self.closed_end()]
            if not frame.empty:
                stored = merge(read_stored_candles(self.candle_path(plan.pair)) if stored is None else stored, frame)
                write_atomic(stored, self.candle_path(plan.pair))
            progress.advance((chunk_end - chunk_start) // MINUTE_MS)
        funding_added = await self._download_funding(plan, start) if funding else 0
        count = plan.stored if stored is None else len(stored)
        logger.info("%s: %d new candles, %d new funding events", plan.pair, count - plan.stored, funding_added)
        return PairResult(plan.pair, count - plan.stored, funding_added, count)

    def _chunks(self, ranges: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
        step = self.chunk_minutes * MINUTE_MS
        return [(a, min(b, a + step)) for first, b in ranges for a in range(first, b, step)]

    async def _download_funding(self, plan: _Plan, start: pd.Timestamp) -> int:
        pair = plan.pair
        stored = read_stored_funding(self.funding_path(pair))
        frames = []
        if stored.empty or stored["timestamp"].iloc[0] > start + pd.Timedelta(hours=8):
            until = stored["timestamp"].iloc[0] if len(stored) else None
            frames.append(await self.client.funding(pair, start, until))
        if len(stored) and self.client.clock() >= stored["timestamp"].iloc[-1] + plan.funding_interval:
            frames.append(await self.client.funding(pair, stored["timestamp"].iloc[-1] + pd.Timedelta(milliseconds=1)))
        merged = stored
        for frame in frames:
            merged = merge(merged, frame)
        if len(merged) != len(stored):
            write_atomic(merged, self.funding_path(pair))
        return len(merged) - len(stored)


def funding_interval(market: dict | None) -> pd.Timedelta:
    """Bybit's ``fundingInterval`` (minutes) of the instrument; else the shortest any exchange uses."""
    minutes = ((market or {}).get("info") or {}).get("fundingInterval")
    try:
        return pd.Timedelta(minutes=int(minutes)) if minutes else MIN_FUNDING_INTERVAL
    except (TypeError, ValueError):
        return MIN_FUNDING_INTERVAL


def _stamp(ms: int) -> pd.Timestamp:
    return pd.Timestamp(ms, unit="ms", tz="UTC")


def _unknown_pair(exchange_id: str, pair: str, known: dict[str, dict]) -> str:
    near = difflib.get_close_matches(pair, list(known), n=3, cutoff=0.6)
    return f"{exchange_id} has no USDT perpetual {pair}" + (f" (nearest: {', '.join(near)})" if near else "")


async def download_history(client: HistoryClient, dest: Path, pairs: Sequence[str], start: pd.Timestamp, *,
                           funding: bool = True, progress: DownloadProgress | None = None) -> DownloadSummary:
    """One call: check ``pairs`` against the exchange and bring their files up to date from ``start``."""
    downloader = HistoryDownloader(client, dest)
    checked = await downloader.resolve_pairs(list(pairs), None)
    return await downloader.download(checked, start, funding=funding, progress=progress)

