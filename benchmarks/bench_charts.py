"""Benchmark: render time of each chart for 120 real 15m candles (SOLUSDT, May 2025).

Prints, per chart, the median wall time and CPU time of warm renders (figure, drawing and PNG
encoding; data loading excluded). Goal: <= 300 ms each.

The charts keep text layouts, glyphs and a spare figure from one render to the next, so rendering
the same chart again is the best case; a second line per chart gives the median over charts never
drawn before in the process (other pairs and windows: new prices, tick labels and titles).

    .venv/bin/python benchmarks/bench_charts.py [--data DIR] [--runs 20]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from charts import render_equity_chart, render_levels_chart, render_position_chart, render_signal_chart
from engines.candles import resample
from engines.levels import find_levels
from engines.models import ExhaustionChecks, Signal, Swing, Trend
from engines.params import DEFAULT_PARAMS
from engines.ticks import infer_tick, round_to_tick
from market.files import read_candles

DEFAULT_DATA = Path(__file__).resolve().parent.parent / "data" / "sample"  # or --data DIR
WINDOW_END = pd.Timestamp("2025-05-20 00:00", tz="UTC")
CANDLES = 120
GOAL_MS = 300.0
NEW_DATA_PAIRS = ("SOLUSDT", "BTCUSDT", "ETHUSDT", "BNBUSDT", "LINKUSDT")
NEW_DATA_STEP = pd.Timedelta(hours=37)  # windows this far apart: no tick label or title repeats


def chart_jobs(m1: pd.DataFrame, window_end: pd.Timestamp = WINDOW_END,
               pair: str = "SOLUSDT") -> dict[str, Callable[[], bytes]]:
    """One closure per chart, each rendering from the same real window."""
    m15 = resample(m1, "15m")
    candles = m15[m15["timestamp"] < window_end].tail(CANDLES).reset_index(drop=True)
    close = float(candles["close"].iloc[-1])
    levels = find_levels(m15[m15["timestamp"] < window_end].tail(DEFAULT_PARAMS.sr_lookback), DEFAULT_PARAMS, close)
    hours = (candles["timestamp"] - candles["timestamp"].iloc[-1]) / pd.Timedelta(hours=1) - 0.75
    slope, intercept = np.polyfit(hours.to_numpy(), candles["close"].to_numpy(), 1)
    trend = Trend(slope=float(slope), intercept=float(intercept))
    top, bottom = candles["high"].idxmax(), candles["low"].idxmin()
    swings = [Swing(candles["timestamp"][top], float(candles["high"][top]), "high"),
              Swing(candles["timestamp"][bottom], float(candles["low"][bottom]), "low")]
    tick = infer_tick(candles["close"].to_numpy())
    signal = Signal(type="SCALP", pair=pair, side="LONG", entry=close, tp=round_to_tick(close * 1.005, tick),
                    sl=round_to_tick(close * 0.995, tick), support=[lv.price for lv in levels if lv.kind == "support"],
                    resistance=[lv.price for lv in levels if lv.kind == "resistance"], trend=trend,
                    timestamp=window_end.to_pydatetime(), confidence=72,
                    exhaustion_checks=ExhaustionChecks(volume_drop=True, double_wick=True))
    h1 = resample(m1, "1h")
    if window_end != WINDOW_END:  # the default chart keeps the whole month, as it always did
        h1 = h1[h1["timestamp"] < window_end]
    equity = pd.Series(10_000.0 * h1["close"].to_numpy() / h1["close"].iloc[0], index=pd.DatetimeIndex(h1["timestamp"]))
    opened = candles["timestamp"].iloc[90]
    return {
        "levels": lambda: render_levels_chart(candles, pair=pair, timeframe="15m", levels=levels, trend=trend,
                                              swings=swings),
        "signal": lambda: render_signal_chart(candles, signal, levels=levels, title_note="confidence 72"),
        "position": lambda: render_position_chart(candles, pair=pair, side="LONG", entry=close * 0.99,
                                                  tp=close * 1.01, sl=close * 0.98, opened_at=opened, last_price=close),
        "equity": lambda: render_equity_chart(equity, title=f"{pair} hold", benchmark=equity.rename("x0.9") * 0.9),
    }


def timed(job: Callable[[], bytes], runs: int) -> tuple[float, float, int]:
    """Median wall and CPU seconds of ``runs`` renders, and the PNG size."""
    walls, cpus, size = [], [], 0
    for _ in range(runs):
        wall, cpu = time.perf_counter(), time.process_time()
        size = len(job())
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus), size


def timed_new_data(jobs: list[Callable[[], bytes]]) -> tuple[float, float]:
    """Median wall and CPU seconds of rendering each of ``jobs`` once (each a chart not drawn before)."""
    walls, cpus = [], []
    for job in jobs:
        wall, cpu = time.perf_counter(), time.process_time()
        job()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus)


def new_data_jobs(data: Path, runs: int) -> dict[str, list[Callable[[], bytes]]]:
    """Per chart, ``runs`` renders of different pairs and windows (a window per pair, then earlier ones)."""
    m1 = {pair: read_candles(data, pair, "1m") for pair in NEW_DATA_PAIRS}
    jobs: dict[str, list[Callable[[], bytes]]] = {}
    for run in range(runs):
        pair = NEW_DATA_PAIRS[run % len(NEW_DATA_PAIRS)]
        end = WINDOW_END - NEW_DATA_STEP * (1 + run // len(NEW_DATA_PAIRS))
        for name, job in chart_jobs(m1[pair], end, pair).items():
            jobs.setdefault(name, []).append(job)
    return jobs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    jobs = chart_jobs(read_candles(args.data, "SOLUSDT", "1m"))
    for job in jobs.values():
        job(), job()  # warm: fonts, caches, first-use imports
    for name, job in jobs.items():
        wall, cpu, size = timed(job, args.runs)
        verdict = "ok" if wall * 1000 <= GOAL_MS else "over goal"
        print(f"charts: {name:<8} median {wall * 1000:6.1f} ms wall, {cpu * 1000:6.1f} ms CPU, "
              f"{size / 1024:5.1f} KiB ({args.runs} runs, {CANDLES} candles); goal <= {GOAL_MS:.0f} ms: {verdict}")
    for name, new_jobs in new_data_jobs(args.data, args.runs).items():
        wall, cpu = timed_new_data(new_jobs)
        verdict = "ok" if wall * 1000 <= GOAL_MS else "over goal"
        print(f"charts: {name:<8} median {wall * 1000:6.1f} ms wall, {cpu * 1000:6.1f} ms CPU, a new chart each "
              f"render ({len(new_jobs)} pairs/windows); goal <= {GOAL_MS:.0f} ms: {verdict}")


if __name__ == "__main__":
    main()
