import re

import numpy as np
import pandas as pd
import pytest

from engines.candles import closed_until, resample, validate_candles
from engines.errors import CandleError
from tests.conftest import H1_LONG, M1_2025


@pytest.fixture(scope="module")
def eth_1m() -> pd.DataFrame:
    return validate_candles(pd.read_parquet(M1_2025 / "ETHUSDT_1m.parquet"))


def test_resampled_1h_equals_binance_native_1h(eth_1m):
    ours = resample(eth_1m, "1h")
    native = pd.read_parquet(H1_LONG / "ETHUSDT_1h.parquet")
    joined = ours.merge(native, on="timestamp", suffixes=("", "_native"))
    assert len(ours) == 719 and len(joined) == 719
    for column in ("open", "high", "low", "close"):
        assert (joined[column] == joined[f"{column}_native"]).all()
    assert np.allclose(joined["volume"], joined["volume_native"], rtol=1e-12)


def test_only_complete_buckets_are_kept(eth_1m):
    # the 1m file starts at 15:33, so the 15:30 bucket is incomplete and dropped
    m15 = resample(eth_1m, "15m")
    assert eth_1m["timestamp"].iloc[0] == pd.Timestamp("2025-05-04 15:33", tz="UTC")
    assert m15["timestamp"].iloc[0] == pd.Timestamp("2025-05-04 15:45", tz="UTC")
    first = eth_1m[(eth_1m["timestamp"] >= "2025-05-04 15:45") & (eth_1m["timestamp"] < "2025-05-04 16:00")]
    assert m15.iloc[0][["open", "high", "low", "close"]].tolist() == [
        first["open"].iloc[0], first["high"].max(), first["low"].min(), first["close"].iloc[-1]]


def test_closed_until_keeps_candles_closed_by_then(eth_1m):
    m15 = resample(eth_1m, "15m")
    closed = closed_until(m15, "15m", pd.Timestamp("2025-05-04 16:10", tz="UTC"))
    assert closed["timestamp"].tolist() == [pd.Timestamp("2025-05-04 15:45", tz="UTC")]


@pytest.mark.parametrize("mutate, message", [
    (lambda f: f.iloc[::-1], "timestamps are not sorted ascending"),
    (lambda f: pd.concat([f.iloc[:2], f.iloc[1:3]]), "duplicate timestamp 2025-05-04T15:34:00+00:00"),
    (lambda f: f.assign(close=f["close"].where(f.index != 2)), "NaN or infinite price at 2025-05-04T15:35:00+00:00"),
    (lambda f: f.drop(columns=["volume"]), "missing columns volume"),
])
def test_invalid_candles_are_refused_with_the_reason(eth_1m, mutate, message):
    with pytest.raises(CandleError, match=re.escape(f"ETH: {message}")):
        validate_candles(mutate(eth_1m.iloc[:5].copy()), name="ETH")
