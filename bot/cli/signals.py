"""``signaltracker signals``: every signal the engines give over history, one JSON object per line.

    signaltracker signals (--data DIR | --exchange bybit|binanceusdm) [--pairs A,B] [--start ISO] [--end ISO]
                          [--engine micro|macro|all] [--param key=value ...]

Reads ``DIR/<SYMBOL>_<tf>.parquet`` (15m and 1h resampled from 1m when absent) and runs the engines
over every closed candle in the window, printing signals in time order. The risk rules are not applied (that is the backtester's job).
``--exchange`` reads the bot's cache of that exchange (15m and 1h always resampled from its 1m
candles) after downloading what the window (default: the last 7 days) and the warm-up lack.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from bot.cli._arguments import EXCHANGES, parse_pairs, parse_time
from engines.candles import resample
from engines.errors import DataUnavailable, InvalidInput
from engines.params import params_from_assignments
from engines.scan import ENGINES, scan_signals
from market.files import PairCandles, list_symbols, load_pair, read_candles


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("signals", help="print the engines' signals over history as JSON lines",
                                   description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--data", type=Path, help="folder of <SYMBOL>_<tf>.parquet files")
    source.add_argument("--exchange", choices=EXCHANGES, help="the bot's cache of this exchange, completed first")
    parser.add_argument("--pairs", help="comma-separated symbols (default: all in --data)")
    parser.add_argument("--start", help="first decision time, ISO UTC (default: the data's start)")
    parser.add_argument("--end", help="last decision time, ISO UTC (default: the data's end)")
    parser.add_argument("--engine", choices=ENGINES, default="all")
    parser.add_argument("--param", action="append", default=[], metavar="KEY=VALUE", help="strategy parameter")
    parser.set_defaults(handler=handle)


def _pairs(data_dir: Path, requested: list[str] | None) -> list[str]:
    if not data_dir.is_dir():
        raise DataUnavailable(f"--data: {data_dir} is not a folder")
    available = list_symbols(data_dir)
    if not available:
        raise DataUnavailable(f"--data: no <SYMBOL>_<tf>.parquet files in {data_dir}")
    unknown = [p for p in requested or [] if p not in available]
    if unknown:
        raise InvalidInput(f"--pairs: no data for {', '.join(unknown)}; available: {', '.join(available)}")
    return requested or available


def _window(start: str | None, end: str | None) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    first = parse_time(start, "--start") if start else None
    last = parse_time(end, "--end") if end else None
    if first is not None and last is not None and last <= first:
        raise InvalidInput(f"--end ({last.isoformat()}) must be after --start ({first.isoformat()})")
    return first, last


def _from_1m(folder: Path, pair: str) -> PairCandles:
    m1 = read_candles(folder, pair, "1m")
    if m1 is None:
        raise DataUnavailable(f"no 1m candles for {pair} in {folder}")
    return PairCandles(pair, m1, resample(m1, "15m"), resample(m1, "1h"))


def handle(args: argparse.Namespace) -> int:
    params = params_from_assignments(args.param)
    start, end = _window(args.start, args.end)
    if args.exchange is not None:
        from bot.cli._exchange import DEFAULT_DAYS, current_time, exchange_history  # only for --exchange

        start = start if start is not None else current_time().floor("min") - pd.Timedelta(days=DEFAULT_DAYS)
        folder, pairs = exchange_history(args.exchange, parse_pairs(args.pairs), start, None, params)
        load = _from_1m
    else:
        folder, pairs, load = args.data, _pairs(args.data, parse_pairs(args.pairs)), load_pair
    covered, signals = False, []
    for pair in pairs:
        candles = load(folder, pair)
        first, last = candles.m15["timestamp"].iloc[0], candles.m15["timestamp"].iloc[-1]
        if (end is not None and end < first) or (start is not None and start > last):
            continue
        covered = True
        signals += scan_signals(candles.m1, pair, params, engine=args.engine, start=start, end=end,
                                candles_15m=candles.m15, candles_1h=candles.h1)
    if not covered:
        raise DataUnavailable(f"no candles of {', '.join(pairs)} in the window {args.start} .. {args.end}")
    for signal in sorted(signals, key=lambda s: (s.timestamp, s.pair, s.type)):
        sys.stdout.write(signal.to_json() + "\n")
    return 0
