"""BybitStream: pybit reaching the configured local URL, and giving up instead of hanging."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from engines.errors import MarketError
from market.bybit_messages import topics_for
from market.bybit_stream import BybitStream


async def test_messages_arrive_on_the_event_loop_thread(ws_server):
    loop = asyncio.get_running_loop()
    threads = []
    stream = BybitStream(ws_server.url, loop, lambda message: threads.append(threading.get_ident()))
    await asyncio.to_thread(stream.open, ["tickers.SOLUSDT"])
    try:
        deadline = time.monotonic() + 5
        while not threads and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        assert threads == [threading.get_ident()]
    finally:
        await asyncio.to_thread(stream.close)


async def test_a_connection_lost_while_subscribing_ends_disconnected_without_hanging(ws_server):
    ws_server.hang_up_on_subscribe = True
    stream = BybitStream(ws_server.url, asyncio.get_running_loop(), lambda message: None, open_timeout=0.5)
    try:
        await asyncio.wait_for(asyncio.to_thread(stream.open, topics_for(["BTCUSDT", "SOLUSDT", "ETHUSDT"])), 3)
    except MarketError:
        pass  # lost before the last subscription went out
    await asyncio.sleep(0.3)
    assert not stream.is_connected()
    await asyncio.to_thread(stream.close)


async def test_an_unreachable_url_is_a_market_error():
    stream = BybitStream("ws://127.0.0.1:9/v5/public/linear", asyncio.get_running_loop(), lambda message: None,
                         connect_attempts=1)
    with pytest.raises(MarketError, match="cannot open Bybit stream ws://127.0.0.1:9/v5/public/linear"):
        await asyncio.to_thread(stream.open, ["tickers.SOLUSDT"])
