"""Local exchange servers fed with real candles (127.0.0.1 only)."""

from __future__ import annotations

import pandas as pd
import pytest

from market.history import HistoryClient
from market.retry import RetryPolicy
from tests.conftest import M1_2025
from tests.market.exchange_http_server import ExchangeHttpServer
from tests.market.recorded_market import RecordedMarket

NOW = pd.Timestamp("2025-05-20 12:00:30", tz="UTC")
FAST_RETRY = RetryPolicy(attempts=5, base_delay=0.001, max_delay=0.01, jitter=0.5)


@pytest.fixture
def recorded_market() -> RecordedMarket:
    return RecordedMarket(M1_2025, ["BTCUSDT", "SOLUSDT", "ETHUSDT"], NOW)


@pytest.fixture
async def http_server(recorded_market):
    server = ExchangeHttpServer(recorded_market, timeout_seconds=0.3)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def make_history(http_server, recorded_market):
    clients = []

    def make(exchange_id: str = "bybit", **kwargs) -> HistoryClient:
        options = {"cache_dir": None, "retry": FAST_RETRY, "timeout_ms": 150, "rate_limit": False,
                   "clock": lambda: recorded_market.now} | kwargs
        client = HistoryClient(exchange_id, http_server.url, **options)
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.close()


@pytest.fixture
async def ws_server(recorded_market):
    from tests.market.bybit_ws_server import BybitWsServer

    server = BybitWsServer(recorded_market)
    await server.start()
    yield server
    await server.stop()
