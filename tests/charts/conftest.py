"""Real candles and levels built from their prices: SOLUSDT 15m, the 120 candles before 2025-05-20."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engines.candles import resample
from engines.models import ExhaustionChecks, Level, Signal, Swing, Trend
from engines.ticks import round_to_tick
from market.files import read_candles
from tests.conftest import M1_2025

WINDOW_END = pd.Timestamp("2025-05-20 00:00", tz="UTC")
TOUCH_BAND = 0.0025  # a candle touches a level when its low (high) is within 0.25 %


@pytest.fixture(scope="session")
def candles() -> pd.DataFrame:
    m15 = resample(read_candles(M1_2025, "SOLUSDT", "1m"), "15m")
    return m15[m15["timestamp"] < WINDOW_END].tail(120).reset_index(drop=True)


@pytest.fixture(scope="session")
def levels(candles: pd.DataFrame) -> tuple[Level, Level]:
    """The window's lowest low as support and highest high as resistance, with their touches."""
    low, high = float(candles["low"].min()), float(candles["high"].max())
    support_touches = candles.loc[candles["low"] <= low * (1 + TOUCH_BAND), "timestamp"]
    resistance_touches = candles.loc[candles["high"] >= high * (1 - TOUCH_BAND), "timestamp"]
    return (Level(low, "support", tuple(support_touches)),
            Level(high, "resistance", tuple(resistance_touches)))


@pytest.fixture(scope="session")
def swings(candles: pd.DataFrame) -> tuple[Swing, Swing]:
    top, bottom = candles["high"].idxmax(), candles["low"].idxmin()
    return (Swing(candles["timestamp"][top], float(candles["high"][top]), "high"),
            Swing(candles["timestamp"][bottom], float(candles["low"][bottom]), "low"))


@pytest.fixture(scope="session")
def trend(candles: pd.DataFrame) -> Trend:
    """Least-squares line of the closes, h = hours since the last candle's close."""
    closes_at = candles["timestamp"] + pd.Timedelta(minutes=15)
    hours = ((closes_at - closes_at.iloc[-1]) / pd.Timedelta(hours=1)).to_numpy()
    slope, intercept = np.polyfit(hours, candles["close"].to_numpy(), 1)
    return Trend(slope=float(slope), intercept=float(intercept))


@pytest.fixture(scope="session")
def signal(candles: pd.DataFrame, levels: tuple[Level, Level], trend: Trend) -> Signal:
    """A SCALP LONG on the last candle: entry at its real close, TP/SL 0.5 % on SOL's 0.01 tick."""
    entry = float(candles["close"].iloc[-1])
    return Signal(type="SCALP", pair="SOLUSDT", side="LONG", entry=entry,
                  tp=round_to_tick(entry * 1.005, 0.01), sl=round_to_tick(entry * 0.995, 0.01),
                  support=[levels[0].price], resistance=[levels[1].price], trend=trend,
                  timestamp=WINDOW_END.to_pydatetime(), confidence=72,
                  exhaustion_checks=ExhaustionChecks(volume_drop=True, double_wick=True))
