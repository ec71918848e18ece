"""Drift: do the signals the bot sent match what the backtester says it would have sent?

    report = measure_drift(DriftRequest(history, start, end, periods, sent, unsent, capital))
    report.verdict; report.matched; report.missed; report.extra; report.mismatches[:5]

The replay runs the backtester's own pipeline over the decisions of ``(start, end]`` with the
parameter version that was in force at each decision time: signals per version period
(:func:`engines.backtest.signals.pair_signals`), their exits (hold = that version's time stop), MACRO
decisions, then one portfolio pass whose risk book uses the version in force at each entry, on the
bot's equity at ``start``.

A sent signal and a replayed trade match when engine, pair, side and decision time are equal and
the entries differ by at most one tick. Mismatches:

- ``extra``: the bot sent it, the replay did not trade it (reason: the replay's risk-rule verdict,
  or the engines gave no such signal on these candles, or the entry differs);
- ``missed``: the replay traded it, the bot did not send it (reason: the bot's own note when it
  decided the signal but did not trade it — paused, a risk rule —, else the bot has no record).

An entry more than one tick off shows on both sides. The replay's book starts at ``start`` with the
bot's equity then and the positions of ``carried`` (signals the bot sent shortly before ``start``,
resolved by the same rules), so positions held across the window's start block the same signals in
both; their own P&L is not compared. Cooldowns and the daily count of the day before are not carried.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from datetime import datetime

import pandas as pd

from engines.backtest.candidates import Candidate, pair_candidates
from engines.backtest.history import History
from engines.backtest.portfolio import Costs, Trade, simulate
from engines.backtest.signals import macro_views, pair_signals
from engines.errors import InvalidInput
from engines.models import Signal
from engines.params import StrategyParams
from engines.risk import MacroView

NANOSECOND = pd.Timedelta(1, "ns")
ACCEPTED = ("ok", "halved")


@dataclass(frozen=True)
class ParamsPeriod:
    """A parameter version and the time from which it was in force."""

    version: int
    params: StrategyParams
    since: pd.Timestamp


@dataclass(frozen=True)
class SentSignal:
    """A signal the bot sent (opened a paper position for), with its realised P&L in USDT when closed."""

    signal: Signal
    pnl: float | None = None


@dataclass(frozen=True)
class DriftRequest:
    history: History
    start: pd.Timestamp
    end: pd.Timestamp
    periods: tuple[ParamsPeriod, ...]
    sent: tuple[SentSignal, ...]
    unsent: dict[str, str]  # key of a signal the bot decided but did not send -> its note (paused, margin, ...)
    capital: float = Costs().capital
    carried: tuple[Signal, ...] = ()  # sent before ``start``, possibly still open then: they enter the replay's book

    def __post_init__(self) -> None:
        self.history.check_window(self.start, self.end)
        if not self.periods or self.periods[0].since > self.start:
            raise InvalidInput("drift needs the parameter version in force at the start of the window")
        if any(b.since < a.since for a, b in zip(self.periods, self.periods[1:])):
            raise InvalidInput("parameter periods must be in time order")


@dataclass(frozen=True)
class Mismatch:
    kind: str  # "missed" or "extra"
    engine: str
    pair: str
    side: str
    decided_at: pd.Timestamp
    entry: float
    reason: str


@dataclass(frozen=True)
class DriftReport:
    start: pd.Timestamp
    end: pd.Timestamp
    sent: int
    replayed: int
    matched: int
    mismatches: tuple[Mismatch, ...]
    paper_pnl: float  # closed sent positions, USDT
    paper_open: int  # sent positions still open (no P&L yet)
    replay_pnl: float  # replayed trades closed by ``end``, USDT
    versions: tuple[int, ...]

    @property
    def missed(self) -> int:
        return sum(m.kind == "missed" for m in self.mismatches)

    @property
    def extra(self) -> int:
        return sum(m.kind == "extra" for m in self.mismatches)

    @property
    def matched_pct(self) -> float:
        return 100.0 * self.matched / self.sent if self.sent else 100.0

    @property
    def verdict(self) -> str:
        money = f"paper P&L {self.paper_pnl:+,.2f} vs replay {self.replay_pnl:+,.2f} USDT"
        if not self.mismatches:
            return f"No drift: all {self.sent} sent signals match the replay, which sent nothing else; {money}"
        if not self.sent:
            return f"Drift: the bot sent no signal, the replay would have sent {self.missed}; {money}"
        return (f"Drift: {self.matched} of {self.sent} sent signals match the replay ({self.matched_pct:.0f} %), "
                f"{self.extra} sent but not replayed, {self.missed} replayed but not sent; {money}")

    def as_json(self) -> dict[str, object]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat(), "sent": self.sent,
                "replayed": self.replayed, "matched": self.matched, "missed": self.missed, "extra": self.extra,
                "matched_pct": round(self.matched_pct, 2), "paper_pnl": round(self.paper_pnl, 2),
                "paper_open": self.paper_open, "replay_pnl": round(self.replay_pnl, 2),
                "versions": list(self.versions), "verdict": self.verdict,
                "mismatches": [{"kind": m.kind, "engine": m.engine, "pair": m.pair, "side": m.side,
                                "decided_at": m.decided_at.isoformat(), "entry": m.entry, "reason": m.reason}
                               for m in self.mismatches]}


@dataclass(frozen=True)
class Replay:
    """The backtester's decisions over the window: every signal, its risk verdict, the trades."""

    signals: dict[tuple, Signal]
    verdicts: dict[str, str]
    trades: tuple[Trade, ...]


def _identity(signal: Signal) -> tuple:
    return signal.type, signal.pair, signal.side, pd.Timestamp(signal.timestamp)


def _spans(request: DriftRequest) -> list[tuple[ParamsPeriod, pd.Timestamp, pd.Timestamp]]:
    """Each version's part of the window, as decision times ``(since, until]``."""
    out = []
    for k, period in enumerate(request.periods):
        since = max(period.since, request.start)
        until = request.periods[k + 1].since if k + 1 < len(request.periods) else request.end
        until = min(until, request.end)
        if until > since:
            out.append((period, since, until))
    return out


def _after(time: pd.Timestamp) -> pd.Timestamp:
    """The first whole minute after ``time``: decisions happen on candle closes, so ``(time, ...]``."""
    return (time + NANOSECOND).ceil("min").as_unit("ms")


def replay(request: DriftRequest) -> Replay:
    """Signals, exits and MACRO decisions per version period, then one pass with the version in force."""
    candidates: list[Candidate] = []
    views: list[MacroView] = []
    signals: dict[tuple, Signal] = {}
    for period, since, until in _spans(request):
        for pair in request.history.pairs:
            found = pair_signals(pair, period.params, _after(since), until)
            signals.update((_identity(s), s) for s in found)
            candidates += pair_candidates(pair, found, period.params, pair.funding_schedule)[0]
            views += macro_views(pair, period.params, _after(since), until)
    starts = [p.since.to_pydatetime() for p in request.periods]

    def params_at(now: datetime) -> StrategyParams:
        return request.periods[max(bisect_right(starts, now) - 1, 0)].params

    pairs = {p.pair: p for p in request.history.pairs}
    for signal in request.carried:
        pair = pairs.get(signal.pair)
        if pair is not None:
            candidates += pair_candidates(pair, [signal], params_at(signal.timestamp), pair.funding_schedule)[0]

    verdicts: dict[str, str] = {}
    run = simulate(candidates, views, request.periods[0].params, Costs(capital=request.capital),
                   params_at=params_at, verdicts=verdicts)
    return Replay(signals, verdicts, run.trades)


def _entries_match(a: float, b: float, tick: float) -> bool:
    return abs(a - b) <= tick * (1 + 1e-9)


def measure_drift(request: DriftRequest) -> DriftReport:
    done = replay(request)
    ticks = {p.pair: p.tick for p in request.history.pairs}
    traded = {identity: signal for identity, signal in done.signals.items()
              if done.verdicts.get(signal.key) in ACCEPTED}
    mismatches: list[Mismatch] = []
    matched = 0
    for sent in request.sent:
        signal, twin = sent.signal, traded.get(_identity(sent.signal))
        if twin is not None and _entries_match(signal.entry, twin.entry, ticks[signal.pair]):
            matched += 1
            continue
        mismatches.append(_mismatch("extra", signal, _extra_reason(signal, done, twin, ticks[signal.pair])))
    sent_ids = {_identity(s.signal): s.signal for s in request.sent}
    for identity, replayed in traded.items():
        bot = sent_ids.get(identity)
        if bot is None or not _entries_match(bot.entry, replayed.entry, ticks[replayed.pair]):
            mismatches.append(_mismatch("missed", replayed, _missed_reason(replayed, request, bot)))
    mismatches.sort(key=lambda m: (m.decided_at, m.pair, m.kind))
    closed = [s.pnl for s in request.sent if s.pnl is not None]
    replay_closed = [t.pnl for t in done.trades
                     if t.reason != "end_of_data" and t.exit_time <= request.end and t.signal_time > request.start]
    replayed = sum(t.signal_time > request.start for t in done.trades)
    return DriftReport(request.start, request.end, len(request.sent), replayed, matched, tuple(mismatches),
                       sum(closed), len(request.sent) - len(closed), sum(replay_closed),
                       tuple(p.version for p, _, _ in _spans(request)))


def _mismatch(kind: str, signal: Signal, reason: str) -> Mismatch:
    return Mismatch(kind, signal.type, signal.pair, signal.side, pd.Timestamp(signal.timestamp), signal.entry, reason)


def _extra_reason(signal: Signal, done: Replay, twin: Signal | None, tick: float) -> str:
    replayed = done.signals.get(_identity(signal))
    if replayed is None:
        return "the engines give no such signal on these candles with that parameter version"
    if not _entries_match(signal.entry, replayed.entry, tick):
        return f"entry {signal.entry:g} vs replay {replayed.entry:g} (more than one tick, {tick:g})"
    return f"the replay's risk rules did not trade it ({done.verdicts.get(replayed.key, 'no entry candle')})"


def _missed_reason(signal: Signal, request: DriftRequest, bot: Signal | None) -> str:
    if bot is not None:
        return f"bot's entry {bot.entry:g} vs replay {signal.entry:g} (more than one tick)"
    note = request.unsent.get(signal.key)
    if note is not None:
        return f"the bot decided it but did not trade it ({note})"
    return "the bot has no record of this decision"


__all__ = ["DriftReport", "DriftRequest", "Mismatch", "ParamsPeriod", "SentSignal", "measure_drift", "replay"]
