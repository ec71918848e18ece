"""Backtester speed: full 7-day backtest on 14 pairs vs backtesting.py executing the same entries.

    .venv/bin/python benchmarks/bench_backtest.py [--data DIR] [--pairs 14] [--days 7] [--repeat 3]

By default the repository's ``data/sample`` (6 real pairs); ``--pairs N`` repeats them under alias names
(``BTC2USDT`` ...) up to N pairs, each doing the full work.

Prints (best of ``--repeat`` warm runs, after one warm-up run that compiles the numba kernels):
- ours: signals of both engines + 1m exits + portfolio passes (main, no-conflict-rule) + 200 random-entry
  runs with the edge verdict + report;
- ours, execution only: exits + one portfolio pass on the same candidates;
- backtesting.py: its execution alone of our main run's entries (one Backtest per pair and engine,
  on the 1m candles from the window start to the end of the data, same TP/SL/time stops);
- the ratio, and a 27-combination sweep (tolerance x volume_multiplier x sr_lookback);
- the whole ``signaltracker backtest --days 7`` as a fresh process (cold: interpreter, imports, reading).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.cli.backtest import load_history  # noqa: E402
from market.files import list_symbols  # noqa: E402
from engines.backtest.candidates import pair_candidates  # noqa: E402
from engines.backtest.portfolio import simulate  # noqa: E402
from engines.backtest.run import BacktestRequest, prepare, run_backtest  # noqa: E402
from engines.backtest.sweep import SweepRequest, run_sweep  # noqa: E402
from engines.params import DEFAULT_PARAMS  # noqa: E402
from tests.engines.backtest.own_entries import own_entries_strategy  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "data" / "sample"
MINUTE_NS = 60_000_000_000


def best_of(repeat: int, run) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        began = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - began)
    return min(times), result


def our_execution(history, prepared, start, end):
    candidates = []
    for pair in history.pairs:
        candidates += pair_candidates(pair, prepared.signals[pair.pair], DEFAULT_PARAMS, pair.funding_schedule)[0]
    return simulate(candidates, prepared.views, DEFAULT_PARAMS)


def backtesting_py_execution(history, trades, start) -> int:
    """Run backtesting.py on our entries, one Backtest per pair and engine; returns its trade count."""
    from backtesting import Backtest, Strategy

    count = 0
    for pair in history.pairs:
        for engine in ("SCALP", "MACRO"):
            own = [t for t in trades if t.pair == pair.pair and t.engine == engine]
            if not own:
                continue
            m1 = pair.m1[pair.m1["timestamp"] >= start - pd.Timedelta(minutes=3)].reset_index(drop=True)
            times = m1["timestamp"].dt.as_unit("ns").astype("int64").to_numpy()
            plan = {}
            for t in own:
                i = int(np.searchsorted(times, t.entry_time.value))
                stop = int(np.searchsorted(times, t.entry_time.value + hold(t) * MINUTE_NS))
                plan[i - 1] = (t, stop)
            frame = m1.rename(columns=str.capitalize).set_index("Timestamp")
            frame.index = frame.index.tz_localize(None)
            count += _run_backtesting_py(Backtest, Strategy, frame, plan)
    return count


def hold(trade) -> int:
    return DEFAULT_PARAMS.time_stop if trade.engine == "SCALP" else DEFAULT_PARAMS.macro_time_stop


def _run_backtesting_py(backtest_cls, strategy_cls, frame, plan) -> int:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        strategy = own_entries_strategy(strategy_cls, plan)
        stats = backtest_cls(frame, strategy, cash=1e12, commission=0.0, finalize_trades=True).run()
    return len(stats["_trades"])


def alias_folder(source: Path, target: Path, count: int) -> Path:
    """``count`` pairs in ``target``: the real pairs of ``source``, then the same files under alias names."""
    real = list_symbols(source, "1m")
    for k in range(count):
        origin = real[k % len(real)]
        name = origin if k < len(real) else origin.removesuffix("USDT") + f"{1 + k // len(real)}USDT"
        for kind in ("1m", "funding"):
            path = source / f"{origin}_{kind}.parquet"
            if path.exists():
                (target / f"{name}_{kind}.parquet").symlink_to(path.resolve())
    return target


def cli_cold(folder: Path, days: float) -> float:
    """Wall time of ``signaltracker backtest --data folder --days N`` as a new process."""
    code = "import sys; from bot.cli import main; raise SystemExit(main(sys.argv[1:]))"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    began = time.perf_counter()
    subprocess.run([sys.executable, "-c", code, "backtest", "--data", str(folder), "--days", f"{days:g}"],
                   env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--pairs", type=int, default=14, help="pairs (real ones, then aliases of them)")
    parser.add_argument("--days", type=float, default=7)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        run(args, alias_folder(args.data, Path(folder), args.pairs))


def run(args: argparse.Namespace, data: Path) -> None:
    cold = [cli_cold(data, args.days) for _ in range(2)]
    print(f"signaltracker backtest --days {args.days:g}, {args.pairs} pairs, whole process: {min(cold):.2f} s "
          f"(best of 2; goal <= 1.2 s)")
    began = time.perf_counter()
    history = load_history(data)
    print(f"loaded {len(history.pairs)} pairs in {time.perf_counter() - began:.2f} s")
    start, end = history.last_days(args.days)
    request = BacktestRequest(history, start, end)
    run_backtest(request)  # warm-up: numba compilation and caches

    full, report = best_of(args.repeat, lambda: run_backtest(request))
    prepared = prepare(history, DEFAULT_PARAMS, start, end)
    ours_exec, run = best_of(args.repeat, lambda: our_execution(history, prepared, start, end))
    theirs, count = best_of(1, lambda: backtesting_py_execution(history, run.trades, start))
    print(f"window {start:%Y-%m-%d %H:%M} -> {end:%Y-%m-%d %H:%M} UTC, {report.signals['candidates']} signals, "
          f"{report.metrics.trades} trades (backtesting.py executed {count})")
    print(f"ours, full backtest (signals + exits + 2 passes + random runs + report): {full:.3f} s (goal <= 0.2 s warm)")
    print(f"ours, execution only (exits + portfolio pass):                      {ours_exec:.3f} s")
    print(f"backtesting.py, execution of the same entries:                       {theirs:.3f} s")
    print(f"ratio backtesting.py execution / our full backtest:                  {theirs / full:.1f}x (goal >= 5x)")
    print(f"ratio backtesting.py execution / our execution:                      {theirs / ours_exec:.1f}x")

    grid = {"tolerance": (0.2, 0.25, 0.3), "volume_multiplier": (0.3, 0.4, 0.5), "sr_lookback": (100, 125, 150)}
    sweep = SweepRequest(history, start, end, grid)
    sweep_time, result = best_of(1, lambda: run_sweep(sweep))
    print(f"sweep of {len(result.combos)} combinations (+ base), 70/30 split: {sweep_time:.2f} s (goal <= 3 s)")


if __name__ == "__main__":
    main()
