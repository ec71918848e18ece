"""Shared fixtures: where the real market data live -- inside the repository only.

``SAMPLE`` is the bundled sample (``data/sample``); ``tests/data`` holds the few other real slices
the tests need (provenance in its README). Nothing here may point outside the clone: CI runs the
suite from a copy with nothing beside it.
"""

from __future__ import annotations

from pathlib import Path

from engines.jit import compile_kernels

compile_kernels()  # the suite runs the kernels compiled, as backtests do; live-path tests use jit.interpreted()

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "data" / "sample"  # real 1m candles + funding of 6 pairs, 2025-05-04..06-03 (see its README)
TEST_DATA = REPO / "tests" / "data" / "binance_usdm_perp"
M1_2025 = SAMPLE
FUNDING = SAMPLE  # funding of the sample pairs, 2025-05-01..06-04
M1_2026 = TEST_DATA / "1m_2026-01"  # DOGEUSDT, 1000PEPEUSDT, 2026-01-10..02-02
M1_2023 = TEST_DATA / "1m_2023-07"  # XRPUSDT, DOGEUSDT, 2023-07-18..08-09
H1_LONG = TEST_DATA / "1h_long"  # ETHUSDT native 1h, 2025-05-01..06-05
ODD_FUNDING = TEST_DATA / "funding"  # ENAUSDT (4-hourly, 2025-05..06-03), DOGEUSDT (2026-04..05 only)
