"""BybitStream: pybit reaching the configured local URL, and giving up instead of hanging."""

from __future__ import annotations

import asyncio
import json
import threading
import time

import pytest

from engines.errors import MarketError
from market.bybit_messages import book_update, topics_for
from market.bybit_stream import BybitStream
from tests.conftest import SAMPLE
from tests.market.conftest import NOW
from tests.market.recorded_market import RecordedMarket, price_text


@pytest.fixture
def recorded_market() -> RecordedMarket:
    return RecordedMarket(SAMPLE, ["BTCUSDT", "SOLUSDT", "ETHUSDT"], NOW)


async def wait_for(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


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


async def test_each_delivered_book_and_ticker_is_the_state_of_its_own_message(ws_server, recorded_market):
    """pybit merges deltas into one dict per topic on its thread; the loop must get a copy per message."""
    received: list[dict] = []
    stream = BybitStream(ws_server.url, asyncio.get_running_loop(), received.append)
    await asyncio.to_thread(stream.open, ["orderbook.50.BTCUSDT", "tickers.BTCUSDT"])
    try:
        await wait_for(lambda: len(received) == 2)
        expected_books, expected_prices = [0.0], [recorded_market.last_price("BTCUSDT")]
        for _ in range(6):
            await ws_server.step()
            await wait_for(lambda: len(received) == 2 + 2 * len(expected_books))
            candle = recorded_market.closed("BTCUSDT", "1m").iloc[-1]
            expected_books.append(0.5 if candle["close"] >= candle["open"] else -0.5)
            expected_prices.append(recorded_market.last_price("BTCUSDT"))
    finally:
        await asyncio.to_thread(stream.close)
    books = [book_update(m).imbalance for m in received if m["topic"].startswith("orderbook.")]
    prices = [m["data"]["lastPrice"] for m in received if m["topic"].startswith("tickers.")]
    assert books == expected_books and len(set(books)) == 3
    assert prices == [price_text(p, 0.1) for p in expected_prices]


async def test_a_subscribe_ack_faster_than_pybit_records_its_request_is_taken_in_stride(ws_server):
    # pybit sends a subscribe, then records its req_id; a local (or lucky) ack can land in between.
    # pybit's own handler raised KeyError on it (on its thread: the connection was dropped).
    received: list[dict] = []
    stream = BybitStream(ws_server.url, asyncio.get_running_loop(), received.append)
    await asyncio.to_thread(stream.open, ["tickers.SOLUSDT"])
    try:
        early_ack = {"success": True, "ret_msg": "", "conn_id": "c1", "req_id": "recorded-after-the-ack",
                     "op": "subscribe"}  # Bybit v5's subscribe answer
        stream._socket._on_message(json.dumps(early_ack))  # what pybit's thread does with it
        await wait_for(lambda: len(received) == 1)  # the ticker snapshot
        await ws_server.step()
        await wait_for(lambda: len(received) == 2)  # and the stream goes on
    finally:
        await asyncio.to_thread(stream.close)


async def test_a_subscription_is_recorded_before_it_is_sent(ws_server, monkeypatch):
    """Bybit's ack and first snapshot may come back before pybit's next line runs: both must find their entry."""
    from market import bybit_stream

    seen_at_send: list[tuple[set, set]] = []

    class Recording(bybit_stream._ConfiguredUrlWebSocket):
        def subscribe(self, topic, callback, symbol=""):  # noqa: ANN001, ANN201 - pybit's signature
            # wrapped here, not in _on_open: pybit may report the socket connected (and this subscribe send)
            # before its thread has run the open callback
            send = self.ws.send

            def recording_send(payload, *args, **kwargs):
                request = json.loads(payload)
                if request.get("op") == "subscribe":
                    seen_at_send.append(({request["req_id"]} - set(self.subscriptions),
                                         set(request["args"]) - set(self.callback_directory)))
                return send(payload, *args, **kwargs)

            self.ws.send = recording_send
            try:
                super().subscribe(topic, callback, symbol)
            finally:
                self.ws.send = send

    monkeypatch.setattr(bybit_stream, "_ConfiguredUrlWebSocket", Recording)
    stream = BybitStream(ws_server.url, asyncio.get_running_loop(), lambda message: None)
    await asyncio.to_thread(stream.open, ["orderbook.50.BTCUSDT", "tickers.BTCUSDT"])
    await asyncio.to_thread(stream.close)
    assert seen_at_send == [(set(), set())]  # nothing missing when the request left
