"""``signaltracker download``: exchange history into the folder ``--data`` reads.

    signaltracker download --exchange bybit|binanceusdm [--pairs A,B | --top N] --days N [--dest DIR]
                           [--no-funding]

Closed 1m candles of USDT-settled linear perpetuals (``--top N``: the N with the highest 24 h
turnover, as the bot picks them; default 25) and their funding history, written as
``DIR/<PAIR>_1m.parquet`` and ``DIR/<PAIR>_funding.parquet``. ``DIR`` defaults to the bot's cache
(``CACHE_DIR/<exchange>``). A re-run fetches only what is missing; an interrupted run leaves valid
files. Endpoints: ``BYBIT_REST_URL``, ``BINANCE_REST_URL``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bot.cli._arguments import EXCHANGES, parse_days, parse_pairs
from bot.cli._exchange import DEFAULT_TOP, BarProgress, download


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("download", help="download exchange history (1m candles, funding)",
                                   description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--exchange", choices=EXCHANGES, required=True)
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--pairs", help="comma-separated symbols, e.g. BTCUSDT,SOLUSDT")
    which.add_argument("--top", type=int, help=f"the N pairs with the highest 24 h turnover (default {DEFAULT_TOP})")
    parser.add_argument("--days", type=float, required=True, help="the last N days")
    parser.add_argument("--dest", type=Path, help="folder to fill (default: the bot's cache of the exchange)")
    parser.add_argument("--no-funding", action="store_true", help="candles only")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    parse_days(args.days)
    pairs = parse_pairs(args.pairs)
    top = None if pairs else (DEFAULT_TOP if args.top is None else args.top)
    progress = BarProgress()
    try:
        summary = download(args.exchange, pairs, top, args.days, args.dest, funding=not args.no_funding,
                           progress=progress)
    finally:
        progress.close()
    sys.stdout.write(summary.line() + "\n")
    return 0
