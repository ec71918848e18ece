"""What /drift and ``signaltracker drift`` compare: the bot's records turned into a :class:`DriftRequest`.

From the state the bot keeps:

- sent signals: journal entries that opened a paper position (those are the ones broadcast),
  decided in ``(start, end]``, with the realised P&L of their position once it closed;
- signals decided but not sent, with the journal's note (``paused``, a risk-rule code);
- the parameter version in force at each time: the audit log of /tune and /rollback, at the
  market time of each change (``market_at``; older entries only have the wall-clock ``at``);
- the paper equity at ``start`` (starting capital plus the P&L of positions closed by then),
  which sizes the replay like the bot was sized;
- the signals sent within the longest time stop before ``start``: positions possibly still open
  then, which the replay's book starts with.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from bot.paper import STARTING_EQUITY, PaperPosition
from bot.params_book import ParamsBook
from bot.signal_journal import SignalJournal
from engines.backtest.drift import DriftRequest, ParamsPeriod, SentSignal
from engines.backtest.history import History

DAWN = pd.Timestamp("1970-01-01", tz="UTC")


def params_periods(book: ParamsBook) -> tuple[ParamsPeriod, ...]:
    """Every parameter version in force, from when (market time), oldest first."""
    audit = book.audit()
    first = int(audit[0]["from_version"]) if audit else book.current().version
    periods = [ParamsPeriod(first, book.version(first).params, DAWN)]
    for entry in audit:
        since = pd.Timestamp(entry.get("market_at") or entry["at"])
        number = int(entry["to_version"])
        periods.append(ParamsPeriod(number, book.version(number).params, since))
    return tuple(sorted(periods, key=lambda p: p.since))


def drift_request(history: History, start: pd.Timestamp, end: pd.Timestamp, book: ParamsBook,
                  journal: SignalJournal, positions: Iterable[PaperPosition]) -> DriftRequest:
    by_key = {p.key: p for p in positions}
    periods = params_periods(book)
    entries = journal.entries()
    inside = [e for e in entries if start < pd.Timestamp(e.decided_at) <= end]
    hold = pd.Timedelta(minutes=max(max(p.params.time_stop, p.params.macro_time_stop) for p in periods))
    carried = tuple(e.signal for e in entries if e.opened and start - hold < pd.Timestamp(e.decided_at) <= start)
    sent = tuple(SentSignal(e.signal, _realised(by_key.get(e.signal.key))) for e in inside if e.opened)
    unsent = {e.signal.key: e.note or "not traded" for e in inside if not e.opened}
    closed_before = sum(p.realized for p in by_key.values()
                        if p.status == "closed" and p.exit_time is not None and pd.Timestamp(p.exit_time) <= start)
    return DriftRequest(history, start, end, periods, sent, unsent, STARTING_EQUITY + closed_before, carried)


def _realised(position: PaperPosition | None) -> float | None:
    if position is None or position.status != "closed" or position.exit_price is None:
        return None
    return position.realized
