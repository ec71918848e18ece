"""Print the README's results tables: default-parameter backtests on the three independent 1m data
sets of the shared real data, and one sweep chosen in-sample and judged out-of-sample.

    .venv/bin/python docs/results.py [--shared ../shared/data/binance_usdm_perp]

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

SHARED = Path(__file__).resolve().parent.parent.parent / "shared/data/binance_usdm_perp"
# pairs whose 1m files share one long window (ADA/DOGE/DOT start late in 2025-05; DASH/EOS/ZEC end
# early in 2023-07, and USDC is a stablecoin, not a tradable swing)
DATASETS = {
    "1m_2025-05": ["AVAXUSDT", "BCHUSDT", "BNBUSDT", "BTCUSDT", "ENAUSDT", "ETHUSDT", "LINKUSDT", "LTCUSDT",
                   "SOLUSDT", "SUIUSDT", "XRPUSDT"],
    "1m_2023-07": ["ADAUSDT", "BNBUSDT", "BTCUSDT", "DOGEUSDT", "DOTUSDT", "ETHUSDT", "LTCUSDT", "MATICUSDT",
                   "SOLUSDT", "TRXUSDT", "XRPUSDT"],
    "1m_2026-01": None,
}
WARM_UP_DAYS = 11  # 250 h of 1h candles before the first MACRO decision


def pf(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def backtest_rows(shared: Path) -> list[str]:
    rows = ["| data set | window | pairs | engine | trades | win % | break-even % | PF | P&L / day | max DD % | random entries: win % / PF / P&L per day |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name, pairs in DATASETS.items():
        history = load_history(shared / name, shared / "funding", pairs)
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


def sweep_text(shared: Path) -> str:
    history = load_history(shared / "1m_2026-01", shared / "funding")
    start, end = history.first + pd.Timedelta(days=WARM_UP_DAYS), history.end
    grid = {"tolerance": (0.2, 0.25, 0.3), "volume_multiplier": (0.3, 0.4, 0.5), "sr_lookback": (100, 120, 150)}
    report = run_sweep(SweepRequest(history, start, end, grid=grid, split=0.7, min_trades=10))
    text = report.to_text()
    return text[: text.index("All combinations")].rstrip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=SHARED)
    args = parser.parse_args()
    print("\n".join(backtest_rows(args.shared)))
    print()
    print(sweep_text(args.shared))


if __name__ == "__main__":
    main()
