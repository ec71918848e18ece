"""/backtest on the bot's own data: the engines' ``run_backtest`` over the last N days before now.

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
class BacktestResult:
    report: BacktestReport
    trades_csv: bytes


@dataclass(frozen=True)
class ExchangeCache:
    """Where live backtests read history: the exchange's REST API and the bot's cache folder for it."""

    exchange_id: str
    rest_url: str
    folder: Path


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


def _pair_history(feed: MarketFeed, pair: str, folder: Path | None, end: pd.Timestamp,
                  since: pd.Timestamp | None) -> PairHistory:
    if folder is not None:
        m1 = read_candles(folder, pair, "1m")
        if m1 is None:
            raise DataUnavailable(f"no 1m candles for {pair} in {folder}")
        keep = m1["timestamp"] + pd.Timedelta(minutes=1) <= end
        m1 = m1[keep & (m1["timestamp"] >= since)] if since is not None else m1[keep]
        return PairHistory.from_candles(pair, m1, read_funding(folder, pair), tick=feed.tick_size(pair))
    return PairHistory.from_candles(pair, feed.candles(pair, "1m"), None, tick=feed.tick_size(pair))


def chosen_pairs(feed: MarketFeed, pairs: tuple[str, ...]) -> list[str]:
    unknown = [p for p in pairs if p not in feed.pairs()]
    if unknown:
        raise DataUnavailable(f"not tracked: {', '.join(unknown)}; tracked: {', '.join(feed.pairs())}")
    return list(pairs or feed.pairs())


def load_history(feed: MarketFeed, pairs: tuple[str, ...], folder: Path | None,
                 since: pd.Timestamp | None = None) -> History:
    """1m candles (and funding) of ``pairs`` from ``folder`` (or the feed's buffers) up to now, from ``since``."""
    end = pd.Timestamp(feed.now()).floor("min")
    chosen = chosen_pairs(feed, pairs)
    with ThreadPoolExecutor(max_workers=LOAD_THREADS) as pool:  # Parquet reads release the GIL
        return History(tuple(pool.map(lambda pair: _pair_history(feed, pair, folder, end, since), chosen)))


def run_chat_backtest(request: BacktestRequestArgs, *, feed: MarketFeed, params: StrategyParams,
                      replay_dir: Path | None, progress: Progress,
                      exchange: ExchangeCache | None = None) -> BacktestResult:
    """Run the backtest the chat asked for with ``params`` (already tuned); blocking: a worker thread."""
    folder, since = replay_dir, None
    if replay_dir is None and exchange is not None:
        since = pd.Timestamp(feed.now()) - pd.Timedelta(days=request.days) - warmup(params)
        asyncio.run(_complete_cache(exchange, chosen_pairs(feed, request.pairs), since, feed.now, progress))
        folder, since = exchange.folder, since.ceil("min")
    progress("loading candles")
    history = load_history(feed, request.pairs, folder, since)
    end = history.end
    start = end - pd.Timedelta(days=request.days)
    if start < history.first:
        days = (end - history.first) / pd.Timedelta(days=1)
        advice = f"ask for at most {int(days)}d" if days >= 1 else "a backtest needs at least 1d; try again later"
        raise DataUnavailable(f"the bot has {days:.1f} days of data before now; {advice}")
    report = run_backtest(BacktestRequest(history, start, end, params),
                          progress=progress)
    return BacktestResult(report, report.trades_csv().encode())
