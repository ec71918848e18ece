"""A backtesting.py strategy that trades exactly the entries it is given (shared by the cross-check
test and benchmarks/bench_backtest.py, so both drive backtesting.py the same way)."""

from __future__ import annotations

from typing import Any


def own_entries_strategy(strategy_base: type, plan: dict[int, tuple[Any, int]]) -> type:
    """A ``strategy_base`` subclass: at bar ``i`` in ``plan`` it opens ``(signal, stop_bar)`` with the
    signal's side, SL and TP (size 1), and closes at the open of ``stop_bar`` (the time stop)."""

    class OwnEntries(strategy_base):
        def init(self) -> None:
            self.stop_bar = None

        def next(self) -> None:
            i = len(self.data) - 1
            if self.position and self.stop_bar == i + 1:
                for trade in self.trades:
                    trade.sl, trade.tp = None, None
                self.position.close()
            if i in plan:
                signal, self.stop_bar = plan[i]
                order = self.buy if signal.side == "LONG" else self.sell
                order(size=1, sl=signal.sl, tp=signal.tp)

    return OwnEntries
