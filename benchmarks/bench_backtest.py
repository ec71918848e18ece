"""Backtester speed: full 7-day backtest on every 1m pair vs backtesting.py executing the same entries.

    .venv/bin/python benchmarks/bench_backtest.py [--data DIR] [--days 7] [--repeat 3]

Prints (best of ``--repeat`` warm runs, after one warm-up run that compiles the numba kernels):
- ours: signals of both engines + 1m exits + portfolio passes (main, no-conflict-rule) + 200 random-entry
  runs with the edge verdict + report;
- ours, execution only: exits + one portfolio pass on the same candidates;
- backtesting.py: its execution alone of our main run's entries (one Backtest per pair and engine,
  on the 1m candles from the window start to the end of the data, same TP/SL/time stops);
- the ratio, and a 27-combination sweep (tolerance x volume_multiplier x sr_lookback).
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.cli.backtest import load_history  # noqa: E402
from engines.backtest.candidates import pair_candidates  # noqa: E402
from engines.backtest.portfolio import simulate  # noqa: E402
from engines.backtest.run import BacktestRequest, prepare, run_backtest  # noqa: E402
from engines.backtest.sweep import SweepRequest, run_sweep  # noqa: E402
from engines.params import DEFAULT_PARAMS  # noqa: E402
from tests.engines.backtest.own_entries import own_entries_strategy  # noqa: E402

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "binance_usdm_perp" / "1m_2025-05"
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--days", type=float, default=7)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    began = time.perf_counter()
    history = load_history(args.data)
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
    print(f"ours, full backtest (signals + exits + 2 passes + random runs + report): {full:.3f} s")
    print(f"ours, execution only (exits + portfolio pass):                      {ours_exec:.3f} s")
    print(f"backtesting.py, execution of the same entries:                       {theirs:.3f} s")
    print(f"ratio backtesting.py execution / our full backtest:                  {theirs / full:.1f}x")
    print(f"ratio backtesting.py execution / our execution:                      {theirs / ours_exec:.1f}x")

    grid = {"tolerance": (0.2, 0.25, 0.3), "volume_multiplier": (0.3, 0.4, 0.5), "sr_lookback": (100, 125, 150)}
    sweep = SweepRequest(history, start, end, grid)
    sweep_time, result = best_of(1, lambda: run_sweep(sweep))
    print(f"sweep of {len(result.combos)} combinations (+ base), 70/30 split: {sweep_time:.2f} s (goal <= 3 s)")


if __name__ == "__main__":
    main()
