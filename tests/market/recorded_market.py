"""Real 1m candles and funding rates on a settable clock: what the local exchange servers of the tests serve.

The clock (``now``) decides which candles have closed; the candle that contains ``now`` is served
as the still-open candle, exactly as the exchanges' kline endpoints and Bybit's stream show it.
``sources`` serves a data file under another name (``{"BTC2USDT": "BTCUSDT"}``: the same real candles,
an alias, for tests and benchmarks that need more pairs than the data have). :meth:`drop` removes
candles the exchange itself does not have (an exchange-side hole).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from engines.candles import resample
from engines.ticks import infer_tick
from market.files import read_candles, read_funding

MINUTES = {"1m": 1, "15m": 15, "1h": 60}
INTERVALS = {"1": "1m", "15": "15m", "60": "1h"}


class RecordedMarket:
    """Candles of several pairs from one data folder, served as of ``now``."""

    def __init__(self, data_dir: Path, pairs: list[str], now: pd.Timestamp,
                 sources: dict[str, str] | None = None) -> None:
        self.pairs = list(pairs)
        self.now = now
        self.frames: dict[tuple[str, str], pd.DataFrame] = {}
        self.funding: dict[str, pd.DataFrame] = {}
        self.ticks: dict[str, float] = {}
        self._open_ns: dict[str, np.ndarray] = {}
        self._closes: dict[str, np.ndarray] = {}
        self._cumulative_turnover: dict[str, np.ndarray] = {}
        loaded: dict[str, str] = {}
        for pair in pairs:
            source = (sources or {}).get(pair, pair)
            if source in loaded:
                self._copy(loaded[source], pair)
                continue
            loaded[source] = pair
            m1 = read_candles(data_dir, source, "1m")
            self.ticks[pair] = infer_tick(m1["close"].to_numpy())
            self._open_ns[pair] = m1["timestamp"].to_numpy(dtype="datetime64[ns]").astype(np.int64)
            self._closes[pair] = m1["close"].to_numpy()
            turnover = (m1["close"] * m1["volume"]).to_numpy()
            self._cumulative_turnover[pair] = np.concatenate(([0.0], np.cumsum(turnover)))
            for timeframe in MINUTES:
                frame = resample(m1, timeframe).set_index("timestamp")
                self.frames[(pair, timeframe)] = frame
            funding = read_funding(data_dir, source)
            self.funding[pair] = funding if funding is not None else \
                pd.DataFrame({"timestamp": pd.to_datetime([], utc=True), "funding_rate": []})

    def _copy(self, source: str, pair: str) -> None:
        self.ticks[pair], self.funding[pair] = self.ticks[source], self.funding[source]
        for table in (self._open_ns, self._closes, self._cumulative_turnover):
            table[pair] = table[source]
        for timeframe in MINUTES:
            self.frames[(pair, timeframe)] = self.frames[(source, timeframe)]

    def drop(self, pair: str, start: pd.Timestamp, end: pd.Timestamp) -> None:
        """The exchange has no 1m candles of ``pair`` opening in ``[start, end)``."""
        frame = self.frames[(pair, "1m")]
        self.frames[(pair, "1m")] = frame.loc[(frame.index < start) | (frame.index >= end)]

    def funding_events(self, pair: str, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
        """Funding settled in ``[start, end]`` and by ``now``, oldest first."""
        frame = self.funding[pair]
        last = min(end, self.now)
        return frame[(frame["timestamp"] >= start) & (frame["timestamp"] <= last)]

    def price_at(self, pair: str, at: pd.Timestamp) -> float:
        """Close of the last 1m candle closed by ``at`` (the mark price a funding event carries)."""
        return float(self._closes[pair][max(0, self._closed_count(pair, at) - 1)])

    def advance(self, minutes: int = 1) -> None:
        self.now = self.now + pd.Timedelta(minutes=minutes)

    def candles(self, pair: str, timeframe: str, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
        """Candles with open time in [start, end] that have opened by ``now`` (the last one may be open)."""
        frame = self.frames[(pair, timeframe)]
        last_open = min(end, self.now)
        return frame.loc[(frame.index >= start) & (frame.index <= last_open)]

    def closed(self, pair: str, timeframe: str) -> pd.DataFrame:
        frame = self.frames[(pair, timeframe)]
        return frame.loc[frame.index + pd.Timedelta(minutes=MINUTES[timeframe]) <= self.now]

    def just_closed(self, pair: str, timeframe: str) -> pd.Series | None:
        """The candle that closed at the last minute boundary at or before ``now``, if any."""
        step = pd.Timedelta(minutes=MINUTES[timeframe])
        close = self.now.floor("min")
        if close != close.floor(step):
            return None
        frame = self.frames[(pair, timeframe)]
        return frame.loc[close - step] if close - step in frame.index else None

    def _closed_count(self, pair: str, at: pd.Timestamp) -> int:
        """How many 1m candles have closed by ``at``."""
        return int(np.searchsorted(self._open_ns[pair], (at - pd.Timedelta(minutes=1)).value, side="right"))

    def turnover_24h(self, pair: str) -> float:
        """Sum of close x volume of the 1m candles that closed in the 24 h before ``now`` (quote turnover)."""
        cumulative = self._cumulative_turnover[pair]
        end = self._closed_count(pair, self.now)
        begin = self._closed_count(pair, self.now - pd.Timedelta(hours=24))
        return float(cumulative[end] - cumulative[begin])

    def last_price(self, pair: str) -> float:
        return float(self._closes[pair][self._closed_count(pair, self.now) - 1])


def price_text(value: float, tick: float) -> str:
    """A price as the exchange prints it: a string with the tick's decimals."""
    decimals = max(0, int(round(-np.log10(tick))))
    return f"{value:.{decimals}f}"
