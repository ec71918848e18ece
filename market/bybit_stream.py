"""One pybit v5 public (linear) WebSocket connection whose messages are handed to the event loop.

pybit builds its URL from a template; :class:`_ConfiguredUrlWebSocket` overrides ``_connect`` so
the connection goes to a configured URL (``BYBIT_WS_URL``; tests use a local server; the path must
stay ``/v5/public/linear``). pybit's own reconnect is switched off: the feed detects drops and
silence itself, opens a fresh :class:`BybitStream` and backfills over REST. pybit calls back on
its own thread; every message is copied there (pybit keeps editing its merged book and ticker
dicts) and passed to the loop with ``loop.call_soon_threadsafe``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import Callable, Sequence
from uuid import uuid4

from pybit.unified_trading import WebSocket

from engines.errors import MarketError
from market.bybit_messages import detached

logger = logging.getLogger(__name__)
DEFAULT_WS_URL = "wss://stream.bybit.com/v5/public/linear"
TOPICS_PER_REQUEST = 10


class StreamAbandoned(MarketError):
    """The connection was given up while pybit was still waiting on it."""


class _ConfiguredUrlWebSocket(WebSocket):
    """pybit's public WebSocket, connecting to ``url`` instead of pybit's built-in host."""

    _abandoned = False

    def __init__(self, url: str, **kwargs) -> None:
        self._configured_url = url
        super().__init__(channel_type="linear", **kwargs)

    def _connect(self, url: str) -> None:
        super()._connect(self._configured_url)

    def is_connected(self) -> bool:
        if self._abandoned:  # frees a thread stuck in pybit's "wait until connected" loop
            raise StreamAbandoned(f"WebSocket {self._configured_url} was closed")
        return super().is_connected()

    def abandon(self) -> None:
        self._abandoned = True
        self.exit()

    def subscribe(self, topic: str, callback: Callable[[dict], None], symbol: str | list[str] = "") -> None:
        """pybit's ``subscribe`` with its bookkeeping done before the request leaves, not after.

        pybit records the request id and the topics' callbacks only after sending: an answer that is
        faster (a nearby server, a loaded client) finds neither, and pybit's KeyError on its thread
        drops the connection. Here both are in place first, and taken back if the send fails.
        """
        topics = [topic.format(symbol=s) for s in ([symbol] if isinstance(symbol, str) else symbol)]
        self._check_callback_directory(topics)
        request_id = str(uuid4())
        request = json.dumps({"op": "subscribe", "req_id": request_id, "args": topics})
        while not self.is_connected():  # as pybit: wait for the connection (is_connected raises once abandoned)
            time.sleep(0.1)
        self.subscriptions[request_id] = request
        for name in topics:
            self._set_callback(name, callback)
        try:
            self.ws.send(request)
        except Exception:
            self.subscriptions.pop(request_id, None)
            for name in topics:
                self.callback_directory.pop(name, None)
            raise

    def _process_subscription_message(self, message: dict) -> None:
        # an ack whose request this connection does not know (pybit would raise KeyError and drop it)
        if message.get("req_id") and message["req_id"] not in self.subscriptions:
            if message.get("success") is False:
                logger.error("Bybit refused a subscription: %s", message.get("ret_msg"))
            return
        super()._process_subscription_message(message)


class BybitStream:
    """A blocking facade over one pybit connection; call :meth:`open` and :meth:`close` in a thread."""

    def __init__(self, url: str, loop: asyncio.AbstractEventLoop, on_message: Callable[[dict], None], *,
                 ping_interval: float = 20, ping_timeout: float | None = None, connect_attempts: int = 3,
                 open_timeout: float = 10.0) -> None:
        self.url = url
        self._loop = loop
        self._on_message = on_message
        # websocket-client insists on ping_timeout < ping_interval
        timeout = ping_timeout if ping_timeout is not None else min(10.0, ping_interval / 2)
        self._options = {"ping_interval": ping_interval, "ping_timeout": timeout,
                         "retries": connect_attempts, "restart_on_error": False, "testnet": False}
        self._socket: _ConfiguredUrlWebSocket | None = None
        self.open_timeout = open_timeout

    def open(self, topics: Sequence[str]) -> None:
        """Connect and subscribe to ``topics`` (blocking). Raises MarketError if it cannot."""
        try:
            socket = self._socket = _ConfiguredUrlWebSocket(self.url, **self._options)
        except Exception as e:  # pybit/websocket-client raise plain exceptions on connect failures
            raise MarketError(f"cannot open Bybit stream {self.url}: {type(e).__name__}: {e}") from e
        # pybit's subscribe waits forever for a connection that dropped meanwhile: give up in time
        deadline = threading.Timer(self.open_timeout, socket.abandon)
        deadline.daemon = True
        deadline.start()
        try:
            for start in range(0, len(topics), TOPICS_PER_REQUEST):
                if not socket.is_connected():
                    raise MarketError(f"Bybit stream {self.url} dropped while subscribing")
                socket.subscribe("{symbol}", self._deliver, symbol=list(topics[start:start + TOPICS_PER_REQUEST]))
        except MarketError:
            raise
        except Exception as e:  # websocket-client raises plain exceptions when a send hits a closed socket
            raise MarketError(f"cannot subscribe on Bybit stream {self.url}: {type(e).__name__}: {e}") from e
        finally:
            deadline.cancel()

    def is_connected(self) -> bool:
        socket = self._socket
        try:
            return socket is not None and socket.is_connected()
        except StreamAbandoned:
            return False

    def close(self) -> None:
        """Close the connection (blocking); safe to call twice."""
        socket, self._socket = self._socket, None
        if socket is not None:
            try:
                socket.abandon()
            except Exception as e:  # closing a broken socket may fail; it is gone either way
                logger.debug("closing Bybit stream: %s", e)

    def _deliver(self, message: dict) -> None:
        """On pybit's thread: hand a copy of ``message`` to the loop (pybit keeps changing the original)."""
        try:
            self._loop.call_soon_threadsafe(self._on_message, detached(message))
        except RuntimeError:  # the loop is closed: the feed has stopped
            pass
