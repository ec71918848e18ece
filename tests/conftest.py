"""Shared fixtures: where the real market data live."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "data" / "sample"  # real 1m candles + funding of 6 pairs, 2025-05-04..06-03 (see its README)
SHARED_DATA = Path(os.environ.get("SHARED_DATA_DIR", REPO.parent / "shared" / "data")) / "binance_usdm_perp"
M1_2025 = SHARED_DATA / "1m_2025-05"
M1_2026 = SHARED_DATA / "1m_2026-01"
M1_2023 = SHARED_DATA / "1m_2023-07"
H1_LONG = SHARED_DATA / "1h_long"
M15_LONG = SHARED_DATA / "15m_long"
FUNDING = SHARED_DATA / "funding"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.fail(f"real market data not found at {SHARED_DATA}; set SHARED_DATA_DIR")
    return SHARED_DATA
