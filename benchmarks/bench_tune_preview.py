"""/tune preview: old vs new parameters on the last 7 days and the 7 before, for 25 pairs.

    .venv/bin/python benchmarks/bench_tune_preview.py

The repository ships 6 real pairs (data/sample); the 25 pairs are those 6 under alias names
(BTCUSDT, BTCUSDT_2, ... : the same candles again), which costs the same work as 25 distinct pairs
(nothing is shared between pairs: indicators are memoised on the candle values, so the alias copies
are shifted by one tick's worth of price to defeat that cache). Timed like the bot does it: reading
the candle files and building the history, then ``tune_impact``; median of 3 runs, cold first run
reported separately.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import pandas as pd

from engines.backtest.history import History, PairHistory
from engines.backtest.preview import tune_impact
from engines.params import DEFAULT_PARAMS
from market.files import list_symbols, read_candles, read_funding

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "sample"
PAIRS = 25
CHANGE = {"tolerance": 0.2}


def load_25() -> History:
    names = list_symbols(SAMPLE, "1m")
    out = []
    for n in range(PAIRS):
        real = names[n % len(names)]
        copy = n // len(names)
        m1 = read_candles(SAMPLE, real, "1m")
        if copy:
            scale = 1 + copy * 1e-6  # distinct values for the indicator cache, same market
            m1 = m1.assign(**{c: m1[c] * scale for c in ("open", "high", "low", "close")})
        name = real if not copy else f"{real}_{copy + 1}"
        out.append(PairHistory.from_candles(name, m1, read_funding(SAMPLE, real)))
    return History(tuple(out))


def main() -> None:
    timings, loads = [], []
    for _ in range(4):
        began = time.perf_counter()
        history = load_25()
        loaded = time.perf_counter()
        impact = tune_impact(history, DEFAULT_PARAMS, DEFAULT_PARAMS.with_changes(**CHANGE), history.end)
        timings.append(time.perf_counter() - loaded)
        loads.append(loaded - began)
    print(f"pairs: {impact.pairs} (6 real pairs of data/sample under alias names), 14 days, change {CHANGE}, "
          f"{impact.random_runs} random runs per row")
    print(f"load history: median {statistics.median(loads[1:]):.2f} s")
    print(f"tune_impact: cold {timings[0]:.2f} s, warm median {statistics.median(timings[1:]):.2f} s")
    print(f"total (load + impact, warm): {statistics.median(loads[1:]) + statistics.median(timings[1:]):.2f} s "
          f"(goal <= 3 s)")
    for row in impact.rows:
        print(f"  {row.params} {row.window}: {row.trades} trades, win {row.win_rate:.1f} %, "
              f"PF {row.profit_factor}, P&L {row.net_pnl:+.2f}, percentile {row.percentile}")


if __name__ == "__main__":
    main()
