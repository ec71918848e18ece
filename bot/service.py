"""The bot's service layer: typed answers for every command, and the live decision path.

Nothing here knows Telegram. Handlers parse arguments, call one method, and format the result;
the jobs call :meth:`BotService.decide_micro` / :meth:`decide_macro` / :meth:`admit` on each
closed candle. Methods that run the engines or draw charts are synchronous and CPU-bound: the
bot calls them in a worker thread.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version as package_version
from pathlib import Path
from typing import Any

import pandas as pd

from bot.backtest_runner import feed_history
from bot.drift_inputs import drift_request
from bot.live import BookFlips, last_close_time, last_price, macro_now, scalp_now
from bot.paper import PaperBook, PaperPosition
from bot.params_book import ParamsBook, ParamsVersion, ParamChange, diff
from bot.signal_journal import JournalEntry, SignalJournal
from bot.tune_impact import ImpactPreviews
from bot.subscriptions import Subscription, SubscriptionBook
from bot.views import (Admission, EngineScore, JobRun, LevelsView, PairFreshness, PositionView, Scorecard, ScoreRow,
                       SignalView, StatusView, TunePreview)
from engines.backtest.drift import DriftReport, DriftRequest, measure_drift
from engines.backtest.edge import mean_interval
from engines.backtest.preview import TuneImpact
from engines.errors import DataUnavailable, InvalidInput, StorageError
from engines.candles import CandleArrays
from engines.macro import MacroDecision
from engines.micro import levels_before
from engines.models import Signal
from engines.params import StrategyParams
from engines.risk import MacroView, Verdict, side_of_slope
from market.feed import ClosedCandle, MarketFeed
from storage import Change, StateStore

logger = logging.getLogger(__name__)
CHART_EXTRA_CANDLES = 24
HOLE_WAIT = pd.Timedelta(minutes=15)  # market time open positions wait at a missing 1m candle
OUTCOME_COLUMNS = {"tp": "tp", "sl": "sl", "time_stop": "timeout"}


def app_version() -> str:
    try:
        return package_version("signaltracker")
    except PackageNotFoundError:
        return "dev"


@dataclass(frozen=True)
class _SettleRetry:
    """When a pair's positions are next tried after failed writes, and how many failed so far."""
    next_at: pd.Timestamp
    failures: int

    @classmethod
    def after(cls, previous: _SettleRetry | None, at: pd.Timestamp) -> _SettleRetry:
        failures = 1 if previous is None else previous.failures + 1
        return cls(at + pd.Timedelta(minutes=min(60, 2 ** (failures - 1))), failures)


def wall_clock() -> datetime:
    return datetime.now(timezone.utc)


class BotService:
    """Everything the bot knows and does, as plain method calls returning typed views."""

    def __init__(self, feed: MarketFeed, store: StateStore, *, source: str,
                 clock: Callable[[], datetime] = wall_clock) -> None:
        self.feed, self.store, self.source, self.clock = feed, store, source, clock
        self.params_book = ParamsBook(store)
        self.subscriptions = SubscriptionBook(store)
        self.journal = SignalJournal(store)
        self.paper = PaperBook(store, lambda: self.params_book.params, on_close=self._closing_changes)
        self.book_flips = BookFlips(lambda: self.params.book_flip_threshold)
        self.delivery_targets: Callable[[Signal], list[int | str]] = lambda signal: []  # set by the broadcaster
        self.job_runs: dict[str, JobRun] = {}
        self.start_error: str | None = None  # why the market feed could not start (a bad PAIRS entry)
        self.impact_previews = ImpactPreviews()
        self._unsaved_pairs: dict[str, _SettleRetry] = {}
        self._holes_given_up: set[tuple[str, pd.Timestamp]] = set()

    # ---- shared ------------------------------------------------------------------------------
    @property
    def params(self) -> StrategyParams:
        return self.params_book.params

    def pairs(self) -> list[str]:
        return list(self.feed.pairs())

    def require_pair(self, pair: str) -> str:
        if pair in self.feed.loaded_pairs():
            return pair
        if not self.feed.progress().done:
            raise DataUnavailable(f"{self.starting_note()}; {pair} is not ready yet, try again in a minute")
        raise DataUnavailable(f"{pair} is not tracked; tracked pairs: {', '.join(self.feed.pairs())}")

    def starting_note(self) -> str:
        """"starting, 3 of 25 pairs loaded", with the failing source if one holds start-up back."""
        if self.start_error is not None:
            return f"market data could not start: {self.start_error}"
        failing = [f"{s.name} failing since {s.since:%H:%M:%S} UTC, retrying" for s in self.feed.sources()
                   if s.ok is False and s.since is not None]
        return "; ".join([str(self.feed.progress()), *failing])

    @property
    def paused(self) -> bool:
        return bool((self.store.get("settings", "paused") or {}).get("value", False))

    def set_paused(self, paused: bool, *, who: str) -> bool:
        """Pause or resume; ``False`` if it already was in that state."""
        if paused == self.paused:
            return False
        self.store.put("settings", "paused", {"value": paused, "by": who, "at": self.clock().isoformat()})
        return True

    def record_job(self, name: str, market_time: pd.Timestamp, started: float, summary: str) -> None:
        self.job_runs[name] = JobRun(name, market_time, time.perf_counter() - started, summary)

    def record_decision(self, name: str, market_time: pd.Timestamp, seconds: float, summary: str) -> None:
        """One pair's decision at a close: how long the engine took and what it said."""
        self.job_runs[name] = JobRun(name, market_time, seconds, summary)

    def update_decision(self, name: str, summary: str) -> None:
        """The outcome of a decision's signal (admitted a minute after its close)."""
        if (run := self.job_runs.get(name)) is not None:
            self.job_runs[name] = JobRun(run.name, run.market_time, run.seconds, summary)

    def record_batch(self, close: pd.Timestamp, seconds: float, per_pair: list[tuple[str, float]],
                     signals: int) -> None:
        """One close decided for all pairs as one batch: its wall time, and the slowest pair."""
        kind = "15m + 1h" if close.minute == 0 else "15m"
        slowest = max(per_pair, key=lambda item: item[1]) if per_pair else None
        note = f"; slowest {slowest[0]} {slowest[1] * 1000:.0f} ms" if slowest else ""
        name = f"all pairs ({kind} close)"
        self.job_runs.pop(name, None)
        self.job_runs = {name: JobRun(name, close, seconds, f"{len(per_pair)} decisions, {signals} signal(s){note}"),
                         **self.job_runs}

    # ---- market views ------------------------------------------------------------------------
    def levels(self, pair: str, timeframe: str) -> LevelsView:
        self.require_pair(pair)
        params = self.params
        candles = self.feed.candles(pair, timeframe)
        if len(candles) < params.sr_lookback + 1:
            raise DataUnavailable(f"{pair} has {len(candles)} closed {timeframe} candles, "
                                  f"levels need {params.sr_lookback + 1}")
        close = float(candles["close"].iloc[-1])
        levels = tuple(levels_before(CandleArrays.of(candles), len(candles) - 1, params))  # what the engine used
        macro = macro_now(self.feed, pair, params)
        shown = candles.iloc[-(params.sr_lookback + CHART_EXTRA_CANDLES):]
        import charts  # matplotlib is loaded on the first chart, not at start-up

        chart = charts.render_levels_chart(shown, pair=pair, timeframe=timeframe, levels=levels, trend=macro.trend,
                                    trend_origin=macro.time if macro.trend else None, swings=macro.swings)
        time_closed = last_close_time(self.feed, pair, timeframe)
        return LevelsView(pair, timeframe, time_closed, close, levels, macro.trend, chart)

    def signal_now(self, pair: str) -> SignalView:
        self.require_pair(pair)
        params = self.params
        return SignalView(pair, scalp_now(self.feed, pair, params, self.book_flips.peek(pair)),
                          macro_now(self.feed, pair, params), params.min_checks)

    def recent_signals(self, count: int) -> list[JournalEntry]:
        return self.journal.recent(count)

    # ---- live decisions ----------------------------------------------------------------------
    def note_macro(self, decision: MacroDecision) -> None:
        """Feed a MACRO decision to the risk book's bias rule."""
        if decision.trend is not None:
            view = MacroView(pair=decision.pair, side=side_of_slope(decision.trend.slope),
                             confidence=decision.confidence, time=decision.time.to_pydatetime())
            with contextlib.suppress(StorageError):  # shown in /status; the next 1h close brings a new view
                self.paper.note_macro(view)

    def admit(self, signal: Signal, *, fills_from: pd.Timestamp | None = None) -> Admission:
        """Record a new signal and, unless paused, ask the risk book to open a paper position.

        ``fills_from`` (a late decision): the position fills at the first 1m open from then on.
        """
        decided_at = signal.timestamp
        late = "" if fills_from is None else f"; late: fills from {fills_from:%Y-%m-%d %H:%M} UTC"
        if self.journal.get(signal.key) is not None:
            return Admission(False, False, "already recorded", decided_at)
        if self.paused:
            self.journal.record(signal, decided_at=decided_at, opened=False, note="paused" + late)
            return Admission(True, False, "paused", decided_at)
        version = self.params_book.current().version
        try:
            verdict = self.paper.admit(signal, decided_at, None if fills_from is None else fills_from.to_pydatetime(),
                                       also=lambda v: self._admission_changes(signal, v, version, late))
        except StorageError as e:
            logger.error("%s not admitted: the state could not be saved (%s)", signal.key, e)
            return Admission(True, False, "state not saved", decided_at)
        return Admission(True, verdict.accepted, verdict.reason, decided_at)

    def _admission_changes(self, signal: Signal, verdict: Verdict, params_version: int, late: str = "") -> list[Change]:
        """What an admission writes besides the risk book: the journal's record and, if it opened, the queue."""
        changes: list[Change] = [self.journal.record_change(signal, decided_at=signal.timestamp, opened=verdict.accepted,
                                                            note=verdict.reason + late, params_version=params_version)]
        if verdict.accepted:
            changes += self.journal.queue_changes(signal.key, self.delivery_targets(signal), at=self.clock())
        return changes

    def _closing_changes(self, position: PaperPosition) -> list[Change]:
        """What a close writes besides the position: the journal's outcome and the queued results."""
        return [*self.journal.outcome_change(position.key, position.exit_reason or "",
                                             position.pnl_pct(position.exit_price)),
                *self.journal.result_changes(position.key)]

    def on_open(self, candle: ClosedCandle) -> list[PaperPosition]:
        """Fills and exits at the open of ``candle`` (time stop, gaps), after any earlier candle missed."""
        return self._settle(candle, lambda: self.paper.on_open(candle.pair, candle))

    def on_minute(self, candle: ClosedCandle) -> list[PaperPosition]:
        """Resolve the candle's pair's positions on it, after any earlier candle they missed."""
        return self._settle(candle, lambda: self.paper.on_candle(candle.pair, candle))

    def _settle(self, candle: ClosedCandle, step: Callable[[], list[PaperPosition]]) -> list[PaperPosition]:
        """Catch up on the candles before ``candle`` the positions missed (after a restart or a failed
        write; the feed's 1m buffer still has them), then ``step``. Outcomes and results are written
        with each close. While the state cannot be saved, a pair's retries back off (1, 2, 4 … 60
        minutes of candles): each retry replays every candle since the last saved check."""
        retry = self._unsaved_pairs.get(candle.pair)
        if retry is not None and self.store.write_error is not None and candle.timestamp < retry.next_at:
            return []
        hole = self._hole_to_wait_for(candle)
        try:
            if hole is None:
                settled = self._catch_up_before(candle) + step()
            else:  # positions stop before a missing minute until the feed fills it (or HOLE_WAIT passes)
                settled = self._catch_up_before(candle, until=hole)
        except StorageError as e:
            if retry is None:  # once, not every retry
                logger.warning("%s positions not updated from %s on (retried with backoff up to an hour): %s",
                               candle.pair, candle.timestamp, e)
            self._unsaved_pairs[candle.pair] = _SettleRetry.after(retry, candle.timestamp)
            return []
        self._unsaved_pairs.pop(candle.pair, None)
        return settled

    def _catch_up_before(self, candle: ClosedCandle, until: pd.Timestamp | None = None) -> list[PaperPosition]:
        """Resolve on the buffered 1m candles the positions missed before ``candle`` (or before ``until``)."""
        until = candle.timestamp if until is None else until
        since = self.paper.needs_candles_since(candle.pair)
        if since is None or since >= until:
            return []
        candles = self.feed.candles(candle.pair, "1m")
        return self.paper.catch_up(candle.pair, candles[(candles["timestamp"] >= since)
                                                        & (candles["timestamp"] < until)])

    def _hole_to_wait_for(self, candle: ClosedCandle) -> pd.Timestamp | None:
        """The missing 1m minute ``candle.pair``'s open positions must wait at, if any.

        A TP or SL inside a hole would otherwise be skipped for good: the positions are resolved up
        to the hole and wait there, then catch up on the filled minutes in order, as the backtester
        would. After ``HOLE_WAIT`` of market time they go on across the hole (said once in the log).
        """
        hole = self._waiting_at(candle.pair)
        if hole is None or hole > candle.timestamp:
            return None
        if candle.timestamp - hole <= HOLE_WAIT:
            return hole
        if (candle.pair, hole) not in self._holes_given_up:
            self._holes_given_up.add((candle.pair, hole))
            logger.warning("%s: the 1m candle of %s is still missing after %s; positions are resolved across "
                           "the hole", candle.pair, hole, HOLE_WAIT)
        return None

    def reconcile_positions(self) -> list[PaperPosition]:
        """At start-up: resolve every open position on the 1m candles since its last check."""
        closed = []
        for pair in sorted({p.signal.pair for p in self.paper.open_positions()}):
            if pair not in self.feed.loaded_pairs() or self.paper.needs_candles_since(pair) is None:
                continue
            candles = self.feed.candles(pair, "1m")
            closed += self.paper.catch_up(pair, candles[candles["timestamp"] >= self.paper.needs_candles_since(pair)])
        return closed

    # ---- positions ---------------------------------------------------------------------------
    def positions(self) -> list[PositionView]:
        loaded = set(self.feed.loaded_pairs())
        held = self.paper.open_positions()
        if any(p.signal.pair not in loaded for p in held) and not self.feed.progress().done:
            raise DataUnavailable(f"{self.starting_note()}; positions show once their pairs are loaded")
        now = pd.Timestamp(self.feed.now())
        views = []
        for position in held:
            price = last_price(self.feed, position.signal.pair) if position.signal.pair in loaded else None
            pnl = position.pnl(price) if price is not None else 0.0
            left = (pd.Timestamp(position.due_at) - now).total_seconds() / 60
            views.append(PositionView(position, price, pnl, position.pnl_pct(price) if price else 0.0, max(left, 0),
                                      self._waiting_at(position.signal.pair)))
        return views

    def _waiting_at(self, pair: str) -> pd.Timestamp | None:
        """The missing 1m candle ``pair``'s open positions have not been resolved past, if any (they
        wait there up to ``HOLE_WAIT``: see ``_hole_to_wait_for``)."""
        hole = self.feed.first_missing_minute(pair)
        since = self.paper.needs_candles_since(pair) if hole is not None else None
        return hole if hole is not None and since is not None and since <= hole else None

    def position_chart(self, key: str) -> bytes:
        position = self.paper.get(key)
        if position is None:
            raise DataUnavailable("that position no longer exists")
        signal = position.signal
        candles = self.feed.candles(signal.pair, "1m")
        opened = pd.Timestamp(position.entry_time or signal.timestamp)
        shown = candles[candles["timestamp"] >= opened - pd.Timedelta(minutes=60)]
        price = position.exit_price or last_price(self.feed, signal.pair) or signal.entry
        import charts

        return charts.render_position_chart(shown, pair=signal.pair, side=signal.side,
                                     entry=position.entry_price or signal.entry, tp=signal.tp, sl=signal.sl,
                                     opened_at=opened, last_price=price)

    def close_position(self, pair: str) -> PaperPosition:
        self.require_pair(pair)
        price = last_price(self.feed, pair)
        if price is None:
            raise DataUnavailable(f"no price for {pair} yet")
        return self.paper.close(pair, price, pd.Timestamp(self.feed.now()).to_pydatetime())

    # ---- parameters --------------------------------------------------------------------------
    def tune_preview(self, changes: dict[str, Any]) -> TunePreview:
        current = self.params_book.current()
        new = current.params.with_changes(**changes)
        found = diff(current.params, new)
        if not found:
            raise InvalidInput("nothing to change: the parameters already have these values")
        return TunePreview(found, new, current.version)

    def tune_apply(self, changes: dict[str, Any], *, who: str, shown: dict[str, Any] | None = None) -> ParamsVersion:
        return self.params_book.apply(self.params.with_changes(**changes), who=who, when=self.clock(), shown=shown,
                                      market_time=self._market_time())

    def tune_impact(self, changes: dict[str, Any], replay_dir: Path | None) -> TuneImpact:
        """Current vs changed parameters on the last two weeks of the bot's data (CPU-bound: worker thread)."""
        current = self.params
        return self.impact_previews.impact(self.feed, replay_dir, current, current.with_changes(**changes))

    def rollback(self, *, who: str) -> tuple[ParamsVersion, tuple[ParamChange, ...]]:
        return self.params_book.rollback(who=who, when=self.clock(), market_time=self._market_time())

    def _market_time(self) -> datetime | None:
        """The feed's clock (a replay's is not the wall clock); None before the feed started."""
        try:
            return pd.Timestamp(self.feed.now()).to_pydatetime()
        except DataUnavailable:
            return None

    # ---- drift --------------------------------------------------------------------------------
    def drift(self, days: float, replay_dir: Path | None,
              positions: list[PaperPosition] | None = None) -> DriftReport:
        """What the bot sent over the last ``days`` vs the backtester's replay (CPU-bound: worker thread;
        pass ``positions`` taken on the event loop, which is what changes them)."""
        return measure_drift(self.drift_inputs(days, replay_dir, positions))

    def drift_inputs(self, days: float, replay_dir: Path | None,
                     positions: list[PaperPosition] | None = None) -> DriftRequest:
        """The bot's records of the last ``days`` and its candles, as a drift request."""
        history = feed_history(self.feed, (), replay_dir)
        end = history.end
        start = end - pd.Timedelta(days=days)
        if start < history.first:
            have = (end - history.first) / pd.Timedelta(days=1)
            raise DataUnavailable(f"the bot has {have:.1f} days of candles before now; ask for at most "
                                  f"{max(int(have), 1)}d")
        held = self.paper.positions() if positions is None else positions
        return drift_request(history, start, end, self.params_book, self.journal, held)

    # ---- subscriptions -----------------------------------------------------------------------
    def subscribe(self, subscription: Subscription) -> bool:
        for pair in subscription.pairs:
            self.require_pair(pair)
        return self.subscriptions.subscribe(subscription)

    def unsubscribe(self, chat_id: int) -> bool:
        return self.subscriptions.unsubscribe(chat_id)

    # ---- status and scorecard ----------------------------------------------------------------
    def status(self) -> StatusView:
        now = pd.Timestamp(self.feed.now()) if self.feed.progress().total is not None else pd.Timestamp(self.clock())
        streams = {s.pair: s for s in self.feed.status()}
        rows = []
        for pair in self.feed.loaded_pairs():
            closed = last_close_time(self.feed, pair, "1m")
            lag = (now - closed).total_seconds() / 60 if closed is not None else None
            stream = streams.get(pair)
            rows.append(PairFreshness(pair, closed, lag, stream.connected if stream else False,
                                      stream.note if stream else "", stream.gaps if stream else ()))
        progress = self.feed.progress()
        return StatusView(now, self.source, tuple(rows), tuple(self.job_runs.values()),
                          len(self.paper.open_positions()), self.paper.equity, self.params_book.current().version,
                          self.paused, app_version(), sources=tuple(self.feed.sources()),
                          starting=None if progress.done and self.start_error is None else self.starting_note(),
                          state_problems=self.state_problems())

    def state_problems(self) -> tuple[str, ...]:
        """What is wrong with the saved state: a failing write, records set aside on load."""
        problems = [f"state cannot be saved: {self.store.write_error}"] if self.store.write_error else []
        quarantined = {**self.paper.quarantined, **self.subscriptions.quarantined, **self.params_book.quarantined}
        problems += [f"record {name} set aside: {reason}" for name, reason in quarantined.items()]
        return tuple(problems)

    def scorecard(self) -> Scorecard:
        rows: dict[tuple[str, str], dict[str, float]] = {}
        for entry in self.journal.entries(traded_only=True):
            row = rows.setdefault((entry.signal.type, entry.signal.pair), {})
            _count(row, entry)
        built = tuple(ScoreRow(engine, pair, **{k: (v if k == "pnl_pct" else int(v)) for k, v in row.items()})
                      for (engine, pair), row in sorted(rows.items()))
        total: dict[str, float] = {}
        for row in built:
            for name in ("sent", "tp", "sl", "timeout", "other", "open"):
                total[name] = total.get(name, 0) + getattr(row, name)
            total["pnl_pct"] = total.get("pnl_pct", 0.0) + row.pnl_pct
        return Scorecard(built, ScoreRow("all", "all", **{k: (v if k == "pnl_pct" else int(v))
                                                          for k, v in total.items()}), self.paper.rejections,
                         engine_scores([(e.signal.type, e.pnl_pct or 0.0)
                                        for e in self.journal.entries(traded_only=True) if e.outcome is not None]),
                         self.book_flips.rates(), self.params.book_flip_threshold)


def engine_scores(closed: list[tuple[str, float]]) -> tuple[EngineScore, ...]:
    """Per engine of the closed signals ``(engine, P&L % of margin)``: mean, bootstrap 95 % interval, count."""
    by_engine: dict[str, list[float]] = {}
    for engine, pnl_pct in closed:
        by_engine.setdefault(engine, []).append(pnl_pct)
    scores = ((engine, mean_interval(values)) for engine, values in sorted(by_engine.items()))
    return tuple(EngineScore(engine, i.trades, i.mean, i.low, i.high) for engine, i in scores)


def _count(row: dict[str, float], entry: JournalEntry) -> None:
    row["sent"] = row.get("sent", 0) + 1
    if entry.outcome is None:
        if entry.opened:
            row["open"] = row.get("open", 0) + 1
        return
    column = OUTCOME_COLUMNS.get(entry.outcome, "other")
    row[column] = row.get(column, 0) + 1
    row["pnl_pct"] = row.get("pnl_pct", 0.0) + (entry.pnl_pct or 0.0)
