"""``signaltracker sweep``: grid search chosen on in-sample time, reported on out-of-sample time.

    signaltracker sweep (--data DIR | --exchange bybit|binanceusdm) [--grid key=v1,v2 ...] [--split 0.7] [--walk-forward N]
                        [--min-trades 10] [--executor local|ray [--address ADDR]] [--json] [same data flags as backtest]

Default grid: tolerance 0.2,0.25,0.3; volume_multiplier 0.3,0.4,0.5; sr_lookback 100,125,150;
trend_lookback 150,200,250 (81 combinations). A ``--grid`` replaces the default grid.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from typing import Any

from bot.cli.backtest import add_data_arguments, history_for, window
from engines.backtest.sweep import DEFAULT_GRID, SweepRequest, run_sweep
from engines.errors import InvalidInput
from engines.params import params_from_assignments, parse_value

log = logging.getLogger(__name__)


def parse_grid(items: list[str]) -> dict[str, tuple[Any, ...]]:
    """``["tolerance=0.2,0.3"]`` -> ``{"tolerance": (0.2, 0.3)}`` (values parsed, ranges checked later)."""
    if not items:
        return dict(DEFAULT_GRID)
    grid: dict[str, tuple[Any, ...]] = {}
    for item in items:
        key, sep, text = item.partition("=")
        values = [v.strip() for v in text.split(",") if v.strip()]
        if not sep or not key.strip() or not values:
            raise InvalidInput(f"--grid: expected key=v1,v2,..., got {item!r}")
        grid[key.strip()] = tuple(parse_value(key.strip(), v) for v in values)
    return grid


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("sweep", help="parameter sweep with in-sample/out-of-sample split",
                                   description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_data_arguments(parser)
    parser.add_argument("--grid", action="append", default=[], metavar="KEY=V1,V2", help="values of one parameter")
    parser.add_argument("--split", type=float, default=0.7, help="in-sample fraction of the window (default 0.7)")
    parser.add_argument("--walk-forward", type=int, default=0, metavar="N", help="also run N rolling folds")
    parser.add_argument("--min-trades", type=int, default=10, help="in-sample trades a combination needs")
    parser.add_argument("--executor", choices=("local", "ray"), default="local")
    parser.add_argument("--address", default=None, metavar="ADDR",
                        help="with --executor ray: the running Ray cluster to use (e.g. ray://head:10001)")
    parser.add_argument("--runs", type=int, default=100, help="random-entry runs per combination (out-of-sample)")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    base = params_from_assignments(args.param)
    grid = parse_grid(args.grid)
    widest = base.with_changes(**{k: max(v) for k, v in grid.items() if k in ("trend_lookback", "sr_lookback")})
    history = history_for(args, widest)
    start, end = window(history, args.days, args.start, args.end)
    if args.min_trades < 0:
        raise InvalidInput(f"--min-trades: a whole number >= 0, got {args.min_trades}")
    request = SweepRequest(history, start, end, grid, base, split=args.split, folds=args.walk_forward,
                           min_trades=args.min_trades, executor=args.executor, runs=args.runs,
                           address=args.address)
    report = run_sweep(request, progress=log.info)
    sys.stdout.write(json.dumps(report.to_json_dict()) + "\n" if args.json else report.to_text())
    return 0
