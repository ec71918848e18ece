"""/backtest on the bot's own data: the engines' ``run_backtest`` over the last N days before now.

What the feed knows (pairs, ticks, the clock, and its 1m buffers when there are no files) is taken on the
bot's loop into a :class:`BacktestJob`; the job then runs on its own, in a child process
(:mod:`bot.backtest_child`) for the bot, in-process for tests and tools.

Replay source: the replay folder's 1m and funding files, cut at the feed's clock (so a backtest
never sees the replay's future). Exchange source (``MARKET_SOURCE=bybit``): the bot's Parquet cache
of that exchange, the one ``signaltracker download`` fills, completed first with what the window and
the engines' warm-up lack (downloaded on the worker thread's own event loop with its own ccxt client,
so the bot's loop keeps serving signal jobs and commands). Otherwise: the 1m candles the feed buffers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from bot.arguments import BacktestRequestArgs
from engines.backtest.history import History, PairHistory
from engines.backtest.report import BacktestReport
from engines.backtest.run import BacktestRequest, run_backtest
from engines.errors import DataUnavailable
from engines.params import StrategyParams
from market.download import DownloadProgress, HistoryDownloader, warmup
from market.feed import MarketFeed
from market.files import read_candles, read_funding

Progress = Callable[[str], None]
LOAD_THREADS = 4


@dataclass(frozen=True)
class ExchangeCache:
    """Where live backtests read history: the exchange's REST API and the bot's cache folder for it."""

    exchange_id: str
    rest_url: str
    folder: Path


@dataclass(frozen=True)
class FeedSnapshot:
    """What reading history needs from the feed, taken on the bot's loop (picklable)."""

    pairs: tuple[str, ...]
    ticks: dict[str, float]
    now: pd.Timestamp
    candles: dict[str, pd.DataFrame] | None = None  # the feed's 1m buffers, when there are no files

    @classmethod
    def of(cls, feed: MarketFeed, pairs: tuple[str, ...], with_candles: bool) -> "FeedSnapshot":
        progress = feed.progress()
        if not progress.done:
            raise DataUnavailable(f"{progress}: try again in a minute")
        chosen = tuple(chosen_pairs(feed, pairs))
        return cls(chosen, {p: feed.tick_size(p) for p in chosen}, pd.Timestamp(feed.now()),
                   {p: feed.candles(p, "1m") for p in chosen} if with_candles else None)


@dataclass(frozen=True)
class BacktestJob:
    """Everything a chat backtest needs, without the feed: picklable, so a child process can run it."""

    request: BacktestRequestArgs
    params: StrategyParams
    snapshot: FeedSnapshot
    replay_dir: Path | None = None
    exchange: ExchangeCache | None = None


@dataclass(frozen=True)
class BacktestResult:
    report: BacktestReport
    trades_csv: bytes


class _PairsProgress(DownloadProgress):
    def __init__(self, progress: Progress) -> None:
        self._progress, self._total, self._done, self._missing = progress, 0, 0, 0

    def planned(self, pairs: int, candles: int) -> None:
        self._total, self._missing = pairs, candles
        self._progress(f"downloading 0/{pairs} pairs…" if candles else "history up to date")

    def pair_done(self, pair: str) -> None:
        self._done += 1
        if self._missing:
            self._progress(f"downloading {self._done}/{self._total} pairs…")


async def _complete_cache(cache: ExchangeCache, pairs: list[str], start: pd.Timestamp,
                          clock: Callable[[], pd.Timestamp], progress: Progress) -> None:
    from market.history import HistoryClient  # ccxt only when a live backtest needs it
    client = HistoryClient(cache.exchange_id, cache.rest_url, cache_dir=None, clock=clock)
    try:
        await HistoryDownloader(client, cache.folder).download(pairs, start, progress=_PairsProgress(progress))
    finally:
        await client.close()


def _pair_history(snapshot: FeedSnapshot, pair: str, folder: Path | None, since: pd.Timestamp | None) -> PairHistory:
    if folder is not None:
        m1 = read_candles(folder, pair, "1m")
        if m1 is None:
            raise DataUnavailable(f"no 1m candles for {pair} in {folder}")
        keep = m1["timestamp"] + pd.Timedelta(minutes=1) <= snapshot.now.floor("min")
        m1 = m1[keep & (m1["timestamp"] >= since)] if since is not None else m1[keep]
        return PairHistory.from_candles(pair, m1, read_funding(folder, pair), tick=snapshot.ticks[pair])
    return PairHistory.from_candles(pair, (snapshot.candles or {})[pair], None, tick=snapshot.ticks[pair])


def chosen_pairs(feed: MarketFeed, pairs: tuple[str, ...]) -> list[str]:
    unknown = [p for p in pairs if p not in feed.pairs()]
    if unknown:
        raise DataUnavailable(f"not tracked: {', '.join(unknown)}; tracked: {', '.join(feed.pairs())}")
    return list(pairs or feed.pairs())


def load_history(snapshot: FeedSnapshot, folder: Path | None, since: pd.Timestamp | None = None) -> History:
    """1m candles (and funding) of the snapshot's pairs from ``folder`` (or its candles) up to its time, from ``since``."""
    with ThreadPoolExecutor(max_workers=LOAD_THREADS) as pool:  # Parquet reads release the GIL
        return History(tuple(pool.map(lambda pair: _pair_history(snapshot, pair, folder, since), snapshot.pairs)))


def feed_history(feed: MarketFeed, pairs: tuple[str, ...], folder: Path | None) -> History:
    """:func:`load_history` of ``pairs`` (all: empty) as the feed stands now."""
    return load_history(FeedSnapshot.of(feed, pairs, with_candles=folder is None), folder)


def backtest_job(request: BacktestRequestArgs, *, feed: MarketFeed, params: StrategyParams, replay_dir: Path | None,
                 exchange: ExchangeCache | None = None) -> BacktestJob:
    """The job of ``request`` with ``params`` (already tuned), as the feed stands now (call it on the bot's loop)."""
    exchange = exchange if replay_dir is None else None
    snapshot = FeedSnapshot.of(feed, request.pairs, with_candles=replay_dir is None and exchange is None)
    return BacktestJob(request, params, snapshot, replay_dir, exchange)


def run_backtest_job(job: BacktestJob, progress: Progress) -> BacktestResult:
    """Run ``job``; blocking (a worker thread or the child process)."""
    folder, since, now = job.replay_dir, None, job.snapshot.now
    if job.replay_dir is None and job.exchange is not None:
        since = now - pd.Timedelta(days=job.request.days) - warmup(job.params)
        asyncio.run(_complete_cache(job.exchange, list(job.snapshot.pairs), since, lambda: now, progress))
        folder, since = job.exchange.folder, since.ceil("min")
    progress("loading candles")
    history = load_history(job.snapshot, folder, since)
    end = history.end
    start = end - pd.Timedelta(days=job.request.days)
    if start < history.first:
        days = (end - history.first) / pd.Timedelta(days=1)
        advice = f"ask for at most {int(days)}d" if days >= 1 else "a backtest needs at least 1d; try again later"
        raise DataUnavailable(f"the bot has {days:.1f} days of data before now; {advice}")
    report = run_backtest(BacktestRequest(history, start, end, job.params), progress=progress)
    return BacktestResult(report, report.trades_csv().encode())


def run_chat_backtest(request: BacktestRequestArgs, *, feed: MarketFeed, params: StrategyParams,
                      replay_dir: Path | None, progress: Progress,
                      exchange: ExchangeCache | None = None) -> BacktestResult:
    """The chat's backtest in this process (tests and tools; the bot runs jobs in a child process)."""
    return run_backtest_job(backtest_job(request, feed=feed, params=params, replay_dir=replay_dir, exchange=exchange),
                            progress)
