"""A local HTTP server answering ccxt's Bybit v5, Binance USDT-M and Kraken public REST calls with real data.

Bybit (bybit-exchange/docs, v5/market): ``/v5/market/instruments-info``, ``/v5/market/kline`` (limit
1..1000, rows newest first), ``/v5/market/tickers``, ``/v5/market/funding/history`` (limit 1..200,
newest first; ``startTime`` without ``endTime`` is an error); envelope
``{"retCode":0,"retMsg":"OK","result":{...},"retExtInfo":{},"time":ms}``, numbers as strings.
Binance USDT-M (developers.binance.com, derivatives/usds-margined-futures/market-data/rest-api):
``/fapi/v1/exchangeInfo``, ``/fapi/v1/klines`` (limit default 500, max 1500, rows oldest first,
12 fields), ``/fapi/v1/fundingRate`` (limit default 100, max 1000, ascending from ``startTime``),
``/fapi/v1/ticker/24hr``; errors ``{"code":-1130,"msg":...}``.
Kraken: ``/0/public/Assets``, ``/0/public/AssetPairs``, ``/0/public/OHLC`` (``{"error":[],"result":{...}}``).
Faults are queued with :meth:`ExchangeHttpServer.inject`; every request path is kept in ``requests``.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections import deque
from dataclasses import dataclass

import numpy as np
import pandas as pd
from aiohttp import web

from tests.market.recorded_market import INTERVALS, MINUTES, RecordedMarket, price_text

KRAKEN_BASE = {"BTC": "XXBT", "ETH": "XETH"}
KRAKEN_INTERVALS = {1: "1m", 15: "15m", 60: "1h"}
FAULTS = ("429", "500", "timeout", "malformed")
LISTED_MS = 1585526400000  # launch / onboard time served for every instrument (2020-03-30)
BYBIT_MAX_KLINES, BYBIT_MAX_FUNDING = 1000, 200
BINANCE_MAX_KLINES, BINANCE_MAX_FUNDING = 1500, 1000


@dataclass
class Fault:
    kind: str
    path: str  # the fault hits the next request whose path (with its query) contains this


class ExchangeHttpServer:
    """Serves a :class:`RecordedMarket`; start with ``await server.start()``, then use ``server.url``."""

    def __init__(self, market: RecordedMarket, timeout_seconds: float = 2.0) -> None:
        self.market = market
        self.timeout_seconds = timeout_seconds
        self.faults: deque[Fault] = deque()
        self.requests: list[str] = []
        self.request_times: list[float] = []  # time.monotonic() of each request, for pacing checks
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/v5/market/instruments-info", self._bybit_instruments)
        app.router.add_get("/v5/market/kline", self._bybit_kline)
        app.router.add_get("/v5/market/tickers", self._bybit_tickers)
        app.router.add_get("/v5/market/funding/history", self._bybit_funding)
        app.router.add_get("/fapi/v1/exchangeInfo", self._binance_exchange_info)
        app.router.add_get("/fapi/v1/klines", self._binance_klines)
        app.router.add_get("/fapi/v1/fundingRate", self._binance_funding)
        app.router.add_get("/fapi/v1/ticker/24hr", self._binance_tickers)
        app.router.add_get("/0/public/Assets", self._kraken_assets)
        app.router.add_get("/0/public/AssetPairs", self._kraken_pairs)
        app.router.add_get("/0/public/OHLC", self._kraken_ohlc)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def inject(self, kind: str, path: str = "/", times: int = 1) -> None:
        assert kind in FAULTS, kind
        self.faults.extend(Fault(kind, path) for _ in range(times))

    async def _fault(self, request: web.Request) -> web.Response | None:
        self.requests.append(request.path_qs)
        self.request_times.append(time.monotonic())
        for fault in list(self.faults):
            if fault.path in request.path_qs:
                self.faults.remove(fault)
                return await self._answer_fault(fault.kind, request.path)
        return None

    async def _answer_fault(self, kind: str, path: str = "") -> web.Response:
        if kind == "429" and path.startswith("/fapi"):
            return web.json_response({"code": -1003, "msg": "Too many requests; current limit of IP is 2400 "
                                      "requests per minute."}, status=429)
        if kind == "429":
            body = {"retCode": 10006, "retMsg": "Too many visits!", "result": {}, "retExtInfo": {},
                    "time": self._ms(self.market.now)}
            return web.json_response(body, status=429)
        if kind == "500":
            return web.Response(status=500, text="<html><body>502 Bad Gateway</body></html>",
                                content_type="text/html")
        if kind == "timeout":
            await asyncio.sleep(self.timeout_seconds)
        return web.Response(status=200, text='{"retCode":0,"retMsg":"OK","result":{"list":[["17',
                            content_type="application/json")

    # -- Bybit v5 ------------------------------------------------------------------------------
    def _bybit(self, result: dict) -> web.Response:
        body = {"retCode": 0, "retMsg": "OK", "result": result, "retExtInfo": {}, "time": self._ms(self.market.now)}
        return web.json_response(body)

    async def _bybit_instruments(self, request: web.Request) -> web.Response:
        if (fault := await self._fault(request)) is not None:
            return fault
        items = [] if request.query.get("status") == "PreLaunch" or request.query.get("category") != "linear" \
            else [self._instrument(pair) for pair in self.market.pairs]
        return self._bybit({"category": request.query.get("category"), "list": items, "nextPageCursor": ""})

    def _instrument(self, pair: str) -> dict:
        tick = self.market.ticks[pair]
        return {
            "symbol": pair, "contractType": "LinearPerpetual", "status": "Trading",
            "baseCoin": pair[:-4], "quoteCoin": "USDT", "launchTime": "1585526400000", "deliveryTime": "0",
            "deliveryFeeRate": "", "priceScale": str(max(0, round(-math.log10(tick)))),
            "leverageFilter": {"minLeverage": "1", "maxLeverage": "100.00", "leverageStep": "0.01"},
            "priceFilter": {"minPrice": price_text(tick, tick), "maxPrice": "1999999.80", "tickSize": price_text(tick, tick)},
            "lotSizeFilter": {"maxOrderQty": "1190.000", "minOrderQty": "0.001", "qtyStep": "0.001",
                              "postOnlyMaxOrderQty": "1190.000", "maxMktOrderQty": "500.000", "minNotionalValue": "5"},
            "unifiedMarginTrade": True, "fundingInterval": 480, "settleCoin": "USDT", "copyTrading": "both",
            "upperFundingRate": "0.00375", "lowerFundingRate": "-0.00375", "isPreListing": False,
            "preListingInfo": None, "riskParameters": {"priceLimitRatioX": "0.01", "priceLimitRatioY": "0.02"},
        }

    async def _bybit_kline(self, request: web.Request) -> web.Response:
        if (fault := await self._fault(request)) is not None:
            return fault
        pair, timeframe = request.query["symbol"], INTERVALS[request.query["interval"]]
        limit = int(request.query.get("limit", 200))
        if not 1 <= limit <= BYBIT_MAX_KLINES:
            return self._bybit_error(10001, f"limit must be 1..{BYBIT_MAX_KLINES}")
        end = self._stamp(request.query["end"]) if "end" in request.query else self.market.now
        start = self._stamp(request.query["start"]) if "start" in request.query else \
            end - pd.Timedelta(minutes=MINUTES[timeframe] * limit)
        frame = self.market.candles(pair, timeframe, start, end).iloc[::-1].iloc[:limit]
        stamps, values = self._columns(frame)
        rows = [[str(ts), repr(o), repr(h), repr(lo), repr(c), repr(v), repr(v * c)]
                for ts, o, h, lo, c, v in zip(stamps, *values)]
        return self._bybit({"symbol": pair, "category": "linear", "list": rows})

    async def _bybit_funding(self, request: web.Request) -> web.Response:
        if (fault := await self._fault(request)) is not None:
            return fault
        query = request.query
        limit = int(query.get("limit", BYBIT_MAX_FUNDING))
        if query.get("category") != "linear" or "symbol" not in query or not 1 <= limit <= BYBIT_MAX_FUNDING:
            return self._bybit_error(10001, "params error")
        if "startTime" in query and "endTime" not in query:
            return self._bybit_error(10001, "params error: endTime is required with startTime")
        end = self._stamp(query["endTime"]) if "endTime" in query else self.market.now
        start = self._stamp(query["startTime"]) if "startTime" in query else pd.Timestamp(0, tz="UTC")
        events = self.market.funding_events(query["symbol"], start, end).iloc[::-1].iloc[:limit]
        rows = [{"symbol": query["symbol"], "fundingRate": f"{rate:.8f}".rstrip("0").rstrip("."),
                 "fundingRateTimestamp": str(self._ms(ts))}
                for ts, rate in zip(events["timestamp"], events["funding_rate"])]
        return self._bybit({"category": "linear", "list": rows})

    def _bybit_error(self, code: int, message: str) -> web.Response:
        return web.json_response({"retCode": code, "retMsg": message, "result": {}, "retExtInfo": {},
                                  "time": self._ms(self.market.now)})

    @staticmethod
    def _columns(frame: pd.DataFrame) -> tuple[list[int], list[list[float]]]:
        stamps = (frame.index.as_unit("ms").asi8 if len(frame) else np.array([], dtype=np.int64)).tolist()
        return stamps, [frame[c].tolist() for c in ("open", "high", "low", "close", "volume")]

    async def _bybit_tickers(self, request: web.Request) -> web.Response:
        if (fault := await self._fault(request)) is not None:
            return fault
        rows = [self._ticker(pair) for pair in self.market.pairs]
        return self._bybit({"category": "linear", "list": rows})

    def _ticker(self, pair: str) -> dict:
        tick = self.market.ticks[pair]
        price = price_text(self.market.last_price(pair), tick)
        next_funding = self.market.now.floor("8h") + pd.Timedelta(hours=8)
        return {"symbol": pair, "lastPrice": price, "indexPrice": price, "markPrice": price,
                "prevPrice24h": price, "price24hPcnt": "0", "highPrice24h": price, "lowPrice24h": price,
                "prevPrice1h": price, "openInterest": "0", "openInterestValue": "0",
                "turnover24h": f"{self.market.turnover_24h(pair):.4f}", "volume24h": "0",
                "fundingRate": "0.0001", "nextFundingTime": str(self._ms(next_funding)),
                "predictedDeliveryPrice": "", "basisRate": "", "deliveryFeeRate": "", "deliveryTime": "0",
                "ask1Size": "1", "bid1Price": price, "ask1Price": price, "bid1Size": "1", "basis": ""}

    # -- Binance USDT-M ------------------------------------------------------------------------
    async def _binance_exchange_info(self, request: web.Request) -> web.Response:
        if (fault := await self._fault(request)) is not None:
            return fault
        return web.json_response({
            "timezone": "UTC", "serverTime": self._ms(self.market.now), "futuresType": "U_MARGINED",
            "rateLimits": [{"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 2400},
                           {"rateLimitType": "ORDERS", "interval": "MINUTE", "intervalNum": 1, "limit": 1200}],
            "exchangeFilters": [],
            "assets": [{"asset": "USDT", "marginAvailable": True, "autoAssetExchange": "-10000"}],
            "symbols": [self._binance_symbol(pair) for pair in self.market.pairs]})

    def _binance_symbol(self, pair: str) -> dict:
        tick = price_text(self.market.ticks[pair], self.market.ticks[pair])
        decimals = max(0, round(-math.log10(self.market.ticks[pair])))
        return {
            "symbol": pair, "pair": pair, "contractType": "PERPETUAL", "deliveryDate": 4133404800000,
            "onboardDate": LISTED_MS, "status": "TRADING", "maintMarginPercent": "2.5000",
            "requiredMarginPercent": "5.0000", "baseAsset": pair[:-4], "quoteAsset": "USDT", "marginAsset": "USDT",
            "pricePrecision": decimals, "quantityPrecision": 3, "baseAssetPrecision": 8, "quotePrecision": 8,
            "underlyingType": "COIN", "underlyingSubType": [], "settlePlan": 0, "triggerProtect": "0.0500",
            "liquidationFee": "0.012500", "marketTakeBound": "0.05", "maxMoveOrderLimit": 10000,
            "filters": [
                {"filterType": "PRICE_FILTER", "minPrice": tick, "maxPrice": "4529764", "tickSize": tick},
                {"filterType": "LOT_SIZE", "stepSize": "0.001", "maxQty": "1000", "minQty": "0.001"},
                {"filterType": "MARKET_LOT_SIZE", "stepSize": "0.001", "maxQty": "120", "minQty": "0.001"},
                {"filterType": "MAX_NUM_ORDERS", "limit": 200}, {"filterType": "MAX_NUM_ALGO_ORDERS", "limit": 10},
                {"filterType": "MIN_NOTIONAL", "notional": "5"},
                {"filterType": "PERCENT_PRICE", "multiplierUp": "1.0500", "multiplierDown": "0.9500",
                 "multiplierDecimal": "4"}],
            "orderTypes": ["LIMIT", "MARKET", "STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET",
                           "TRAILING_STOP_MARKET"],
            "timeInForce": ["GTC", "IOC", "FOK", "GTX", "GTD"], "permissionSets": ["GRID", "COPY"]}

    def _binance_error(self, code: int, message: str, status: int = 400) -> web.Response:
        return web.json_response({"code": code, "msg": message}, status=status)

    def _binance_window(self, query, limit: int, step: pd.Timedelta) -> tuple[pd.Timestamp, pd.Timestamp]:
        if "startTime" in query:
            start = self._stamp(query["startTime"])
            end = self._stamp(query["endTime"]) if "endTime" in query else start + step * (limit - 1)
        else:
            end = self._stamp(query["endTime"]) if "endTime" in query else self.market.now
            start = end - step * (limit - 1)
        return start, end

    async def _binance_klines(self, request: web.Request) -> web.Response:
        if (fault := await self._fault(request)) is not None:
            return fault
        query = request.query
        pair, timeframe = query.get("symbol"), query.get("interval")
        if pair not in self.market.pairs:
            return self._binance_error(-1121, "Invalid symbol.")
        limit = int(query.get("limit", 500))
        if timeframe not in MINUTES or not 1 <= limit <= BINANCE_MAX_KLINES:
            return self._binance_error(-1130, "Data sent for parameter 'limit' is not valid.")
        step = pd.Timedelta(minutes=MINUTES[timeframe])
        start, end = self._binance_window(query, limit, step)
        frame = self.market.candles(pair, timeframe, start, end)
        frame = frame.iloc[:limit] if "startTime" in query else frame.iloc[-limit:]
        stamps, values = self._columns(frame)
        step_ms = int(step / pd.Timedelta(milliseconds=1))
        rows = [[ts, repr(o), repr(h), repr(lo), repr(c), repr(v), ts + step_ms - 1, repr(v * c), 0, "0", "0", "0"]
                for ts, o, h, lo, c, v in zip(stamps, *values)]
        return web.json_response(rows)

    async def _binance_funding(self, request: web.Request) -> web.Response:
        if (fault := await self._fault(request)) is not None:
            return fault
        query = request.query
        pair = query.get("symbol")
        limit = int(query.get("limit", 100))
        if pair not in self.market.pairs:
            return self._binance_error(-1121, "Invalid symbol.")
        if not 1 <= limit <= BINANCE_MAX_FUNDING:
            return self._binance_error(-1130, "Data sent for parameter 'limit' is not valid.")
        start = self._stamp(query["startTime"]) if "startTime" in query else pd.Timestamp(0, tz="UTC")
        end = self._stamp(query["endTime"]) if "endTime" in query else self.market.now
        events = self.market.funding_events(pair, start, end)
        events = events.iloc[:limit] if "startTime" in query else events.iloc[-200:]
        return web.json_response([
            {"symbol": pair, "fundingTime": self._ms(ts), "fundingRate": f"{rate:.8f}",
             "markPrice": f"{self.market.price_at(pair, ts):.8f}"}
            for ts, rate in zip(events["timestamp"], events["funding_rate"])])

    async def _binance_tickers(self, request: web.Request) -> web.Response:
        if (fault := await self._fault(request)) is not None:
            return fault
        open_ms, close_ms = self._ms(self.market.now - pd.Timedelta(hours=24)), self._ms(self.market.now)
        rows = []
        for pair in self.market.pairs:
            price = price_text(self.market.last_price(pair), self.market.ticks[pair])
            rows.append({"symbol": pair, "priceChange": "0", "priceChangePercent": "0.000", "weightedAvgPrice": price,
                         "lastPrice": price, "lastQty": "0", "openPrice": price, "highPrice": price,
                         "lowPrice": price, "volume": "0", "quoteVolume": f"{self.market.turnover_24h(pair):.4f}",
                         "openTime": open_ms, "closeTime": close_ms, "firstId": 0, "lastId": 0, "count": 0})
        return web.json_response(rows)

    # -- Kraken --------------------------------------------------------------------------------
    def _kraken_id(self, pair: str) -> str:
        return ("XBT" if pair.startswith("BTC") else pair[:-4]) + "USDT"

    async def _kraken_assets(self, request: web.Request) -> web.Response:
        if (fault := await self._fault(request)) is not None:
            return fault
        assets = {"USDT": {"aclass": "currency", "altname": "USDT", "decimals": 8, "display_decimals": 4,
                           "collateral_value": 1, "status": "enabled"}}
        for pair in self.market.pairs:
            base = pair[:-4]
            code = KRAKEN_BASE.get(base, base)
            assets[code] = {"aclass": "currency", "altname": "XBT" if base == "BTC" else base, "decimals": 10,
                            "display_decimals": 5, "status": "enabled"}
        return web.json_response({"error": [], "result": assets})

    async def _kraken_pairs(self, request: web.Request) -> web.Response:
        if (fault := await self._fault(request)) is not None:
            return fault
        result = {}
        for pair in self.market.pairs:
            base = pair[:-4]
            decimals = max(0, round(-math.log10(self.market.ticks[pair])))
            result[self._kraken_id(pair)] = {
                "altname": self._kraken_id(pair), "wsname": f"{'XBT' if base == 'BTC' else base}/USDT",
                "aclass_base": "currency", "base": KRAKEN_BASE.get(base, base), "aclass_quote": "currency",
                "quote": "USDT", "lot": "unit", "cost_decimals": 5, "pair_decimals": decimals, "lot_decimals": 8,
                "lot_multiplier": 1, "leverage_buy": [], "leverage_sell": [], "fees": [[0, 0.4]],
                "fees_maker": [[0, 0.25]], "fee_volume_currency": "ZUSD", "margin_call": 80, "margin_stop": 40,
                "ordermin": "0.0001", "costmin": "0.5", "tick_size": price_text(self.market.ticks[pair], self.market.ticks[pair]),
                "status": "online"}
        return web.json_response({"error": [], "result": result})

    async def _kraken_ohlc(self, request: web.Request) -> web.Response:
        if (fault := await self._fault(request)) is not None:
            return fault
        kraken_id = request.query["pair"]
        pair = next(p for p in self.market.pairs if self._kraken_id(p) == kraken_id)
        timeframe = KRAKEN_INTERVALS[int(request.query.get("interval", 1))]
        since = pd.Timestamp(int(request.query.get("since", 0)), unit="s", tz="UTC")
        frame = self.market.candles(pair, timeframe, since + pd.Timedelta(seconds=1), self.market.now).iloc[-720:]
        rows = [[int(ts.value // 1_000_000_000), *(repr(float(row[c])) for c in ("open", "high", "low", "close")),
                 repr(float(row["close"])), repr(float(row["volume"])), 1] for ts, row in frame.iterrows()]
        last = rows[-1][0] if rows else int(since.value // 1_000_000_000)
        return web.json_response({"error": [], "result": {kraken_id: rows, "last": last}})

    @staticmethod
    def _ms(stamp: pd.Timestamp) -> int:
        return int(stamp.value // 1_000_000)

    @staticmethod
    def _stamp(ms: str) -> pd.Timestamp:
        return pd.Timestamp(int(ms), unit="ms", tz="UTC")


class ServerThread:
    """An :class:`ExchangeHttpServer` on its own event loop in a thread, for code that runs ``asyncio.run``
    itself (the command line, the bot's backtest worker): ``with ServerThread(market) as server: server.url``."""

    def __init__(self, market: RecordedMarket, **options: float) -> None:
        self.server = ExchangeHttpServer(market, **options)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="exchange-http", daemon=True)

    def __enter__(self) -> ExchangeHttpServer:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.server.start(), self._loop).result(10)
        return self.server

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.server.stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()
