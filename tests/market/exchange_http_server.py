"""A local HTTP server answering ccxt's Bybit v5 and Kraken public REST calls with real candles.

Bybit: ``/v5/market/instruments-info``, ``/v5/market/kline``, ``/v5/market/tickers`` (envelope
``{"retCode":0,"retMsg":"OK","result":{...},"retExtInfo":{},"time":ms}``, numbers as strings, klines
newest first). Kraken: ``/0/public/Assets``, ``/0/public/AssetPairs``, ``/0/public/OHLC``
(``{"error":[],"result":{...}}``). Faults are queued with :meth:`ExchangeHttpServer.inject`.
"""

from __future__ import annotations

import asyncio
import math
from collections import deque
from dataclasses import dataclass

import pandas as pd
from aiohttp import web

from tests.market.recorded_market import INTERVALS, MINUTES, RecordedMarket, price_text

KRAKEN_BASE = {"BTC": "XXBT", "ETH": "XETH"}
KRAKEN_INTERVALS = {1: "1m", 15: "15m", 60: "1h"}
FAULTS = ("429", "500", "timeout", "malformed")


@dataclass
class Fault:
    kind: str
    path: str  # the fault hits the next request whose path contains this


class ExchangeHttpServer:
    """Serves a :class:`RecordedMarket`; start with ``await server.start()``, then use ``server.url``."""

    def __init__(self, market: RecordedMarket, timeout_seconds: float = 2.0) -> None:
        self.market = market
        self.timeout_seconds = timeout_seconds
        self.faults: deque[Fault] = deque()
        self.requests: list[str] = []
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/v5/market/instruments-info", self._bybit_instruments)
        app.router.add_get("/v5/market/kline", self._bybit_kline)
        app.router.add_get("/v5/market/tickers", self._bybit_tickers)
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
        for fault in list(self.faults):
            if fault.path in request.path:
                self.faults.remove(fault)
                return await self._answer_fault(fault.kind)
        return None

    async def _answer_fault(self, kind: str) -> web.Response:
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
        end = self._stamp(request.query["end"]) if "end" in request.query else self.market.now
        start = self._stamp(request.query["start"]) if "start" in request.query else \
            end - pd.Timedelta(minutes=MINUTES[timeframe] * limit)
        frame = self.market.candles(pair, timeframe, start, end).iloc[::-1].iloc[:limit]
        rows = [[str(self._ms(ts)), *(repr(float(row[c])) for c in ("open", "high", "low", "close")),
                 repr(float(row["volume"])), repr(float(row["volume"] * row["close"]))] for ts, row in frame.iterrows()]
        return self._bybit({"symbol": pair, "category": "linear", "list": rows})

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
