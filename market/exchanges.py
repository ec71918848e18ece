"""ccxt exchanges (async) as this project uses them: strict JSON, linear markets only, any base URL.

ccxt returns the raw text when a body is not valid JSON, and Bybit's parser then reads it as
"no candles"; the classes of :func:`strict_json_class` raise ``ccxt.BadResponse``
instead, so a malformed answer is retried like any other transient failure.
"""

from __future__ import annotations

import json
from functools import cache
from urllib.parse import urlsplit
from typing import TYPE_CHECKING

from engines.errors import InvalidInput

if TYPE_CHECKING:  # importing ccxt loads every exchange (~65 MB): done only when one is built
    import ccxt.async_support as ccxt_async

SUPPORTED = ("bybit", "binanceusdm", "kraken")
PERPETUAL_EXCHANGES = ("bybit", "binanceusdm")  # USDT-settled linear perpetuals
# Bybit's documented IP limit for GET is 50 requests/s sustained (docs/v5/rate-limit); ccxt paces its v5
# market endpoints (cost 5) at 10/s. 8 ms a cost unit paces them at 25/s: half the limit, as Bybit advises.
BYBIT_MS_PER_COST = 8


class _StrictJson:
    _last_status = 200

    def on_rest_response(self, code, reason, url, method, response_headers, response_body, request_headers,
                         request_body):  # noqa: ANN001, PLR0913 - ccxt's signature
        self._last_status = int(code)
        return response_body.strip() if isinstance(response_body, str) else response_body

    def parse_json(self, http_response):  # noqa: ANN001 - ccxt's signature
        if not http_response:
            return None
        try:
            return json.loads(http_response)
        except ValueError as e:
            if self._last_status >= 400:
                return None  # ccxt maps the HTTP status (429, 5xx) to its own error
            import ccxt
            raise ccxt.BadResponse(f"{self.id} answered with malformed JSON: {http_response[:120]!r}") from e


@cache
def strict_json_class(exchange_id: str) -> type[ccxt_async.Exchange]:
    """ccxt's async ``exchange_id`` class whose malformed answers raise ``ccxt.BadResponse``."""
    if exchange_id not in SUPPORTED:
        raise InvalidInput(f"exchange must be one of {', '.join(SUPPORTED)}, got {exchange_id!r}")
    import ccxt.async_support as ccxt_async
    return type(f"StrictJson{exchange_id.title()}", (_StrictJson, getattr(ccxt_async, exchange_id)), {})


def make_exchange(exchange_id: str, rest_url: str | None = None, timeout_ms: int = 10_000,
                  rate_limit: bool = True) -> ccxt_async.Exchange:
    """A ccxt async exchange; with ``rest_url`` every API entry points to that host (local servers in tests).

    Only scheme and host are replaced: Binance's entries carry a path (``/fapi/v1``) that stays.
    """
    config = {"enableRateLimit": rate_limit, "timeout": timeout_ms}
    if exchange_id == "bybit":
        config["rateLimit"] = BYBIT_MS_PER_COST
    exchange = strict_json_class(exchange_id)(config)
    if exchange_id == "bybit":
        exchange.options["fetchMarkets"] = {**exchange.options["fetchMarkets"], "types": ["linear"]}
    if rest_url:
        exchange.urls["api"] = {key: rebase_url(url, rest_url) for key, url in exchange.urls["api"].items()}
    return exchange


def rebase_url(url: str, base: str) -> str:
    """``url`` with the scheme and host of ``base``: (``https://fapi.binance.com/fapi/v1``, ``http://h:1``) ->
    ``http://h:1/fapi/v1``."""
    return base.rstrip("/") + urlsplit(url).path.rstrip("/")


def unified_symbol(exchange_id: str, pair: str) -> str:
    """``SOLUSDT`` -> ``SOL/USDT:USDT`` (Bybit, Binance USDT-M linear perpetual) or ``SOL/USDT`` (Kraken spot)."""
    if not pair.endswith("USDT") or len(pair) <= 4:
        raise InvalidInput(f"pair must be a USDT pair like SOLUSDT, got {pair!r}")
    base = pair[:-4]
    return f"{base}/USDT:USDT" if exchange_id in PERPETUAL_EXCHANGES else f"{base}/USDT"
