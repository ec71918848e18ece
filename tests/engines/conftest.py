"""Real candles shared by the engine tests (Binance USDT-M perps, 1m_2025-05 set)."""

from __future__ import annotations

import pandas as pd
import pytest

from engines.candles import resample
from market.files import read_candles
from tests.conftest import M1_2025


@pytest.fixture(scope="session")
def sol_1m() -> pd.DataFrame:
    return read_candles(M1_2025, "SOLUSDT", "1m")


@pytest.fixture(scope="session")
def sol_15m(sol_1m) -> pd.DataFrame:
    return resample(sol_1m, "15m")


@pytest.fixture(scope="session")
def sol_1h(sol_1m) -> pd.DataFrame:
    return resample(sol_1m, "1h")


def row_at(frame: pd.DataFrame, stamp: str) -> int:
    """Index of the candle that opens at ``stamp`` (UTC)."""
    matches = frame.index[frame["timestamp"] == pd.Timestamp(stamp, tz="UTC")]
    assert len(matches) == 1, stamp
    return int(matches[0])
