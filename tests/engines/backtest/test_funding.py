"""Funding at each pair's real funding instants; assumed 00/08/16 UTC +0.01 % where data are silent."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engines.backtest.funding import funding_schedule
from market.files import read_funding
from tests.conftest import ODD_FUNDING


def _ns(text: str) -> int:
    return pd.Timestamp(text, tz="UTC").value


def _sum(schedule, entry: str, exit: str) -> float:
    return float(schedule.rate_sum(np.array([_ns(entry)]), np.array([_ns(exit)]))[0])


@pytest.fixture(scope="module")
def ena():
    return funding_schedule("ENAUSDT", read_funding(ODD_FUNDING, "ENAUSDT"),
                            pd.Timestamp("2025-05-19", tz="UTC"), pd.Timestamp("2025-05-22", tz="UTC"))


def test_ena_pays_at_its_real_four_hourly_instants(ena):
    assert ena.source == "real"
    assert _sum(ena, "2025-05-20 03:00", "2025-05-20 13:00") == pytest.approx(3 * 0.00005, abs=1e-12)


def test_only_instants_strictly_inside_the_hold_count(ena):
    assert _sum(ena, "2025-05-20 04:00", "2025-05-20 12:00") == pytest.approx(0.00005, abs=1e-12)
    assert _sum(ena, "2025-05-20 04:01", "2025-05-20 07:59") == 0.0


def test_btc_real_eight_hourly_rates(btc):
    schedule = funding_schedule("BTCUSDT", btc.funding, btc.first, btc.end)
    # 2025-05-20 08:00 +0.007107 %, 16:00 +0.001266 % (Binance BTCUSDT)
    assert _sum(schedule, "2025-05-20 07:00", "2025-05-20 17:00") == pytest.approx(0.00007107 + 0.00001266, abs=1e-12)


def test_pair_without_funding_in_the_window_uses_assumed_rates():
    doge = read_funding(ODD_FUNDING, "DOGEUSDT")  # file covers 2026-04..05 only
    schedule = funding_schedule("DOGEUSDT", doge, pd.Timestamp("2025-05-26", tz="UTC"), pd.Timestamp("2025-05-27", tz="UTC"))
    assert schedule.source == "assumed"
    assert [pd.Timestamp(t, tz="UTC").hour for t in schedule.times] == [0, 8, 16, 0]
    assert schedule.rates.tolist() == [0.0001] * 4


def test_no_funding_file_means_assumed_rates():
    schedule = funding_schedule("XYZUSDT", None, pd.Timestamp("2025-05-26 01:00", tz="UTC"),
                                pd.Timestamp("2025-05-26 09:00", tz="UTC"))
    assert (schedule.source, len(schedule.times)) == ("assumed", 1)


def test_window_past_the_end_of_the_file_mixes_real_and_assumed():
    # ENA's file ends 2025-06-03 08:00 (4h interval): covered until 12:00, assumed 16:00 after that.
    schedule = funding_schedule("ENAUSDT", read_funding(ODD_FUNDING, "ENAUSDT"), pd.Timestamp("2025-06-03", tz="UTC"),
                                pd.Timestamp("2025-06-04", tz="UTC"))
    hours = [(pd.Timestamp(t, tz="UTC").strftime("%d %H"), r) for t, r in zip(schedule.times, schedule.rates)]
    assert schedule.source == "mixed"
    assert hours == [("03 00", 0.00005), ("03 04", 0.00005), ("03 08", 0.00005), ("03 16", 0.0001), ("04 00", 0.0001)]
