"""A local WebSocket server speaking Bybit v5 public (linear), replaying real candles.

Client -> server: ``{"op":"subscribe","req_id":...,"args":[topics]}`` and ``{"op":"ping"}``.
Server -> client: subscribe ack echoing ``req_id``; pong; ``kline.<1|15|60>.<SYMBOL>`` (numbers as
strings; the open candle with ``confirm: false``, then the closed one with ``confirm: true``);
``tickers.<SYMBOL>`` (snapshot, then deltas); ``orderbook.50.<SYMBOL>`` (snapshot on subscribe,
then deltas; size "0" deletes a level). Prices and volumes are the real candles of a
:class:`RecordedMarket`; the order book (no history of it exists) is built around the last close,
bid-heavy after an up candle and ask-heavy after a down candle.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from dataclasses import dataclass, field

import pandas as pd
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from tests.market.recorded_market import MINUTES, RecordedMarket, price_text

PATH = "/v5/public/linear"
BOOK_LEVELS = 50


@dataclass
class Client:
    connection: ServerConnection
    conn_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    topics: set[str] = field(default_factory=set)


class BybitWsServer:
    """Start with ``await server.start()``; push a minute with ``await server.step()``."""

    def __init__(self, market: RecordedMarket) -> None:
        self.market = market
        self.clients: list[Client] = []
        self.silent = False
        self.hang_up_on_subscribe = False
        self.connections_made = 0
        self.url = ""
        self._server = None
        self._books: dict[str, dict[str, dict[str, str]]] = {}
        self._sequence = 0
        self._closing: set[asyncio.Task] = set()
        self.messages_sent = 0
        self.pings = 0
        self.confirm_sent_at: dict[tuple[str, str, int], float] = {}  # (pair, interval, start ms) -> perf_counter
        # pair -> (fundingRate text, nextFundingTime): Bybit's moving prediction, set by a test; default 0.0001 at 8h
        self.funding: dict[str, tuple[str, pd.Timestamp]] = {}

    async def start(self) -> None:
        self._server = await serve(self._handle, "127.0.0.1", 0, ping_interval=None, close_timeout=0.2)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"ws://127.0.0.1:{port}{PATH}"
        for pair in self.market.pairs:
            self._books[pair] = self._book_around(pair)

    async def stop(self) -> None:
        self._server.close()
        await self._server.wait_closed()

    # -- connections -------------------------------------------------------------------------
    async def _handle(self, connection: ServerConnection) -> None:
        if connection.request.path != PATH:
            await connection.close(code=1008, reason="unknown path")
            return
        client = Client(connection)
        self.clients.append(client)
        self.connections_made += 1
        try:
            async for raw in connection:
                await self._on_request(client, json.loads(raw))
        except ConnectionClosed:
            pass
        finally:
            if client in self.clients:
                self.clients.remove(client)

    async def _on_request(self, client: Client, request: dict) -> None:
        if request.get("op") == "ping":
            self.pings += 1
            await client.connection.send(json.dumps({"success": True, "ret_msg": "pong", "conn_id": client.conn_id,
                                                     "req_id": request.get("req_id", ""), "op": "ping"}))
        elif request.get("op") == "subscribe" and self.hang_up_on_subscribe:
            client.connection.transport.abort()
        elif request.get("op") == "subscribe":
            await client.connection.send(json.dumps({"success": True, "ret_msg": "", "conn_id": client.conn_id,
                                                     "req_id": request.get("req_id", ""), "op": "subscribe"}))
            for topic in request["args"]:
                client.topics.add(topic)
                await self._send_snapshot(client, topic)

    async def _send_snapshot(self, client: Client, topic: str) -> None:
        pair = topic.rsplit(".", 1)[-1]
        if topic.startswith("orderbook."):
            book = self._books[pair]
            data = {"s": pair, "b": [[p, s] for p, s in book["b"].items()], "a": [[p, s] for p, s in book["a"].items()],
                    "u": self._sequence, "seq": self._sequence}
            await self._send(client, {"topic": topic, "type": "snapshot", "ts": self._ms(), "data": data,
                                      "cts": self._ms()})
        elif topic.startswith("tickers."):
            await self._send(client, {"topic": topic, "type": "snapshot", "cs": self._sequence, "ts": self._ms(),
                                      "data": self._ticker(pair)})

    def subscribed_clients(self, topics: int) -> int:
        """How many connections have subscribed to at least ``topics`` topics."""
        return sum(len(client.topics) >= topics for client in self.clients)

    def drop_all(self, abort: bool = False) -> int:
        """Drop every connection: a close frame (not waiting for the answer), or (``abort``) a reset."""
        clients = list(self.clients)
        for client in clients:
            self.clients.remove(client)
            if abort:
                client.connection.transport.abort()
            else:
                task = asyncio.create_task(client.connection.close(code=1001, reason="going away"))
                self._closing.add(task)
                task.add_done_callback(self._closing.discard)
        return len(clients)

    # -- market data ---------------------------------------------------------------------------
    async def step(self, minutes: int = 1) -> None:
        """Advance the market clock minute by minute and push what a real stream would."""
        for _ in range(minutes):
            self.market.advance(1)
            self._sequence += 1
            if not self.silent:
                for client in list(self.clients):
                    await self._push_minute(client)

    async def _push_minute(self, client: Client) -> None:
        # closed 15m/1h candles go out before the 1m one that completes them (the feed must reorder)
        for interval in ("60", "15", "1"):
            for pair in self.market.pairs:
                if f"kline.{interval}.{pair}" in client.topics:
                    await self._push_kline(client, pair, interval)
        for pair in self.market.pairs:
            if f"tickers.{pair}" in client.topics:
                await self._send(client, {"topic": f"tickers.{pair}", "type": "delta", "cs": self._sequence,
                                          "ts": self._ms(), "data": self._ticker(pair)})
            if f"orderbook.50.{pair}" in client.topics:
                await self._send(client, {"topic": f"orderbook.50.{pair}", "type": "delta", "ts": self._ms(),
                                          "data": self._book_delta(pair), "cts": self._ms()})

    async def _push_kline(self, client: Client, pair: str, interval: str) -> None:
        timeframe = {"1": "1m", "15": "15m", "60": "1h"}[interval]
        topic = f"kline.{interval}.{pair}"
        closed = self.market.just_closed(pair, timeframe)
        if closed is not None:
            kline = self._kline(closed, interval, confirm=True)
            self.confirm_sent_at[(pair, interval, kline["start"])] = time.perf_counter()
            await self._send(client, {"topic": topic, "type": "snapshot", "ts": self._ms(), "data": [kline]})
        step = pd.Timedelta(minutes=MINUTES[timeframe])
        opened = self.market.now.floor(step)
        frame = self.market.frames[(pair, timeframe)]
        if opened in frame.index:
            await self._send(client, {"topic": topic, "type": "snapshot", "ts": self._ms(),
                                      "data": [self._kline(frame.loc[opened], interval, confirm=False)]})

    def _kline(self, row: pd.Series, interval: str, confirm: bool) -> dict:
        start = int(row.name.value // 1_000_000)
        return {"start": start, "end": start + int(interval) * 60_000 - 1, "interval": interval,
                "open": repr(float(row["open"])), "close": repr(float(row["close"])),
                "high": repr(float(row["high"])), "low": repr(float(row["low"])),
                "volume": repr(float(row["volume"])), "turnover": repr(float(row["volume"] * row["close"])),
                "confirm": confirm, "timestamp": self._ms()}

    def _ticker(self, pair: str) -> dict:
        tick = self.market.ticks[pair]
        rate, next_funding = self.funding.get(pair, ("0.0001", self.market.now.floor("8h") + pd.Timedelta(hours=8)))
        return {"symbol": pair, "lastPrice": price_text(self.market.last_price(pair), tick),
                "turnover24h": f"{self.market.turnover_24h(pair):.4f}", "fundingRate": rate,
                "nextFundingTime": str(int(next_funding.value // 1_000_000))}

    def _book_around(self, pair: str) -> dict[str, dict[str, str]]:
        tick, close = self.market.ticks[pair], self.market.last_price(pair)
        bids = {price_text(close - tick * (k + 1), tick): "1.0" for k in range(BOOK_LEVELS)}
        asks = {price_text(close + tick * (k + 1), tick): "1.0" for k in range(BOOK_LEVELS)}
        return {"b": bids, "a": asks}

    def _book_delta(self, pair: str) -> dict:
        """Resize the best 10 levels: bids heavier after an up minute, asks after a down minute."""
        candle = self.market.just_closed(pair, "1m")
        up = candle is not None and candle["close"] >= candle["open"]
        book = self._books[pair]
        changes: dict[str, list[list[str]]] = {"b": [], "a": []}
        for side, heavy in (("b", up), ("a", not up)):
            best = sorted(book[side], key=float, reverse=side == "b")[:10]
            for price in best:
                size = "3.0" if heavy else "1.0"
                book[side][price] = size
                changes[side].append([price, size])
        return {"s": pair, "b": changes["b"], "a": changes["a"], "u": self._sequence, "seq": self._sequence}

    async def _send(self, client: Client, message: dict) -> None:
        try:
            await client.connection.send(json.dumps(message))
            self.messages_sent += 1
        except ConnectionClosed:
            pass

    def _ms(self) -> int:
        return int(self.market.now.value // 1_000_000)
