"""Universe: top USDT perpetuals by 24 h turnover from the local Bybit server (real candles)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from engines.errors import InvalidInput
from market.universe import Universe, top_by_turnover


def ticker_requests(server) -> int:
    return sum(path.startswith("/v5/market/tickers") for path in server.requests)


async def test_the_top_pairs_are_ranked_by_real_24h_turnover(make_history, recorded_market):
    universe = Universe(make_history(), size=2, clock=lambda: recorded_market.now)
    ranked = sorted(recorded_market.pairs, key=recorded_market.turnover_24h, reverse=True)
    assert await universe.pairs() == ranked[:2] == ["BTCUSDT", "ETHUSDT"]


async def test_a_configured_list_overrides_the_ranking(make_history, http_server):
    universe = Universe(make_history(), configured=["solusdt", " XRPUSDT "])
    assert await universe.pairs() == ["SOLUSDT", "XRPUSDT"]
    assert ticker_requests(http_server) == 0


async def test_the_ranking_is_refreshed_once_a_day(make_history, http_server, recorded_market):
    universe = Universe(make_history(), size=3, clock=lambda: recorded_market.now)
    await universe.pairs()
    recorded_market.advance(23 * 60)
    await universe.pairs()
    assert ticker_requests(http_server) == 1
    recorded_market.advance(60)
    await universe.pairs()
    assert ticker_requests(http_server) == 2


def test_only_allowed_symbols_with_a_turnover_count():
    rows = [{"symbol": "BTCUSDT", "turnover24h": "5"}, {"symbol": "BTCPERP", "turnover24h": "9"},
            {"symbol": "SOLUSDT", "turnover24h": ""}, {"symbol": "ETHUSDT", "turnover24h": "7"}]
    assert top_by_turnover(rows, {"BTCUSDT", "SOLUSDT", "ETHUSDT"}) == ["ETHUSDT", "BTCUSDT"]


def test_a_universe_of_zero_pairs_is_refused():
    with pytest.raises(InvalidInput, match="universe size must be >= 1"):
        top_by_turnover([], set(), size=0)


def test_importing_the_universe_and_history_does_not_load_ccxt():
    code = "import market.universe, market.bybit_feed, sys; assert 'ccxt' not in sys.modules, 'ccxt was imported'"
    result = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[2],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
