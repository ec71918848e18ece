"""Mark-to-market equity on three real BTC trades (2025-05-20)."""

from __future__ import annotations

import pandas as pd
import pytest

from engines.backtest.candidates import pair_candidates
from engines.backtest.equity import mark_to_market, max_drawdown
from engines.backtest.portfolio import simulate
from engines.params import DEFAULT_PARAMS
from tests.engines.backtest.conftest import make_signal

START, END = pd.Timestamp("2025-05-20 09:00", tz="UTC"), pd.Timestamp("2025-05-20 21:00", tz="UTC")


@pytest.fixture(scope="module")
def curve(btc):
    signals = [make_signal(btc, "2025-05-20 10:00"), make_signal(btc, "2025-05-20 12:45", "SHORT"),
               make_signal(btc, "2025-05-20 15:00", "LONG", "MACRO", tp_pct=2.0, sl_pct=1.0)]
    trades = simulate(pair_candidates(btc, signals, DEFAULT_PARAMS, btc.funding_schedule)[0], [], DEFAULT_PARAMS).trades
    return mark_to_market(trades, {"BTCUSDT": btc.bars}, 200_000.0, START, END)


def _close(btc, minute: str) -> float:
    return float(btc.m1.set_index("timestamp")["close"].loc[pd.Timestamp(minute, tz="UTC")])


def test_open_position_is_valued_at_the_minute_close(btc, curve):
    # long 200k notional from 105238.2; at 10:30 the 10:29 candle's close is the price
    expected = 200_000.0 + 200_000.0 / 105238.2 * (_close(btc, "2025-05-20 10:29") - 105238.2)
    assert curve.loc[pd.Timestamp("2025-05-20 10:30", tz="UTC")] == pytest.approx(expected, abs=1e-6)


def test_closed_trades_are_booked_at_their_exit_and_flat_minutes_hold(curve):
    assert curve.loc[pd.Timestamp("2025-05-20 09:59", tz="UTC")] == 200_000.0
    assert curve.loc[pd.Timestamp("2025-05-20 11:00", tz="UTC")] == pytest.approx(200_000.0 - 740.8481, abs=1e-3)
    assert curve.loc[END] == pytest.approx(200_000.0 - 740.8481 + 757.7140 + 3755.4153, abs=1e-3)
    assert (curve.index[0], curve.index[-1], len(curve)) == (START, END, 12 * 60 + 1)


def test_drawdown_inside_trades_exceeds_the_closed_trade_drawdown(curve):
    # closed trades alone only ever fall 740.85 (the first trade); marked to market it is 2,169.05
    usd, pct = max_drawdown(curve)
    assert (round(usd, 2), round(pct, 4)) == (2169.05, 1.0652)
