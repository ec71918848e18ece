"""Benchmark: `signals` (both engines) over every 1m pair of a folder (default data/sample) for the last 7 days.

Prints the wall time of one cold run (numba compiled or loaded from its cache) and the median of
warm runs, excluding Parquet reading and interpreter start. Goal: <= 0.2 s warm.

    .venv/bin/python benchmarks/bench_engines.py [--data DIR] [--days 7] [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engines.params import DEFAULT_PARAMS  # noqa: E402
from engines.scan import scan_signals  # noqa: E402
from market.files import list_symbols, read_candles  # noqa: E402

DEFAULT_DATA = Path(__file__).resolve().parent.parent / "data" / "sample"


def run_once(candles: dict[str, pd.DataFrame], start: pd.Timestamp, end: pd.Timestamp) -> tuple[float, int]:
    began = time.perf_counter()
    count = sum(len(scan_signals(frame, pair, DEFAULT_PARAMS, start=start, end=end)) for pair, frame in candles.items())
    return time.perf_counter() - began, count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--days", type=float, default=7)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    candles = {pair: read_candles(args.data, pair, "1m") for pair in list_symbols(args.data, "1m")}
    end = min(frame["timestamp"].iloc[-1] for frame in candles.values()).floor("15min")
    start = end - pd.Timedelta(days=args.days)
    cold, count = run_once(candles, start, end)
    warm = [run_once(candles, start, end)[0] for _ in range(args.runs)]
    print(f"engines: {len(candles)} pairs x {args.days:g} days ({start:%Y-%m-%d %H:%M} .. {end:%Y-%m-%d %H:%M} UTC), "
          f"{count} signals")
    print(f"engines: cold {cold:.3f} s, warm median {statistics.median(warm):.3f} s "
          f"(min {min(warm):.3f}, max {max(warm):.3f}, {args.runs} runs); goal <= 0.200 s warm")


if __name__ == "__main__":
    main()
