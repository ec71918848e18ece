"""/backtest on the bot's own data: the engines' ``run_backtest`` over the last N days before now.

Replay source: the replay folder's 1m and funding files, cut at the feed's clock (so a backtest
never sees the replay's future). Live source: the 1m candles the feed has buffered.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from bot.arguments import BacktestRequestArgs
from engines.backtest.history import History, PairHistory
from engines.backtest.report import BacktestReport
from engines.backtest.run import BacktestRequest, run_backtest
from engines.errors import DataUnavailable
from engines.params import StrategyParams
from market.feed import MarketFeed
from market.files import read_candles, read_funding


@dataclass(frozen=True)
class BacktestResult:
    report: BacktestReport
    trades_csv: bytes


def _pair_history(feed: MarketFeed, pair: str, replay_dir: Path | None, end: pd.Timestamp) -> PairHistory:
    if replay_dir is not None:
        m1 = read_candles(replay_dir, pair, "1m")
        if m1 is None:
            raise DataUnavailable(f"no 1m candles for {pair} in {replay_dir}")
        m1 = m1[m1["timestamp"] + pd.Timedelta(minutes=1) <= end]
        return PairHistory.from_candles(pair, m1, read_funding(replay_dir, pair), tick=feed.tick_size(pair))
    return PairHistory.from_candles(pair, feed.candles(pair, "1m"), None, tick=feed.tick_size(pair))


def load_history(feed: MarketFeed, pairs: tuple[str, ...], replay_dir: Path | None) -> History:
    end = pd.Timestamp(feed.now()).floor("min")
    unknown = [p for p in pairs if p not in feed.pairs()]
    if unknown:
        raise DataUnavailable(f"not tracked: {', '.join(unknown)}; tracked: {', '.join(feed.pairs())}")
    return History(tuple(_pair_history(feed, pair, replay_dir, end) for pair in (pairs or tuple(feed.pairs()))))


def run_chat_backtest(request: BacktestRequestArgs, *, feed: MarketFeed, params: StrategyParams,
                      replay_dir: Path | None, progress: Callable[[str], None]) -> BacktestResult:
    """Run the backtest the chat asked for with ``params`` (already tuned); CPU-bound: worker thread."""
    progress("loading candles")
    history = load_history(feed, request.pairs, replay_dir)
    end = history.end
    start = end - pd.Timedelta(days=request.days)
    if start < history.first:
        days = (end - history.first) / pd.Timedelta(days=1)
        raise DataUnavailable(f"the bot has {days:.1f} days of data before now; ask for at most {int(days)}d")
    report = run_backtest(BacktestRequest(history, start, end, params),
                          progress=progress)
    return BacktestResult(report, report.trades_csv().encode())
