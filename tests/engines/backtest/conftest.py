"""Real pair histories and signals at real prices for the backtester tests (1m_2025-05 set)."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import pytest

from engines.backtest.history import History, PairHistory
from engines.models import ExhaustionChecks, Signal, Trend
from market.files import read_candles, read_funding
from tests.conftest import FUNDING, M1_2025, SAMPLE


def pair_history(pair: str) -> PairHistory:
    return PairHistory.from_candles(pair, read_candles(M1_2025, pair, "1m"), read_funding(FUNDING, pair))


@pytest.fixture(scope="session")
def btc() -> PairHistory:
    return pair_history("BTCUSDT")


@pytest.fixture(scope="session")
def three_pairs(btc) -> History:
    return History((btc, pair_history("ETHUSDT"), pair_history("SOLUSDT")))


def make_signal(history: PairHistory, at: str, side: str = "LONG", kind: str = "SCALP", tp_pct: float = 0.5,
                sl_pct: float = 0.5, checks: ExhaustionChecks | None = None) -> Signal:
    """A signal decided at ``at`` (UTC close time) with entry = that candle's close and TP/SL in % of it."""
    when = pd.Timestamp(at, tz="UTC")
    closes = history.m1.set_index("timestamp")["close"]
    close = float(closes.loc[when - pd.Timedelta(minutes=1)])
    sign = 1 if side == "LONG" else -1
    return Signal(type=kind, pair=history.pair, side=side, entry=close,
                  tp=round(close * (1 + sign * tp_pct / 100), 1), sl=round(close * (1 - sign * sl_pct / 100), 1),
                  support=[], resistance=[], trend=Trend(slope=0.0, intercept=close),
                  timestamp=datetime.fromisoformat(when.isoformat()), confidence=60,
                  exhaustion_checks=checks or ExhaustionChecks(volume_drop=True, double_wick=True))


SAMPLE_PAIRS = ("BNBUSDT", "BTCUSDT", "ETHUSDT", "LINKUSDT", "SOLUSDT", "XRPUSDT")


def sample_history(pairs: tuple[str, ...] = SAMPLE_PAIRS) -> History:
    """``pairs`` of the bundled sample (``data/sample``: 1m candles and funding), in the order given."""
    return History(tuple(PairHistory.from_candles(p, read_candles(SAMPLE, p, "1m"), read_funding(SAMPLE, p))
                         for p in pairs))
