"""Backtester: the engines over history through the live code path, with an honest report.

    from engines.backtest import BacktestRequest, History, PairHistory, run_backtest
    history = History((PairHistory.from_candles("BTCUSDT", candles_1m, funding),))
    start, end = history.last_days(7)
    report = run_backtest(BacktestRequest(history, start, end, params), progress=print)
    report.to_text(); report.to_json_dict(); report.trades_csv(); report.equity  # pd.Series for the chart

    from engines.backtest import SweepRequest, run_sweep
    sweep = run_sweep(SweepRequest(history, start, end, {"tolerance": (0.2, 0.3)}, split=0.7, folds=3))

Pipeline: signals (engines' scan kernels) -> every candidate's exit on 1m candles (engines.execution,
numba) -> one time-ordered pass through the shared risk book (engines.risk) with equity sizing, fees
and funding -> statistics, MACRO-conflict comparison, random-entry baseline, plan targets.
"""

from engines.backtest.history import History, PairHistory
from engines.backtest.portfolio import Costs, PortfolioRun, Trade
from engines.backtest.report import BacktestReport
from engines.backtest.run import BacktestRequest, run_backtest
from engines.backtest.sweep import SweepReport, SweepRequest, run_sweep

__all__ = ["BacktestReport", "BacktestRequest", "Costs", "History", "PairHistory", "PortfolioRun", "SweepReport",
           "SweepRequest", "Trade", "run_backtest", "run_sweep"]
