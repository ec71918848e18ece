"""/tune preview: old vs new parameters on the last 7 days and the 7 before, for 25 pairs.

    .venv/bin/python benchmarks/bench_tune_preview.py

The repository ships 6 real pairs (data/sample); the 25 pairs are those 6 under alias names
(BTCUSDT, BTCUSDT_2, ... : the same candles again), which costs the same work as 25 distinct pairs
(nothing is shared between pairs: indicators are memoised on the candle values, so the alias copies
are scaled by 1 + 1e-6 x copy to defeat that cache). Timed like the bot does it
(bot/tune_impact.py): the history is built once per 15m close (timed apart); a first preview after a
close (new candles: nothing cached) computes old and new parameters; a second one before the next
close, or one after the /tune keyboard's warm-up, reuses the old parameters' signals and rows.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import pandas as pd

from engines.backtest.history import History, PairHistory
from engines.backtest.preview import tune_impact
from engines.backtest.sweep import SignalCache
from engines.params import DEFAULT_PARAMS
from market.files import list_symbols, read_candles, read_funding

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "sample"
PAIRS = 25


def load_25(cut: pd.Timestamp | None = None) -> History:
    """The 25 pairs, with only the candles closed by ``cut`` (the bot's history at that time)."""
    names = list_symbols(SAMPLE, "1m")
    out = []
    for n in range(PAIRS):
        real = names[n % len(names)]
        copy = n // len(names)
        m1 = read_candles(SAMPLE, real, "1m")
        if cut is not None:
            m1 = m1[m1["timestamp"] + pd.Timedelta(minutes=1) <= cut]
        if copy:
            scale = 1 + copy * 1e-6  # distinct values for the indicator cache, same market
            m1 = m1.assign(**{c: m1[c] * scale for c in ("open", "high", "low", "close")})
        name = real if not copy else f"{real}_{copy + 1}"
        out.append(PairHistory.from_candles(name, m1, read_funding(SAMPLE, real)))
    return History(tuple(out))


def main() -> None:
    last = load_25().end.floor("15min")
    firsts, seconds, loads = [], [], []
    for n in range(4):  # a new 15m close each time: new candles, so the indicator memo misses too
        began = time.perf_counter()
        history = load_25(last - n * pd.Timedelta(minutes=15))
        loads.append(time.perf_counter() - began)
        end = history.end.floor("15min")
        cache, rows = SignalCache(history, end - pd.Timedelta(days=14), end), {}
        began = time.perf_counter()
        impact = tune_impact(history, DEFAULT_PARAMS, DEFAULT_PARAMS.with_changes(tolerance=0.2), end, cache=cache,
                             rows=rows)
        firsts.append(time.perf_counter() - began)
        began = time.perf_counter()  # a second preview before the next 15m close: old parameters cached
        tune_impact(history, DEFAULT_PARAMS, DEFAULT_PARAMS.with_changes(sl=0.6 + n / 10), end, cache=cache,
                    rows=rows)
        seconds.append(time.perf_counter() - began)
    print(f"pairs: {impact.pairs} (the 6 real pairs of data/sample under alias names), 14 days to {end}, "
          f"{impact.random_runs} random-entry runs per row")
    print(f"load + build history (bot: once per 15m close, also in the worker): "
          f"median {statistics.median(loads):.2f} s")
    print(f"first preview in a process (numba and indicator memo cold): {firsts[0]:.2f} s")
    print(f"first preview after a 15m close: median {statistics.median(firsts[1:]):.2f} s (goal <= 3 s)")
    print(f"next preview before the next close, or after the keyboard warm-up (old parameters cached): "
          f"median {statistics.median(seconds[1:]):.2f} s")
    for row in impact.rows:
        pf = "-" if row.profit_factor is None else f"{row.profit_factor:.2f}"
        print(f"  {row.params} {row.window}: {row.trades} trades, win {row.win_rate:.1f} %, "
              f"PF {pf}, P&L {row.net_pnl:+,.2f}, percentile {row.percentile}")


if __name__ == "__main__":
    main()
