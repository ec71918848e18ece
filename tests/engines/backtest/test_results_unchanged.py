"""The speed work changed no result: run_backtest's trades on the bundled real data, to the cent.

The fingerprints (trade count, net P&L, SHA-256 of trades.csv, money rounded to cents) were taken
with the code before the incremental indicators, live state and lazy loading (commit fdb851a).
"""

from __future__ import annotations

import hashlib

import pytest

from bot.cli.backtest import load_history
from engines.backtest.run import BacktestRequest, run_backtest
from tests.conftest import SAMPLE

BEFORE = {
    7: (40, -24311.94, "2b71c7dcc3a0bebc3be18b461a45f47f150cfda3baed45b9c694f7a96c513bd4"),
    19: (110, -76459.63, "d5830164d6168a6d69a4d914c90e93494101f5edac885b43467f9a81529d7b0c"),
}


@pytest.fixture(scope="module")
def history():
    return load_history(SAMPLE)


@pytest.mark.parametrize("days", sorted(BEFORE))
def test_trades_equal_those_before_the_speed_work(history, days):
    start, end = history.last_days(days)
    report = run_backtest(BacktestRequest(history, start, end))
    csv = report.trades_csv()
    assert (len(report.trades), round(sum(t.pnl for t in report.trades), 2),
            hashlib.sha256(csv.encode()).hexdigest()) == BEFORE[days]
