"""Render the README's figures from the bundled real data (data/sample) into docs/.

    .venv/bin/python docs/make_figures.py

Every figure is the product's own output: the same engines and chart functions the bot uses.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from charts import render_equity_chart, render_levels_chart, render_signal_chart
from engines.backtest.history import History, PairHistory
from engines.backtest.run import BacktestRequest, run_backtest
from engines.candles import resample
from engines.macro import evaluate_macro
from engines.micro import evaluate_scalp
from engines.params import DEFAULT_PARAMS
from market.files import SAMPLE_DATA_DIR, list_symbols, read_candles, read_funding

OUT = Path(__file__).resolve().parent
DECISION = pd.Timestamp("2025-05-18 19:00", tz="UTC")  # a real SOLUSDT scalp signal (see tests/engines/test_micro.py)


def main() -> None:
    m1 = read_candles(SAMPLE_DATA_DIR, "SOLUSDT", "1m")
    m15, h1 = resample(m1, "15m"), resample(m1, "1h")
    m15_closed = m15[m15["timestamp"] < DECISION].reset_index(drop=True)
    scalp = evaluate_scalp(m15_closed, "SOLUSDT", DEFAULT_PARAMS, 0.01)
    macro = evaluate_macro(h1[h1["timestamp"] < DECISION].reset_index(drop=True), "SOLUSDT", DEFAULT_PARAMS, 0.01)
    window = m15_closed.tail(DEFAULT_PARAMS.sr_lookback)
    (OUT / "levels_SOLUSDT_15m.png").write_bytes(render_levels_chart(
        window, pair="SOLUSDT", timeframe="15m", levels=scalp.levels, trend=macro.trend, trend_origin=macro.time))
    (OUT / "signal_SOLUSDT.png").write_bytes(render_signal_chart(window, scalp.signal, levels=scalp.levels))
    history = History(tuple(PairHistory.from_candles(p, read_candles(SAMPLE_DATA_DIR, p, "1m"),
                                                     read_funding(SAMPLE_DATA_DIR, p))
                            for p in list_symbols(SAMPLE_DATA_DIR, "1m")))
    start, end = history.last_days(7)
    report = run_backtest(BacktestRequest(history, start, end, DEFAULT_PARAMS))
    (OUT / "equity_7d_sample.png").write_bytes(render_equity_chart(report.equity, title="7-day backtest, 6 sample pairs"))
    print(scalp.signal.to_json())


if __name__ == "__main__":
    main()
