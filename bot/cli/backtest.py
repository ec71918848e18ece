"""``signaltracker backtest``: run both engines over history and print the report.

    signaltracker backtest (--data DIR | --exchange bybit|binanceusdm) [--funding DIR] [--pairs A,B]
                           [--days 7 | --start ISO --end ISO] [--param key=value ...]
                           [--engine all|micro|macro] [--seed N] [--runs N] [--json] [--out DIR]

``--days N`` is the last N days common to every selected pair. Funding files are read from
``--funding``, else from ``--data`` itself, else from a sibling ``funding`` folder; pairs without
any use assumed rates (stated in the report). ``--exchange`` reads the bot's cache of that exchange
after downloading what the window and the engines' warm-up lack (pairs: ``--pairs``, else those
cached, else the top 25 by turnover; see ``signaltracker download``).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

import pandas as pd

from bot.cli._arguments import EXCHANGES, days_argument, parse_days, parse_pairs, parse_time
from engines.backtest.history import History, PairHistory
from engines.backtest.run import BacktestRequest, run_backtest
from engines.backtest.report import BacktestReport
from engines.errors import DataUnavailable, InvalidInput
from engines.params import StrategyParams, params_from_assignments
from market.files import list_symbols, load_pair, read_funding

log = logging.getLogger(__name__)


def funding_dir(data_dir: Path, funding: Path | None) -> Path | None:
    """The folder funding files are read from (see module doc)."""
    if funding is not None:
        if not funding.is_dir():
            raise InvalidInput(f"--funding: {funding} is not a folder")
        return funding
    if any(data_dir.glob("*_funding.parquet")):
        return data_dir
    sibling = data_dir.parent / "funding"
    return sibling if sibling.is_dir() else None


def load_history(data_dir: Path, funding: Path | None = None, pairs: list[str] | None = None) -> History:
    """Read the 1m candles (and funding) of ``pairs`` (default: every pair with 1m data) from disk."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise DataUnavailable(f"--data: {data_dir} is not a folder")
    available = list_symbols(data_dir, "1m")
    if not available:
        raise DataUnavailable(f"--data: no <SYMBOL>_1m.parquet files in {data_dir}")
    chosen = pairs or available
    unknown = [p for p in chosen if p not in available]
    if unknown:
        raise InvalidInput(f"--pairs: no 1m data for {', '.join(unknown)}; available: {', '.join(available)}")
    folder = funding_dir(data_dir, funding)
    return History(tuple(
        PairHistory.from_candles(p, load_pair(data_dir, p).m1, read_funding(folder, p)) for p in chosen))


def window(history: History, days: float | None, start: str | None, end: str | None) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The decision window from ``--days`` or ``--start``/``--end`` (default: the last 7 days)."""
    if days is not None and (start or end):
        raise InvalidInput("--days cannot be combined with --start/--end")
    if start or end:
        if not (start and end):
            raise InvalidInput("--start and --end go together")
        return parse_time(start, "--start"), parse_time(end, "--end")
    return history.last_days(7 if days is None else days)


def add_data_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments shared by ``backtest`` and ``sweep``."""
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--data", type=Path, help="folder of <SYMBOL>_1m.parquet files")
    source.add_argument("--exchange", choices=EXCHANGES, help="the bot's cache of this exchange, completed first")
    parser.add_argument("--funding", type=Path, help="folder of <SYMBOL>_funding.parquet files")
    parser.add_argument("--pairs", help="comma-separated symbols (default: all in --data)")
    parser.add_argument("--days", type=days_argument, help="the last N days of the data (default 7)")
    parser.add_argument("--start", help="window start, ISO UTC")
    parser.add_argument("--end", help="window end, ISO UTC")
    parser.add_argument("--param", action="append", default=[], metavar="KEY=VALUE", help="strategy parameter")
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("backtest", help="backtest both engines over history",
                                   description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_data_arguments(parser)
    parser.add_argument("--engine", choices=("all", "micro", "macro"), default="all")
    parser.add_argument("--seed", type=int, default=7, help="seed of the random-entry runs")
    parser.add_argument("--runs", type=int, default=200, help="random-entry runs the edge verdict compares against")
    parser.add_argument("--out", type=Path, help="write report.json, trades.csv and equity.png here")
    parser.set_defaults(handler=handle)


def write_outputs(report: BacktestReport, out: Path) -> list[Path]:
    """report.json, trades.csv and equity.png in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    written = [out / "report.json", out / "trades.csv"]
    written[0].write_text(json.dumps(report.to_json_dict(), indent=2))
    written[1].write_text(report.trades_csv())
    written.append(out / "equity.png")
    written[-1].write_bytes(equity_png(report))
    return written


def equity_png(report: BacktestReport) -> bytes:
    """The equity curve and its drawdown, in front of the random-entry runs' 5-95 % band."""
    from charts.equity_chart import render_equity_chart  # drawing only when asked for (--out)

    d = report.data
    title = f"Backtest {d['days']:g}d, {len(d['pairs'])} pairs"
    return render_equity_chart(report.equity, title=title, band=report.random_band)


def history_for(args: argparse.Namespace, params: StrategyParams) -> History:
    """The history of ``--data``, or of ``--exchange`` once its cache covers the window and the warm-up."""
    pairs = parse_pairs(args.pairs)
    if args.exchange is None:
        return load_history(args.data, args.funding, pairs)
    parse_days(args.days)
    start = parse_time(args.start, "--start") if args.start else None
    from bot.cli._exchange import exchange_history  # settings and the downloader: only for --exchange

    folder, pairs = exchange_history(args.exchange, pairs, start, args.days, params)
    return load_history(folder, args.funding, pairs)


def handle(args: argparse.Namespace) -> int:
    params = params_from_assignments(args.param)
    history = history_for(args, params)
    start, end = window(history, args.days, args.start, args.end)
    request = BacktestRequest(history, start, end, params, engine=args.engine, baseline_seed=args.seed,
                              baseline_runs=args.runs)
    report = run_backtest(request, progress=log.info)
    if args.out is not None:
        for path in write_outputs(report, args.out):
            log.info("wrote %s", path)
    sys.stdout.write(json.dumps(report.to_json_dict()) + "\n" if args.json else report.to_text())
    return 0
