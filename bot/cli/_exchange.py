"""Exchange history for the ``signaltracker`` subcommands: ``download`` and ``--exchange`` of the backtests.

The REST endpoints and the default folder (the bot's cache, ``CACHE_DIR/<exchange>``) come from the
bot's settings, so the CLI and the bot share one cache and tests point both at 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from bot.cli._arguments import EXCHANGES, parse_days
from bot.settings import BotSettings, load_settings
from engines.errors import InvalidInput
from engines.params import StrategyParams
from market.download import DownloadProgress, DownloadSummary, HistoryDownloader, warmup
from market.files import list_symbols

logger = logging.getLogger(__name__)
DEFAULT_TOP = 25
DEFAULT_DAYS = 7.0


def current_time() -> pd.Timestamp:
    """The clock downloads are planned on (the wall clock; tests replace it with the local server's)."""
    return pd.Timestamp.now(tz="UTC")


def rest_url(settings: BotSettings, exchange_id: str) -> str:
    return settings.bybit_rest_url if exchange_id == "bybit" else settings.binance_rest_url


def cache_folder(exchange_id: str, settings: BotSettings | None = None) -> Path:
    """The bot's cache folder of ``exchange_id`` (``CACHE_DIR/<exchange>``)."""
    return Path((settings or load_settings()).cache_dir) / exchange_id


class BarProgress(DownloadProgress):
    """A tqdm bar on stderr (pairs done, candles, ETA) when stderr is a terminal; silent otherwise."""

    def __init__(self) -> None:
        self._bar = None
        self._pairs = self._done = 0

    def planned(self, pairs: int, candles: int) -> None:
        if sys.stderr.isatty():
            from tqdm import tqdm
            self._pairs = pairs
            self._bar = tqdm(total=candles, unit=" candles", unit_scale=True, file=sys.stderr,
                             desc=f"0/{pairs} pairs", dynamic_ncols=True)

    def advance(self, candles: int) -> None:
        if self._bar is not None:
            self._bar.update(candles)

    def pair_done(self, pair: str) -> None:
        self._done += 1
        if self._bar is not None:
            self._bar.set_description(f"{self._done}/{self._pairs} pairs")

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


async def _download(exchange_id: str, pairs: Sequence[str] | None, top: int | None, days: float,
                    dest: Path, funding: bool, progress: DownloadProgress, settings: BotSettings,
                    ) -> DownloadSummary:
    from market.history import HistoryClient  # ccxt is loaded only when a download is asked for
    client = HistoryClient(exchange_id, rest_url(settings, exchange_id), cache_dir=None, clock=lambda: current_time())
    try:
        downloader = HistoryDownloader(client, dest)
        chosen = await downloader.resolve_pairs(pairs, top)
        start = (client.clock() - pd.Timedelta(days=days)).floor("min")
        oldest = await downloader.oldest_listing()
        if oldest is not None and start < oldest:
            served = (client.clock() - oldest) / pd.Timedelta(days=1)
            raise InvalidInput(f"--days: {exchange_id} serves 1m history from {oldest:%Y-%m-%d} "
                               f"(at most {int(served)} days), got {days:g}")
        return await downloader.download(chosen, start, funding=funding, progress=progress)
    finally:
        await client.close()


def download(exchange_id: str, pairs: Sequence[str] | None, top: int | None, days: float, dest: Path | None = None,
             funding: bool = True, progress: DownloadProgress | None = None,
             settings: BotSettings | None = None) -> DownloadSummary:
    """Bring ``dest`` (default: the bot's cache of ``exchange_id``) up to date over the last ``days`` days."""
    if exchange_id not in EXCHANGES:
        raise InvalidInput(f"--exchange: one of {', '.join(EXCHANGES)}, got {exchange_id!r}")
    parse_days(days)
    settings = settings or load_settings()
    folder = Path(dest) if dest is not None else cache_folder(exchange_id, settings)
    return asyncio.run(_download(exchange_id, pairs, top, days, folder, funding, progress or DownloadProgress(),
                                 settings))


def exchange_history(exchange_id: str, pairs: Sequence[str] | None, start: pd.Timestamp | None, days: float | None,
                     params: StrategyParams, settings: BotSettings | None = None) -> tuple[Path, list[str]]:
    """Download into the bot's cache what a backtest from ``start`` (else the last ``days``, default 7) needs,
    the engines' warm-up included; return the folder and the pairs (default: those already cached, else the
    top 25 by turnover)."""
    settings = settings or load_settings()
    folder = cache_folder(exchange_id, settings)
    chosen = list(pairs or (list_symbols(folder, "1m") if folder.is_dir() else []))
    now = current_time()
    first = start if start is not None else now - pd.Timedelta(days=parse_days(days) or DEFAULT_DAYS)
    needed_days = (now - (first - warmup(params))) / pd.Timedelta(days=1)
    progress = BarProgress()
    try:
        summary = download(exchange_id, chosen or None, None if chosen else DEFAULT_TOP, needed_days, folder,
                           progress=progress, settings=settings)
    finally:
        progress.close()
    logger.info("%s", summary.line())
    return folder, [r.pair for r in summary.results]
