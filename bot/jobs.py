"""Background work driven by the market feed, scheduled on PTB's JobQueue, in the backtester's order.

- Each pair keeps its engine state (:class:`engines.live_state.PairEngines`), updated with every
  closed 15m and 1h candle. A close decides all pairs as ONE batch job in a worker thread: MACRO
  first (on the hour), then MICRO-SCALP; ``/status`` shows the batch's total time and each pair's.
  A batch runs once every tracked pair has reported the close (or a later minute starts, or
  ``BATCH_WAIT`` seconds passed).
- 1m candles are handled a minute at a time, all pairs together, as the backtester settles one
  instant: for the candles that open at ``M`` — (1) fills and exits at their open (time stop, gaps),
  (2) the signals of the close at ``M``, admitted MACRO first, then by pair and side (each new
  position's own open settled before the next admission), (3) funding whose instant falls before the
  minute ends, to the positions open across it, (4) the rest of each candle (TP/SL inside it). This is the order of
  :func:`engines.backtest.portfolio.simulate`, so a replay trades exactly as ``run_backtest``.
  A signal is therefore admitted and broadcast when the first minute after its close has closed (at
  once when no position is open: then nothing at that open can change the admission).
  Funding is charged at the last rate announced for its instant. A decision made more than a minute
  after its close is late: it fills at the first 1m open after the decision.
- Broadcasts run as background tasks: Telegram's flood limits (20 messages a minute in a group
  or channel) may hold them for minutes, and that must not hold up decisions or the monitor.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from dataclasses import dataclass, field

import pandas as pd
from telegram.ext import Application, CallbackContext

from bot.broadcast import Broadcaster
from bot.live import FundingSchedule, late_fill_start
from bot.memory import give_back_freed_memory
from bot.paper import PaperPosition
from bot.service import BotService
from engines.candles import timeframe_delta
from engines.live_state import PairEngines
from engines.macro import MacroDecision
from engines.micro import ScalpDecision
from engines.models import Signal
from engines.params import StrategyParams
from market.feed import BookUpdate, ClosedCandle, FundingUpdate, MarketEvent, StreamStatus

logger = logging.getLogger(__name__)
CHART_CANDLES = 96
RUN_ALWAYS = {"misfire_grace_time": None}
BATCH_WAIT = 5.0  # seconds a close waits for pairs that have not reported it yet (live)
MINUTE_WAIT = 5.0  # seconds a minute's 1m candles wait for pairs that have not reported it (live)
MINUTE = pd.Timedelta(minutes=1)
NANOSECOND = pd.Timedelta(1, "ns")
BATCH_HISTORY = 512
ENGINE_NAMES = {"15m": "MICRO-SCALP", "1h": "MACRO"}


@dataclass
class Batch:
    """The pairs (and timeframes) that reported one decision close."""

    close: pd.Timestamp
    members: set[tuple[str, str]] = field(default_factory=set)
    scheduled: bool = False
    timer: asyncio.TimerHandle | None = None


@dataclass(frozen=True)
class Decided:
    pair: str
    timeframe: str
    result: ScalpDecision | MacroDecision
    seconds: float


def candles_until(service: BotService, pair: str, timeframe: str, until: pd.Timestamp) -> pd.DataFrame:
    """The pair's closed candles up to and including the one that opened at ``until``."""
    candles = service.feed.candles(pair, timeframe)
    return candles[candles["timestamp"] <= until].reset_index(drop=True)


def explain_chart(service: BotService, signal: Signal, levels: tuple, timeframe: str) -> bytes:
    import charts  # drawing is needed only when a signal is sent: import it then

    candles = candles_until(service, signal.pair, timeframe,
                            pd.Timestamp(signal.timestamp) - timeframe_delta(timeframe)).iloc[-CHART_CANDLES:]
    return charts.render_signal_chart(candles, signal, levels=levels,
                                      title_note=f"confidence {signal.confidence}")


def admission_order(item: tuple) -> tuple:
    """The backtester's order at one instant (``Candidate.sort_key``): MACRO first, then pair, then side."""
    signal = item[0]
    return 0 if signal.type == "MACRO" else 1, signal.pair, signal.side


class MarketJobs:
    """The feed listener, the per-pair engine state and the jobs it schedules."""

    def __init__(self, app: Application, service: BotService, broadcaster: Broadcaster) -> None:
        self.app, self.service, self.broadcaster = app, service, broadcaster
        self.engines: dict[str, PairEngines] = {}
        self.funding = FundingSchedule()
        self._batches: dict[pd.Timestamp, Batch] = {}
        self._running: list[pd.Timestamp] = []
        self._admissions: dict[pd.Timestamp, list[tuple[Signal, ScalpDecision | MacroDecision, str]]] = {}
        self._minutes: dict[pd.Timestamp, dict[str, ClosedCandle]] = {}
        self._minute_timers: dict[pd.Timestamp, asyncio.TimerHandle] = {}
        self._settling = asyncio.Lock()
        self._changed = asyncio.Event()
        self.evaluated = 0
        self.batches: deque[tuple[pd.Timestamp, float, int]] = deque(maxlen=BATCH_HISTORY)  # close, seconds, pairs

    # ---- feed listener -----------------------------------------------------------------------
    async def on_event(self, event: MarketEvent) -> None:
        """Feed listener: cheap bookkeeping inline, engine work in batch jobs."""
        if isinstance(event, ClosedCandle):
            if event.timeframe in ("15m", "1h"):
                self._take_candle(event)
            elif event.timeframe == "1m":
                await self._on_minute_candle(event)
        elif isinstance(event, BookUpdate):
            self.service.book_flips.update(event.pair, event.imbalance)
        elif isinstance(event, FundingUpdate):
            self.funding.update(event)
        elif isinstance(event, StreamStatus) and not event.connected:
            logger.warning("market stream: %s", event.note or f"{event.pair} disconnected")

    @property
    def backlog(self) -> int:
        """Decision batches scheduled or running."""
        return len(self._running)

    # ---- engine state and decision batches ---------------------------------------------------
    def engine(self, pair: str) -> PairEngines:
        """The pair's engine state, built from the feed's buffers when missing or when ``rsi_period`` changed."""
        state, params = self.engines.get(pair), self.service.params
        if state is None or not state.matches(params):
            state = PairEngines.from_candles(pair, params.rsi_period, self.service.feed.candles(pair, "15m"),
                                             self.service.feed.candles(pair, "1h"))
            self.engines[pair] = state
        return state

    def _take_candle(self, candle: ClosedCandle) -> None:
        state = self.engine(candle.pair)
        add = state.add_15m if candle.timeframe == "15m" else state.add_1h
        add(candle.timestamp.value, candle.open, candle.high, candle.low, candle.close, candle.volume)
        close = candle.close_time
        batch = self._batches.get(close)
        if batch is None:
            batch = self._batches[close] = Batch(close)
            batch.timer = asyncio.get_running_loop().call_later(BATCH_WAIT, self._flush, close)
        batch.members.add((candle.pair, candle.timeframe))
        if batch.members >= self._expected(close):
            self._schedule(batch)

    def _expected(self, close: pd.Timestamp) -> set[tuple[str, str]]:
        timeframes = ("15m", "1h") if close.minute == 0 else ("15m",)
        return {(pair, tf) for pair in self.service.feed.loaded_pairs() for tf in timeframes}

    def _schedule(self, batch: Batch) -> None:
        if batch.scheduled:
            return
        batch.scheduled = True
        if batch.timer is not None:
            batch.timer.cancel()
        if self._batches.get(batch.close) is batch:
            del self._batches[batch.close]
        self._running.append(batch.close)
        self.app.job_queue.run_once(self._batch_job, 0, name=f"decisions {batch.close}", job_kwargs=RUN_ALWAYS,
                                    data=batch)

    def _flush(self, close: pd.Timestamp) -> None:
        """A close some pairs never reported: decide the ones that did."""
        batch = self._batches.get(close)
        if batch is not None:
            logger.warning("deciding the %s close without %s", close,
                           ", ".join(sorted(f"{p} {tf}" for p, tf in self._expected(close) - batch.members)))
            self._schedule(batch)

    async def _batch_job(self, context: CallbackContext) -> None:
        batch: Batch = context.job.data
        try:
            await self._decide(batch)
        except Exception:  # noqa: BLE001 - one failed batch must not stop the bot
            logger.exception("decision batch at %s failed", batch.close)
        finally:
            self._running.remove(batch.close)
            self._changed.set()

    def decide_batch(self, batch: Batch, params: StrategyParams) -> list[Decided]:
        """Every pair of ``batch``, MACRO first (CPU-bound; runs in a worker thread)."""
        feed, out = self.service.feed, []
        for timeframe in ("1h", "15m"):
            for pair in sorted(p for p, tf in batch.members if tf == timeframe):
                started = time.perf_counter()
                state = self.engines[pair]
                if timeframe == "15m":
                    result = state.scalp(params, feed.tick_size(pair), self.service.book_flips.take(pair))
                else:
                    result = state.macro(params, feed.tick_size(pair))
                out.append(Decided(pair, timeframe, result, time.perf_counter() - started))
        return out

    def _note_macro(self, decisions: list[MacroDecision]) -> None:
        for decision in decisions:
            self.service.note_macro(decision)

    async def _decide(self, batch: Batch) -> None:
        params = self.service.params
        for pair in {p for p, _ in batch.members}:
            self.engine(pair)  # rebuilt here (on the loop) if the parameters changed
        started = time.perf_counter()
        decided = await asyncio.to_thread(self.decide_batch, batch, params)
        total = time.perf_counter() - started
        self.evaluated += len(decided)
        self.batches.append((batch.close, total, len(decided)))
        signals = []
        views = [item.result for item in decided if isinstance(item.result, MacroDecision)]
        if views:
            await asyncio.to_thread(self._note_macro, views)  # state writes off the loop
        for item in decided:
            summary = item.result.reason
            if item.result.signal is not None and self.service.journal.get(item.result.signal.key) is not None:
                summary = f"{item.result.signal.key} already handled"  # e.g. decided again after a restart
            elif item.result.signal is not None:
                signals.append((item.result.signal, item.result, item.timeframe))
                summary = f"{item.result.signal.key}: admitted when {batch.close:%H:%M} + 1 min has closed"
            self.service.record_decision(f"{ENGINE_NAMES[item.timeframe]} {item.pair}", item.result.time,
                                         item.seconds, summary)
        if signals:
            decided_at = pd.Timestamp(self.service.feed.now())
            self._admissions.setdefault(batch.close, []).extend((s, r, tf, decided_at) for s, r, tf in signals)
            if not self.service.paper.open_positions():
                # nothing can exit at the next open, so nothing there can change these admissions: admit now
                async with self._settling:
                    await self._admit_until(batch.close, {})
        self.service.record_batch(batch.close, total, [(f"{d.pair} {d.timeframe}", d.seconds) for d in decided],
                                  len(signals))
        if batch.close.minute == 0:
            # glibc keeps the heap an hour of decisions, charts and writes freed (~30 MB after a replayed day)
            await asyncio.to_thread(give_back_freed_memory, False)

    # ---- the minute: exits, funding, admissions, in the backtester's order -------------------------
    async def _on_minute_candle(self, candle: ClosedCandle) -> None:
        await self._finish_decisions_before(candle.close_time)
        async with self._settling:
            for opened in sorted(m for m in self._minutes if m < candle.timestamp):
                await self._settle_minute(opened, self._minutes.pop(opened))
            group = self._minutes.get(candle.timestamp)
            if group is None:
                group = self._minutes[candle.timestamp] = {}
                self._minute_timers[candle.timestamp] = asyncio.get_running_loop().call_later(
                    MINUTE_WAIT, lambda: asyncio.ensure_future(self._minute_waited(candle.timestamp)))
            group[candle.pair] = candle
            if len(group) >= len(self.service.feed.loaded_pairs()):
                await self._settle_minute(candle.timestamp, self._minutes.pop(candle.timestamp))

    async def _minute_waited(self, opened: pd.Timestamp) -> None:
        """Some pairs never reported the minute that opened at ``opened``: settle the others."""
        await self._finish_decisions_before(opened + MINUTE)
        async with self._settling:
            group = self._minutes.pop(opened, None)
            if group is not None:
                await self._settle_minute(opened, group)

    async def _finish_decisions_before(self, minute_close: pd.Timestamp) -> None:
        """Decisions of closes before ``minute_close`` are scheduled and finished before that minute is settled.

        Live, decisions finish long before the next minute closes and this never waits; a fast replay
        waits here, so positions open, fill and close in the same order as in the backtester.
        """
        for close in [c for c in self._batches if c < minute_close]:
            self._schedule(self._batches[close])
        while any(c < minute_close for c in self._running):
            self._changed.clear()
            await self._changed.wait()

    async def _settle_minute(self, opened: pd.Timestamp, candles: dict[str, ClosedCandle]) -> None:
        """Everything that happens at ``opened`` and inside the minute that opens then, for all pairs."""
        timer = self._minute_timers.pop(opened, None)
        if timer is not None:
            timer.cancel()
        paper, closed = self.service.paper, []
        for pair, candle in candles.items():
            if paper.has_open(pair):
                closed += await asyncio.to_thread(self.service.on_open, candle)  # state writes off the loop
        closed += await self._admit_until(opened, candles)
        await self._charge_funding(opened + MINUTE)
        for pair, candle in candles.items():
            if paper.has_open(pair):
                closed += await asyncio.to_thread(self.service.on_minute, candle)
        for position in closed:
            self.broadcaster.start_result(position)

    async def _admit_until(self, opened: pd.Timestamp, candles: dict[str, ClosedCandle]) -> list[PaperPosition]:
        """Admit the signals of the closes up to ``opened`` in the backtester's order; a new position's own
        open (a fill, or a gap through its stop) is settled before the next admission."""
        closed: list[PaperPosition] = []
        for close in sorted(c for c in self._admissions if c <= opened):
            for signal, result, timeframe, decided in sorted(self._admissions.pop(close), key=admission_order):
                summary = await self._take(signal, result, timeframe, decided)
                self.service.update_decision(f"{ENGINE_NAMES[timeframe]} {signal.pair}", summary)
                if signal.pair in candles and self.service.paper.has_open(signal.pair):
                    closed += await asyncio.to_thread(self.service.on_open, candles[signal.pair])
        return closed

    async def _charge_funding(self, before: pd.Timestamp) -> None:
        """Funding whose instant is before ``before`` (the end of the minute being settled) to the positions
        that entered before the instant and are still open (exits at the minute's open are settled, those
        inside it not yet): the backtester's ``entry < instant < exit``, also for instants a few ms late.
        The settlements due are taken on the loop; their state writes run in a worker thread."""
        until = before - NANOSECOND
        due = [update for pair in self.service.pairs() for update in self.funding.due(pair, until)]
        if due:
            await asyncio.to_thread(self._charge, due)

    def _charge(self, due: list[FundingUpdate]) -> None:
        for update in due:
            self.service.paper.charge_funding(update.pair, update.rate, update.next_funding_time.to_pydatetime())

    async def _take(self, signal: Signal, result: ScalpDecision | MacroDecision, timeframe: str,
                    decided: pd.Timestamp) -> str:
        """Admit a new signal through the risk rules; broadcast it only if a position opened.

        A decision made more than ``bot.live.LATE_AFTER`` after its close (a stalled stream, a restart) is
        late: it fills at the first 1m open after the decision, never at a price from before it.
        """
        fills_from = late_fill_start(pd.Timestamp(signal.timestamp), decided)
        admission = await asyncio.to_thread(self.service.admit, signal, fills_from=fills_from)  # write off the loop
        if not admission.new:
            return f"{signal.key} already handled"
        if not admission.opened:
            return f"{signal.key}: not traded ({admission.reason})"
        if fills_from is not None:
            logger.warning("%s decided late (market time %s): fills at the first price from %s on",
                           signal.key, decided, fills_from)
        levels = getattr(result, "levels", ())
        self.broadcaster.start(signal, lambda: explain_chart(self.service, signal, levels, timeframe))
        return f"{signal.key}: position opened{' (late)' if fills_from is not None else ''}, broadcast queued"


def attach(app: Application, service: BotService, broadcaster: Broadcaster) -> MarketJobs:
    jobs = MarketJobs(app, service, broadcaster)
    service.feed.add_listener(jobs.on_event)
    return jobs
