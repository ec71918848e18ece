"""Print the README's results tables: default-parameter backtests on each 1m data folder given, and
one sweep chosen in-sample and judged out-of-sample on the last of them.

    .venv/bin/python docs/results.py [--data DIR ...] [--funding DIR]

A data folder holds ``<SYMBOL>_1m.parquet`` files (and ``<SYMBOL>_funding.parquet``, unless
``--funding`` names another folder): the bundled ``data/sample`` (the default) or a folder made by
``signaltracker download``. The README's tables were printed from three month-long Binance USDT-M
folders (May 2025, Jul-Aug 2023, Jan 2026) of the project's real-data set.

The numbers are whatever the data say; nothing here is tuned to them.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from bot.cli.backtest import load_history
from engines.backtest.run import BacktestRequest, run_backtest
from engines.backtest.stats import break_even_win_rate
from engines.backtest.sweep import SweepRequest, run_sweep
from engines.params import DEFAULT_PARAMS
from market.files import SAMPLE_DATA_DIR, list_symbols

# Pairs left out of a folder because they do not share its long window or are not a tradable swing
# (in the README's folders: ADA/DOGE/DOT start late in May 2025, DASH/EOS/ZEC end early in 2023,
# USDC is a stablecoin).
EXCLUDED = {"1m_2025-05": {"ADAUSDT", "DOGEUSDT", "DOTUSDT"},
            "1m_2023-07": {"DASHUSDT", "EOSUSDT", "ZECUSDT", "USDCUSDT"}}
WARM_UP_DAYS = 11  # 250 h of 1h candles before the first MACRO decision


def pf(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def pairs_of(folder: Path) -> list[str]:
    return [p for p in list_symbols(folder, "1m") if p not in EXCLUDED.get(folder.name, set())]


def backtest_rows(folders: list[Path], funding: Path | None) -> list[str]:
    rows = ["| data set | window | pairs | engine | trades | win % | break-even % | PF | P&L / day | max DD % | random entries: win % / PF / P&L per day |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for folder in folders:
        name = folder.name
        history = load_history(folder, funding or folder, pairs_of(folder))
        start, end = history.first + pd.Timedelta(days=WARM_UP_DAYS), history.end
        report = run_backtest(BacktestRequest(history, start, end, DEFAULT_PARAMS))
        m, b, days = report.metrics, report.baseline, report.data["days"]
        window = f"{start:%Y-%m-%d} → {end:%Y-%m-%d} ({days:.1f} d)"
        rows.append(f"| {name} | {window} | {len(history.pairs)} | all | {m.trades} | {m.win_rate:.1f} | "
                    f"— | {pf(m.profit_factor)} | {m.avg_daily_pnl:,.0f} | {m.max_drawdown_pct:.1f} | "
                    f"{b.win_rate:.1f} / {pf(b.profit_factor)} / {b.avg_daily_pnl:,.0f} |")
        for engine, g in m.per_engine.items():
            tp, sl = (DEFAULT_PARAMS.macro_tp, DEFAULT_PARAMS.macro_sl) if engine == "MACRO" else (DEFAULT_PARAMS.tp, DEFAULT_PARAMS.sl)
            be = break_even_win_rate(tp, sl, report.data["fee_rate"])
            rows.append(f"| | | | {engine} | {g.trades} | {g.win_rate:.1f} | {be:.1f} | {pf(g.profit_factor)} | "
                        f"{g.net_pnl / days:,.0f} | | |")
    return rows


def sweep_text(folder: Path, funding: Path | None) -> str:
    history = load_history(folder, funding or folder, pairs_of(folder))
    start, end = history.first + pd.Timedelta(days=WARM_UP_DAYS), history.end
    grid = {"tolerance": (0.2, 0.25, 0.3), "volume_multiplier": (0.3, 0.4, 0.5), "sr_lookback": (100, 120, 150)}
    report = run_sweep(SweepRequest(history, start, end, grid=grid, split=0.7, min_trades=10))
    text = report.to_text()
    return text[: text.index("All combinations")].rstrip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, nargs="+", default=[SAMPLE_DATA_DIR],
                        help="1m data folders, one table row group each (default: data/sample)")
    parser.add_argument("--funding", type=Path, help="funding folder (default: each data folder itself)")
    args = parser.parse_args()
    print("\n".join(backtest_rows(args.data, args.funding)))
    print()
    print(sweep_text(args.data[-1], args.funding))


if __name__ == "__main__":
    main()
