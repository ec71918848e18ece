"""Background work driven by the market feed, scheduled on PTB's JobQueue.

- Every closed 15m candle schedules a MICRO-SCALP job for its pair, every closed 1h candle a
  MACRO job. The job evaluates the engine on the candles up to *that* candle (the feed may have
  moved on meanwhile), in a worker thread; a new signal is admitted by the shared risk rules and
  broadcast with its "explain" chart.
- Decision jobs of one candle close run concurrently, but a later 1m candle is not processed
  before they finish (market order is kept however fast a replay runs).
- Every closed 1m candle of a pair with open positions runs the position monitor: entries fill,
  TP/SL/time stops resolve on 1m candles, funding announced by the feed is charged once its
  settlement time has passed (the last rate announced for it). A signal admitted more than a
  minute after its close is late: it fills at the first 1m open after the admission. Closed positions are announced as replies to their signal.
- Broadcasts run as background tasks: Telegram's flood limits (20 messages a minute in a group
  or channel) may hold them for minutes, and that must not hold up decisions or the monitor.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

import pandas as pd
from telegram.ext import Application, CallbackContext

import charts
from bot.broadcast import Broadcaster
from bot.live import BookFlips, FundingSchedule, late_fill_start
from bot.service import BotService
from engines.candles import timeframe_delta
from engines.macro import MacroDecision, evaluate_macro
from engines.micro import ScalpDecision, evaluate_scalp
from engines.models import Signal
from market.feed import BookUpdate, ClosedCandle, FundingUpdate, MarketEvent, StreamStatus

logger = logging.getLogger(__name__)
CHART_CANDLES = 96
RUN_ALWAYS = {"misfire_grace_time": None}
MAX_BACKLOG = 64  # decision jobs in flight before the feed listener waits (25 pairs x 15m + 1h = 50)


@dataclass(frozen=True)
class Decision:
    pair: str
    timeframe: str
    until: pd.Timestamp


def candles_until(service: BotService, pair: str, timeframe: str, until: pd.Timestamp) -> pd.DataFrame:
    """The pair's closed candles up to and including the one that opened at ``until``."""
    candles = service.feed.candles(pair, timeframe)
    return candles[candles["timestamp"] <= until].reset_index(drop=True)


def decide(service: BotService, decision: Decision, flips: BookFlips) -> ScalpDecision | MacroDecision:
    """Run the engine of ``decision`` (CPU-bound; called in a worker thread)."""
    candles = candles_until(service, decision.pair, decision.timeframe, decision.until)
    tick = service.feed.tick_size(decision.pair)
    if decision.timeframe == "15m":
        return evaluate_scalp(candles, decision.pair, service.params, tick, flips.take(decision.pair))
    return evaluate_macro(candles, decision.pair, service.params, tick)


def explain_chart(service: BotService, signal: Signal, levels: tuple, timeframe: str) -> bytes:
    candles = candles_until(service, signal.pair, timeframe,
                            pd.Timestamp(signal.timestamp) - timeframe_delta(timeframe)).iloc[-CHART_CANDLES:]
    return charts.render_signal_chart(candles, signal, levels=levels,
                                      title_note=f"confidence {signal.confidence}")


class MarketJobs:
    """The feed listener and the jobs it schedules."""

    def __init__(self, app: Application, service: BotService, broadcaster: Broadcaster) -> None:
        self.app, self.service, self.broadcaster = app, service, broadcaster
        self.funding = FundingSchedule()
        self._backlog = 0
        self._latest_decision: pd.Timestamp | None = None
        self._drained = asyncio.Event()
        self.evaluated = 0

    async def _schedule(self, decision: Decision) -> None:
        """Queue a decision job; wait first while too many are in flight (a fast replay waits here)."""
        while self._backlog >= MAX_BACKLOG:
            self._drained.clear()
            await self._drained.wait()
        self._backlog += 1
        close = decision.until + timeframe_delta(decision.timeframe)
        self._latest_decision = close if self._latest_decision is None else max(self._latest_decision, close)
        name = f"{'micro' if decision.timeframe == '15m' else 'macro'} {decision.pair}"
        self.app.job_queue.run_once(self._decision_job, 0, name=name, job_kwargs=RUN_ALWAYS, data=decision)

    async def on_event(self, event: MarketEvent) -> None:
        """Feed listener: cheap bookkeeping inline, engine work scheduled as jobs."""
        if isinstance(event, ClosedCandle):
            if event.timeframe in ("15m", "1h"):
                await self._schedule(Decision(event.pair, event.timeframe, event.timestamp))
            elif event.timeframe == "1m":
                await self._finish_decisions_before(event.close_time)
                await self._monitor(event)
        elif isinstance(event, BookUpdate):
            self.service.book_flips.update(event.pair, event.imbalance)
        elif isinstance(event, FundingUpdate):
            self.funding.update(event)
        elif isinstance(event, StreamStatus) and not event.connected:
            logger.warning("market stream: %s", event.note or f"{event.pair} disconnected")

    async def _finish_decisions_before(self, minute_close: pd.Timestamp) -> None:
        """Keep market order: decisions of earlier candles finish before a later minute is monitored.

        Live, decisions finish long before the next minute closes and this never waits; a fast replay
        waits here, so positions open, fill and close in the same order as in the backtester.
        """
        while self._backlog and self._latest_decision is not None and self._latest_decision < minute_close:
            self._drained.clear()
            await self._drained.wait()

    @property
    def backlog(self) -> int:
        return self._backlog

    async def _decision_job(self, context: CallbackContext) -> None:
        try:
            await self._decide(context.job.data)
        finally:
            self._backlog -= 1
            self._drained.set()

    async def _decide(self, decision: Decision) -> None:
        started = time.perf_counter()
        result = await asyncio.to_thread(decide, self.service, decision, self.service.book_flips)
        self.evaluated += 1
        if isinstance(result, MacroDecision):
            self.service.note_macro(result)
        summary = result.reason
        if result.signal is not None:
            summary = await self._take(result.signal, result, decision.timeframe)
        engine = "MICRO-SCALP" if decision.timeframe == "15m" else "MACRO"
        self.service.record_job(f"{engine} {decision.pair}", result.time, started, summary)

    async def _take(self, signal: Signal, result: ScalpDecision | MacroDecision, timeframe: str) -> str:
        """Admit a new signal through the risk rules; broadcast it only if a position opened."""
        fills_from = late_fill_start(pd.Timestamp(signal.timestamp), pd.Timestamp(self.service.feed.now()))
        admission = self.service.admit(signal, fills_from=fills_from)
        if not admission.new:
            return f"{signal.key} already handled"
        if not admission.opened:
            return f"{signal.key}: not traded ({admission.reason})"
        if fills_from is not None:
            logger.warning("%s decided late (market time %s): fills at the first price from %s on",
                           signal.key, self.service.feed.now(), fills_from)
        levels = getattr(result, "levels", ())
        self.broadcaster.start(signal, lambda: explain_chart(self.service, signal, levels, timeframe))
        return f"{signal.key}: position opened{' (late)' if fills_from is not None else ''}, broadcast queued"

    async def _monitor(self, candle: ClosedCandle) -> None:
        """Position monitor for one pair on a closed 1m candle."""
        for update in self.funding.due(candle.pair, candle.close_time):
            self.service.paper.charge_funding(update.pair, update.rate, update.next_funding_time.to_pydatetime())
        if not self.service.paper.has_open(candle.pair):
            return
        for position in self.service.on_minute(candle):
            self.broadcaster.start_result(position)


def attach(app: Application, service: BotService, broadcaster: Broadcaster) -> MarketJobs:
    jobs = MarketJobs(app, service, broadcaster)
    service.feed.add_listener(jobs.on_event)
    return jobs
