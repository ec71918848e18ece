"""Exit resolution on real BTCUSDT 1m candles (Binance USDT-M, May 2025)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engines.errors import InvalidInput
from engines.execution import EXIT_REASONS, MinuteBars, resolve_exits
from tests.conftest import M1_2025


@pytest.fixture(scope="module")
def btc() -> pd.DataFrame:
    return pd.read_parquet(M1_2025 / "BTCUSDT_1m.parquet")


def _at(frame: pd.DataFrame, text: str) -> int:
    return int(MinuteBars.from_frame(frame).index_at(np.array([pd.Timestamp(text, tz="UTC").value]))[0])


def _one(frame: pd.DataFrame, entry: str, long: bool, tp: float, sl: float, minutes: int = 600):
    bars = MinuteBars.from_frame(frame)
    exits = resolve_exits(bars, np.array([_at(frame, entry)]), np.array([long]), np.array([tp]), np.array([sl]),
                          np.array([minutes]))
    return (float(exits.entry_price[0]), pd.Timestamp(int(exits.exit_time[0]), tz="UTC"), float(exits.exit_price[0]),
            EXIT_REASONS[int(exits.reason[0])], bool(exits.same_candle[0]))


def test_stop_loss_fills_at_the_stop_price_when_the_candle_closes(btc):
    # 2025-05-20 10:00 opens 105238.2; the 12:34 candle's low 104671.7 is the first below 104712.0.
    assert _one(btc, "2025-05-20 10:00", True, 105764.4, 104712.0) == (
        105238.2, pd.Timestamp("2025-05-20 12:35", tz="UTC"), 104712.0, "sl", False)


def test_take_profit_of_a_short_fills_at_the_tp_price(btc):
    assert _one(btc, "2025-05-20 10:00", False, 104712.0, 105764.4) == (
        105238.2, pd.Timestamp("2025-05-20 12:35", tz="UTC"), 104712.0, "tp", False)


def test_candle_reaching_tp_and_sl_counts_as_stop_loss(btc):
    # 2025-05-05 13:23: open 94288.5, high 94296.1, low 94280.0 -- both levels inside one minute.
    assert _one(btc, "2025-05-05 13:23", True, 94296.0, 94281.0) == (
        94288.5, pd.Timestamp("2025-05-05 13:24", tz="UTC"), 94281.0, "sl", True)


def test_candle_opening_beyond_the_stop_fills_at_its_open(btc):
    # 16:08 low 95475.2 stays above the stop; 16:09 opens at 95474.4, below it.
    assert _one(btc, "2025-05-04 16:08", True, 96000.0, 95475.0) == (
        95483.7, pd.Timestamp("2025-05-04 16:09", tz="UTC"), 95474.4, "sl", False)


def test_time_stop_fills_at_the_open_of_the_candle_at_entry_plus_time_stop(btc):
    entry = btc.loc[btc["timestamp"] == pd.Timestamp("2025-05-20 10:00", tz="UTC"), "open"].iloc[0]
    stop_open = btc.loc[btc["timestamp"] == pd.Timestamp("2025-05-20 11:00", tz="UTC"), "open"].iloc[0]
    assert _one(btc, "2025-05-20 10:00", True, entry * 1.05, entry * 0.95, minutes=60) == (
        105238.2, pd.Timestamp("2025-05-20 11:00", tz="UTC"), stop_open, "time_stop", False)


def test_time_stop_uses_the_first_candle_after_a_missing_one(btc):
    holed = btc[btc["timestamp"] != pd.Timestamp("2025-05-20 11:00", tz="UTC")].reset_index(drop=True)
    next_open = btc.loc[btc["timestamp"] == pd.Timestamp("2025-05-20 11:01", tz="UTC"), "open"].iloc[0]
    result = _one(holed, "2025-05-20 10:00", True, 110000.0, 100000.0, minutes=60)
    assert result[1:4] == (pd.Timestamp("2025-05-20 11:01", tz="UTC"), next_open, "time_stop")


def test_position_open_when_the_data_end_exits_at_the_last_close(btc):
    last = btc.iloc[-1]
    result = _one(btc, "2025-06-03 15:00", True, 200000.0, 50000.0, minutes=600)
    assert result[1:4] == (last["timestamp"] + pd.Timedelta(minutes=1), last["close"], "end_of_data")


def test_entry_index_outside_the_data_is_rejected(btc):
    bars = MinuteBars.from_frame(btc.iloc[:10])
    with pytest.raises(InvalidInput, match="entry_index"):
        resolve_exits(bars, np.array([10]), np.array([True]), np.array([1.0]), np.array([0.5]), np.array([60]))
