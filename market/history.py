"""OHLCV and funding history over ccxt (Bybit or Binance USDT-M linear, or Kraken) with a Parquet cache.

The cache keeps closed candles in ``<cache_dir>/<exchange>/<PAIR>_<tf>.parquet`` (the shared
data format) and is filled incrementally: a request fetches only what the cache lacks.

Only closed candles are ever returned or cached: a REST answer at a candle boundary can carry the
still-open candle (the exchange's clock and ours differ), so a candle counts as closed once its close
time is ``CLOSE_GRACE`` in the past on our clock and, where the answer carries the exchange's time
(Bybit's ``time``), on the exchange's clock too.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from engines.candles import COLUMNS, timeframe_delta, validate_candles
from engines.errors import DataUnavailable, InvalidInput, MarketError
from engines.params import PARAM_SPECS
from market.exchanges import make_exchange, unified_symbol
from market.files import merge, write_atomic
from market.retry import RetryPolicy, call_with_retries

logger = logging.getLogger(__name__)
DEFAULT_CACHE_DIR = Path("var/cache")
# Candles a request. Binance USDT-M documents 1,500, but ccxt cuts every answer to 1,000 rows, and a
# 1,000-row request costs weight 5 where 1,500 costs 10: 1,000 is also the cheaper page.
PAGE_LIMIT = {"bybit": 1000, "binanceusdm": 1000, "kraken": 720}
FUNDING_PAGE_LIMIT = {"bybit": 200, "binanceusdm": 1000}  # funding events a request
MIN_FUNDING_INTERVAL = pd.Timedelta(hours=1)  # no exchange settles more often: a page window never overflows
CLOSE_GRACE = pd.Timedelta(seconds=5)
WINDOWED = ("bybit", "binanceusdm")
BYBIT_INTERVALS = {"1m": "1", "15m": "15", "1h": "60"}  # pages are fixed time windows (start..end), not "since" cursors
Clock = Callable[[], pd.Timestamp]


def wall_clock() -> pd.Timestamp:
    return pd.Timestamp.now(tz="UTC")


def startup_counts() -> dict[str, int]:
    """Candles to load at start-up: the largest S/R lookback (15m) and trend lookback (1h)."""
    return {"1m": 240, "15m": int(PARAM_SPECS["sr_lookback"].maximum),
            "1h": int(PARAM_SPECS["trend_lookback"].maximum)}


class HistoryClient:
    """Closed candles of one exchange, fetched with retries and cached on disk."""

    def __init__(self, exchange_id: str = "bybit", rest_url: str | None = None, *,
                 cache_dir: Path | str | None = DEFAULT_CACHE_DIR, retry: RetryPolicy = RetryPolicy(),
                 timeout_ms: int = 10_000, rate_limit: bool = True, clock: Clock = wall_clock) -> None:
        self.exchange_id = exchange_id
        self.exchange = make_exchange(exchange_id, rest_url, timeout_ms, rate_limit)
        self.cache_dir = Path(cache_dir) / exchange_id if cache_dir is not None else None
        self.retry = retry
        self.clock = clock
        self._markets_loaded = False

    async def close(self) -> None:
        await self.exchange.close()

    async def load_markets(self) -> dict:
        if not self._markets_loaded:
            await call_with_retries(self.exchange.load_markets, f"{self.exchange_id} load_markets", self.retry)
            self._markets_loaded = True
        return self.exchange.markets

    async def market(self, pair: str) -> dict:
        markets = await self.load_markets()
        symbol = unified_symbol(self.exchange_id, pair)
        if symbol not in markets:
            raise DataUnavailable(f"{self.exchange_id} has no market {symbol} for {pair}")
        return markets[symbol]

    async def tick_size(self, pair: str) -> float:
        """The instrument's price tick (Bybit ``priceFilter.tickSize``)."""
        return float((await self.market(pair))["precision"]["price"])

    async def fetch(self, pair: str, timeframe: str, since: pd.Timestamp, until: pd.Timestamp | None = None
                    ) -> pd.DataFrame:
        """Closed candles with open time in ``[since, until)`` (``until`` defaults to the clock)."""
        step = timeframe_delta(timeframe)
        market = await self.market(pair)
        now = self.clock()
        end = min(until or now, now)
        pages: list[np.ndarray] = []
        cursor = since.ceil(step)
        while cursor < end:
            window_end = min(end, cursor + step * PAGE_LIMIT[self.exchange_id])
            page = await self._fetch_page(market, timeframe, cursor, window_end)
            page = page[(page[:, 0] >= cursor.value // 1_000_000) & (page[:, 0] < window_end.value // 1_000_000)]
            pages.append(page)
            if self.exchange_id == "kraken" and not len(page):
                break
            cursor = window_end if self.exchange_id in WINDOWED or not len(page) else \
                pd.Timestamp(int(page[-1, 0]), unit="ms", tz="UTC") + step
        rows = np.concatenate(pages) if pages else np.empty((0, 6))
        return self._closed_frame(rows, timeframe, now, f"{self.exchange_id} {pair} {timeframe}")

    async def recent(self, pair: str, timeframe: str, count: int) -> pd.DataFrame:
        """The last ``count`` closed candles, from the cache plus what it lacks."""
        if count < 1:
            raise InvalidInput(f"candle count must be >= 1, got {count}")
        step = timeframe_delta(timeframe)
        now = self.clock()
        wanted_from = now.floor(step) - step * count
        cached = self._read_cache(pair, timeframe)
        cached = cached[cached["timestamp"] >= wanted_from]
        contiguous = not cached.empty and cached["timestamp"].iloc[0] <= wanted_from
        since = cached["timestamp"].iloc[-1] + step if contiguous else wanted_from
        fresh = await self.fetch(pair, timeframe, since)
        merged = pd.concat([cached if contiguous else cached.iloc[0:0], fresh], ignore_index=True)
        merged = merged.drop_duplicates("timestamp", keep="last").sort_values("timestamp", ignore_index=True)
        self._write_cache(pair, timeframe, merged)
        return merged.iloc[-count:].reset_index(drop=True)

    async def linear_tickers(self) -> list[dict]:
        """Bybit ``/v5/market/tickers?category=linear`` rows (``symbol``, ``turnover24h``, ``fundingRate`` ...)."""
        await self.load_markets()
        tickers = await call_with_retries(
            lambda: self.exchange.fetch_tickers(None, {"type": "swap", "subType": "linear"}),
            f"{self.exchange_id} tickers", self.retry)
        return [ticker["info"] for ticker in tickers.values() if isinstance(ticker.get("info"), dict)]

    async def funding(self, pair: str, since: pd.Timestamp, until: pd.Timestamp | None = None) -> pd.DataFrame:
        """Funding events (``timestamp``, ``funding_rate``) settled in ``[since, until)``, oldest first."""
        if self.exchange_id not in FUNDING_PAGE_LIMIT:
            raise DataUnavailable(f"{self.exchange_id} has no funding history (not a perpetual exchange)")
        symbol = (await self.market(pair))["symbol"]
        limit = FUNDING_PAGE_LIMIT[self.exchange_id]
        end = min(until or self.clock(), self.clock())
        rows: list[tuple[int, float]] = []
        cursor = since
        while cursor < end:
            window_end = min(end, cursor + MIN_FUNDING_INTERVAL * limit)
            first_ms, end_ms = cursor.value // 1_000_000, window_end.value // 1_000_000
            page = await call_with_retries(
                lambda: self.exchange.fetch_funding_rate_history(symbol, first_ms, limit, {"until": end_ms - 1}),
                f"{self.exchange_id} {pair} funding from {cursor}", self.retry)
            rows += [(int(r["timestamp"]), float(r["fundingRate"])) for r in page
                     if first_ms <= int(r["timestamp"]) < end_ms]
            cursor = window_end
        frame = pd.DataFrame(rows, columns=["timestamp", "funding_rate"])
        frame["timestamp"] = pd.to_datetime(frame["timestamp"].astype("int64"), unit="ms", utc=True).dt.as_unit("ms")
        return frame.drop_duplicates("timestamp", keep="last").sort_values("timestamp", ignore_index=True)

    async def turnover_rows(self) -> list[dict]:
        """``{"symbol": "SOLUSDT", "turnover24h": <24 h quote volume>}`` per linear market (ccxt's ``quoteVolume``:
        Bybit's ``turnover24h``, Binance's ``quoteVolume``)."""
        markets = await self.load_markets()
        tickers = await call_with_retries(
            lambda: self.exchange.fetch_tickers(None, {"type": "swap", "subType": "linear"}),
            f"{self.exchange_id} tickers", self.retry)
        return [{"symbol": markets[symbol]["id"], "turnover24h": ticker.get("quoteVolume")}
                for symbol, ticker in tickers.items() if symbol in markets]

    async def _fetch_page(self, market: dict, timeframe: str, start: pd.Timestamp, end: pd.Timestamp
                          ) -> np.ndarray:
        """Rows ``[open ms, o, h, l, c, volume]`` (float64) of one page, oldest first."""
        since_ms, until_ms = start.value // 1_000_000, end.value // 1_000_000 - 1
        limit = PAGE_LIMIT[self.exchange_id]
        what = f"{self.exchange_id} {market['symbol']} {timeframe} candles from {start}"
        if self.exchange_id == "bybit":  # ccxt's implicit endpoint: its pacing and errors, without its slow parser
            request = {"category": "linear", "symbol": market["id"], "interval": BYBIT_INTERVALS[timeframe],
                       "start": since_ms, "end": until_ms, "limit": limit}
            answer = await call_with_retries(lambda: self.exchange.publicGetV5MarketKline(request), what, self.retry)
            rows = _numeric_rows(answer.get("result", {}).get("list") if isinstance(answer, dict) else None, what)
            served_at = answer.get("time") if isinstance(answer, dict) else None
            if isinstance(served_at, int):  # the exchange's own clock: a candle it has not closed is left out
                rows = rows[rows[:, 0] + timeframe_delta(timeframe).value // 1_000_000 <= served_at]
            return rows
        if self.exchange_id == "binanceusdm":
            request = {"symbol": market["id"], "interval": timeframe, "startTime": since_ms, "endTime": until_ms,
                       "limit": limit}
            return _numeric_rows(await call_with_retries(lambda: self.exchange.fapiPublicGetKlines(request), what,
                                                         self.retry), what)
        rows = await call_with_retries(
            lambda: self.exchange.fetch_ohlcv(market["symbol"], timeframe, since_ms, limit, {}), what, self.retry)
        return np.asarray([row[:6] for row in rows], dtype=np.float64).reshape(-1, 6)

    @staticmethod
    def _closed_frame(rows: np.ndarray, timeframe: str, now: pd.Timestamp, name: str) -> pd.DataFrame:
        frame = pd.DataFrame({"timestamp": pd.to_datetime(rows[:, 0].astype(np.int64), unit="ms", utc=True),
                              **{column: rows[:, i + 1] for i, column in enumerate(COLUMNS[1:])}})
        frame = frame[frame["timestamp"] + timeframe_delta(timeframe) + CLOSE_GRACE <= now]
        frame = frame.drop_duplicates("timestamp", keep="last").sort_values("timestamp")
        return validate_candles(frame, name=name)

    def _cache_path(self, pair: str, timeframe: str) -> Path | None:
        return None if self.cache_dir is None else self.cache_dir / f"{pair}_{timeframe}.parquet"

    def _read_cache(self, pair: str, timeframe: str) -> pd.DataFrame:
        path = self._cache_path(pair, timeframe)
        empty = validate_candles(pd.DataFrame({c: [] for c in COLUMNS}), name="empty cache")
        if path is None or not path.exists():
            return empty
        try:
            return validate_candles(pd.read_parquet(path), name=str(path))
        except (OSError, ValueError) as e:  # a corrupt cache file is fetched again and rewritten
            logger.warning("ignoring the unreadable cache file %s (%s)", path, e)
            return empty

    def _write_cache(self, pair: str, timeframe: str, frame: pd.DataFrame) -> None:
        path = self._cache_path(pair, timeframe)
        if path is None:
            return
        write_atomic(merge(self._read_cache(pair, timeframe), frame), path)


def _numeric_rows(rows: object, what: str) -> np.ndarray:
    """Exchange kline rows (numbers as strings) as float64 ``[open ms, o, h, l, c, volume]``, oldest first."""
    try:
        table = np.array([row[:6] for row in rows], dtype=str).astype(np.float64)  # type: ignore[union-attr]
    except (TypeError, ValueError, IndexError) as e:
        raise MarketError(f"{what}: unexpected kline rows ({str(rows)[:80]})") from e
    table = table.reshape(-1, 6)
    return table[np.argsort(table[:, 0], kind="stable")]
