"""``signaltracker drift``: what a bot sent (its state file) against the backtester's replay of the same days.

    signaltracker drift --state FILE --data DIR [--days 7] [--end ISO] [--pairs A,B] [--funding DIR] [--json]

The state file is read from a copy (a running bot may hold it). The window is the last ``--days``
before ``--end``; without ``--end``, before the latest market time the state records (a decision, a
fill or exit, a parameter change), capped at the end of the data. ``--pairs``: the pairs the bot
tracked (default: every pair in ``--data``; pairs it did not track would show as "replayed, not sent").
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import tempfile
from pathlib import Path

import pandas as pd

from bot.cli._arguments import parse_pairs, parse_time
from bot.cli.backtest import load_history
from bot.drift_inputs import drift_request
from bot.paper import POSITIONS, PaperPosition
from bot.params_book import ParamsBook
from bot.signal_journal import SignalJournal
from engines.backtest.drift import DriftReport, measure_drift
from engines.errors import DataUnavailable, InvalidInput, StorageError
from storage import StateStore, open_snapshot, state_file


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("drift", help="sent signals vs the backtester's replay of the same days",
                                   description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--state", type=Path, required=True, help="the bot's state file (STORAGE_PATH)")
    parser.add_argument("--data", type=Path, required=True, help="folder of <SYMBOL>_1m.parquet files")
    parser.add_argument("--funding", type=Path, help="folder of <SYMBOL>_funding.parquet files")
    parser.add_argument("--pairs", help="comma-separated symbols the bot tracked (default: all in --data)")
    parser.add_argument("--days", type=float, default=7.0, help="the last N days (default 7)")
    parser.add_argument("--end", help="window end, ISO UTC (default: the state's latest market time)")
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    parser.set_defaults(handler=handle)


def latest_market_time(store: StateStore) -> pd.Timestamp | None:
    """The latest decision, fill, exit or parameter change the state records."""
    times = [doc.get("decided_at") for _, doc in store.items("signals")]
    for _, doc in store.items(POSITIONS):
        times += [doc.get("entry_time"), doc.get("exit_time")]
    times += [doc.get("market_at") for doc in store.all("params_audit")]
    found = [pd.Timestamp(t) for t in times if t]
    return max(found) if found else None


def text(report: DriftReport) -> str:
    lines = [f"drift {report.start.isoformat()} .. {report.end.isoformat()} "
             f"(parameters {', '.join(f'v{v}' for v in report.versions)})", report.verdict,
             f"matched {report.matched}, sent but not replayed {report.extra}, replayed but not sent {report.missed}, "
             f"replayed trades {report.replayed}, sent still open {report.paper_open}"]
    lines += [f"  {m.kind:6} {m.decided_at.isoformat()} {m.engine} {m.pair} {m.side} @{m.entry:g}: {m.reason}"
              for m in report.mismatches]
    return "\n".join(lines) + "\n"


def handle(args: argparse.Namespace) -> int:
    if not state_file(args.state).is_file():
        raise InvalidInput(f"--state: no state file at {args.state}")
    if not 0 < args.days <= 366:
        raise InvalidInput(f"--days: a number of days from 0 to 366, got {args.days}")
    history = load_history(args.data, args.funding, parse_pairs(args.pairs))
    with tempfile.TemporaryDirectory() as folder:
        try:
            store = open_snapshot(args.state, folder)
        except (StorageError, OSError, sqlite3.Error) as e:
            raise StorageError(f"--state: {args.state} is not a bot state file ({e.__cause__ or e})") from e
        try:
            end = parse_time(args.end, "--end") if args.end else latest_market_time(store)
            if end is None:
                raise DataUnavailable(f"--state: {args.state} records no decision yet; give --end")
            end = min(end, history.end)
            positions = [PaperPosition.model_validate(doc) for _, doc in store.items(POSITIONS)]
            request = drift_request(history, end - pd.Timedelta(days=args.days), end, ParamsBook(store),
                                    SignalJournal(store), positions)
        finally:
            store.close()
    report = measure_drift(request)
    sys.stdout.write(json.dumps(report.as_json()) + "\n" if args.json else text(report))
    return 0
