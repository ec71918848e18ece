"""Market data: live (Bybit over pybit + ccxt) or replayed from Parquet files, behind one interface.

    market.feed          MarketFeed protocol and its events (ClosedCandle, BookUpdate, FundingUpdate, StreamStatus)
    market.replay        ReplayFeed: candle files on a simulated clock (console default, tests, backtest parity)
    market.bybit_feed    BybitFeed: pybit public stream + REST history/backfill (imports pybit and ccxt)
    market.history       HistoryClient: ccxt OHLCV (Bybit linear, Kraken) with a Parquet cache
    market.universe      Universe: top 25 USDT perpetuals by 24 h turnover, refreshed daily
    market.files         candle and funding files on disk

Only the light-weight feed types are re-exported here; import the feeds from their modules.
"""

from market.feed import (BookUpdate, ClosedCandle, FundingUpdate, Listener, MarketEvent, MarketFeed, SourceState,
                         StartupProgress, StreamStatus)

__all__ = ["BookUpdate", "ClosedCandle", "FundingUpdate", "Listener", "MarketEvent", "MarketFeed", "SourceState",
           "StartupProgress", "StreamStatus"]
