"""Backtester at scale: 100 pairs x 30 days, its peak memory, and a 27-combination sweep (local and Ray).

    .venv/bin/python benchmarks/bench_scale.py [--data DIR] [--pairs 100] [--days 30] [--ray-address ADDR]

Default data: the repository's real Binance USD-M 1m candles of XRPUSDT and DOGEUSDT, July-August 2023
(``tests/data/binance_usdm_perp/1m_2023-07``: 22 days, so the window is the 22 days they cover; a folder
made by ``signaltracker download --days 40`` gives the full 30), repeated under alias names
(``XRP2USDT`` ...) up to ``--pairs``; every alias does the full work. No funding file: the backtester
charges its assumed rate at 00/08/16 UTC. When the data cover fewer than ``--days``, the longest window
they cover is used and printed.

Each measurement runs in a fresh interpreter, so its peak RSS (``ru_maxrss``) is its own:
- load: reading and validating the Parquet files, building 15m/1h candles;
- backtest: ``run_backtest`` on the window, warm (one run first compiles the numba kernels);
- sweep: tolerance x volume_multiplier x sr_lookback (27 combinations + base), 70/30 split, local;
- with ``--ray-address``: the same sweep on that running Ray cluster (``sweep --executor ray --address``).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
DATA = REPO / "tests" / "data" / "binance_usdm_perp" / "1m_2023-07"
GRID = {"tolerance": (0.2, 0.25, 0.3), "volume_multiplier": (0.3, 0.4, 0.5), "sr_lookback": (100, 125, 150)}

CHILD = """
import json, resource, sys, time
sys.path.insert(0, {repo!r})
from bot.cli.backtest import load_history
from engines.backtest.run import BacktestRequest, run_backtest
from engines.backtest.sweep import SweepRequest, run_sweep

what, data, days, address = {what!r}, {data!r}, {days!r}, {address!r}
grid = {{k: tuple(v) for k, v in {grid!r}.items()}}
began = time.perf_counter()
history = load_history(data)
days = min(days, int((history.end - history.first).total_seconds() // 86400))  # what the data cover
start, end = history.last_days(days)
out = {{"load_s": time.perf_counter() - began, "pairs": len(history.pairs), "start": str(start), "end": str(end),
        "days": days}}
if what == "backtest":
    request = BacktestRequest(history, start, end)
    run_backtest(request)
    began = time.perf_counter()
    report = run_backtest(request)
    out |= {{"seconds": time.perf_counter() - began, "trades": report.metrics.trades}}
else:
    request = SweepRequest(history, start, end, grid, executor="ray" if address else "local", address=address or None)
    began = time.perf_counter()
    result = run_sweep(request)
    out |= {{"seconds": time.perf_counter() - began, "combos": len(result.combos)}}
out["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))
"""


def measure(what: str, data: Path, days: float, address: str = "") -> dict:
    code = CHILD.format(repo=str(REPO), what=what, data=str(data), days=days, address=address, grid=GRID)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{what} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    from bench_backtest import alias_folder

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--pairs", type=int, default=100)
    parser.add_argument("--days", type=float, default=30)
    parser.add_argument("--ray-address", default="", help="a running Ray cluster for the sweep (e.g. 127.0.0.1:6379)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        data = alias_folder(args.data, Path(folder), args.pairs)
        backtest = measure("backtest", data, args.days)
        print(f"{backtest['pairs']} pairs x {backtest['days']:g} days ({backtest['start']} -> {backtest['end']}; "
              f"asked {args.days:g}): "
              f"load {backtest['load_s']:.2f} s; backtest {backtest['seconds']:.2f} s warm (goal <= 5 s), "
              f"{backtest['trades']} trades; peak RSS {backtest['peak_mb']:.0f} MB (goal <= 1,536 MB)")
        sweep = measure("sweep", data, args.days)
        print(f"sweep of {sweep['combos']} combinations + base, local: {sweep['seconds']:.1f} s (goal <= 30 s), "
              f"peak RSS {sweep['peak_mb']:.0f} MB")
        if args.ray_address:
            remote = measure("sweep", data, args.days, args.ray_address)
            print(f"sweep of {remote['combos']} combinations + base on Ray at {args.ray_address}: "
                  f"{remote['seconds']:.1f} s (goal <= 30 s), driver peak RSS {remote['peak_mb']:.0f} MB")
        else:
            print("Ray: not measured (give --ray-address of a running cluster, e.g. after `ray start --head`)")


if __name__ == "__main__":
    main()
