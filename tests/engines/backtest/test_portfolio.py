"""The paper portfolio on hand-placed signals at real BTC prices (2025-05-20)."""

from __future__ import annotations

import pandas as pd
import pytest

from engines.backtest.candidates import pair_candidates
from engines.backtest.funding import funding_schedule
from engines.backtest.portfolio import Costs, MacroViews, simulate
from engines.params import DEFAULT_PARAMS
from engines.risk import MacroView
from tests.engines.backtest.conftest import make_signal


@pytest.fixture(scope="module")
def candidates(btc):
    signals = [make_signal(btc, "2025-05-20 10:00"), make_signal(btc, "2025-05-20 12:45", "SHORT"),
               make_signal(btc, "2025-05-20 15:00", "LONG", "MACRO", tp_pct=2.0, sl_pct=1.0)]
    found, missing = pair_candidates(btc, signals, DEFAULT_PARAMS, funding_schedule("BTCUSDT", btc.funding, btc.first, btc.end))
    assert missing == 0
    return found


def _row(t):
    return (t.entry_time.strftime("%H:%M"), t.entry, t.exit_time.strftime("%H:%M"), t.exit, t.reason,
            round(t.size, 2), round(t.fees, 2), round(t.funding, 2), round(t.pnl, 2))


def test_trades_are_sized_from_equity_and_pay_fees_and_funding(candidates):
    # trade 1: 200k notional, 1.900452 BTC x (104974.5 - 105238.2) = -501.15, fees 0.06 % x (200k + 199,498.85)
    # trade 2: 10 % x 10 of equity 199,259.15; trade 3 (MACRO) is open at 16:00, BTC funding +0.001266 % -> pays
    assert [_row(t) for t in simulate(candidates, [], DEFAULT_PARAMS).trades] == [
        ("10:00", 105238.2, "11:00", 104974.5, "time_stop", 200000.0, 239.70, 0.0, -740.85),
        ("12:45", 104687.2, "13:43", 104163.8, "tp", 199259.15, 238.51, 0.0, 757.71),
        ("15:00", 104469.2, "19:44", 106558.6, "tp", 200016.87, 242.42, 2.53, 3755.42),
    ]


def test_fee_rate_and_capital_come_from_costs(candidates):
    run = simulate(candidates[:1], [], DEFAULT_PARAMS, Costs(capital=100_000.0, fee_rate=0.0))
    assert (round(run.trades[0].size, 2), run.trades[0].fees, round(run.trades[0].pnl, 2)) == (100000.0, 0.0, -250.57)


def test_position_closing_at_an_entry_time_frees_the_coin_first(btc):
    params = DEFAULT_PARAMS.with_changes(cooldown=0)
    signals = [make_signal(btc, "2025-05-20 10:00"), make_signal(btc, "2025-05-20 11:00", "SHORT")]
    found, _ = pair_candidates(btc, signals, params, funding_schedule("BTCUSDT", btc.funding, btc.first, btc.end))
    run = simulate(found, [], params)
    assert [(t.side, t.entry_time.strftime("%H:%M")) for t in run.trades] == [("LONG", "10:00"), ("SHORT", "11:00")]


def test_scalp_under_an_open_macro_is_halved_and_marked(btc):
    signals = [make_signal(btc, "2025-05-20 15:00", "LONG", "MACRO", tp_pct=2.0, sl_pct=1.0),
               make_signal(btc, "2025-05-20 15:00", "LONG")]
    found, _ = pair_candidates(btc, signals, DEFAULT_PARAMS, funding_schedule("BTCUSDT", btc.funding, btc.first, btc.end))
    scalp = next(t for t in simulate(found, [], DEFAULT_PARAMS).trades if t.engine == "SCALP")
    assert (scalp.size, scalp.halved, scalp.macro_open) == (100_000.0, True, True)


def test_macro_decisions_known_at_entry_feed_the_bias_rule(btc, candidates):
    view = MacroView(pair="BTCUSDT", side="SHORT", confidence=90, time=pd.Timestamp("2025-05-20 10:00", tz="UTC"))
    run = simulate(candidates, [view], DEFAULT_PARAMS)
    assert ([t.entry_time.strftime("%H:%M") for t in run.trades], run.rejections) == (["12:45", "15:00"], {"macro_bias": 1})


def test_the_latest_macro_decision_of_the_pair_at_an_instant_is_the_one_the_book_gets():
    at = [pd.Timestamp(f"2025-05-20 {h}", tz="UTC").to_pydatetime() for h in ("10:00", "11:00", "12:00")]
    views = [MacroView(pair="BTCUSDT", side="LONG", confidence=80, time=at[1]),
             MacroView(pair="ETHUSDT", side="LONG", confidence=70, time=at[0]),
             MacroView(pair="BTCUSDT", side="SHORT", confidence=90, time=at[0]),
             MacroView(pair="BTCUSDT", side=None, confidence=0, time=at[1])]
    known = MacroViews(views)
    assert known.latest("BTCUSDT", at[0] - pd.Timedelta(minutes=1)) is None
    assert known.latest("BTCUSDT", at[0]) is views[2]
    assert known.latest("BTCUSDT", at[2]) is views[3]  # same instant: the last given, as fed in time order
    assert known.latest("ETHUSDT", at[2]) is views[1] and known.latest("SOLUSDT", at[2]) is None


def test_the_pass_order_is_the_sort_key_order_on_real_weeks():
    from engines.backtest.run import prepare
    from tests.engines.backtest.conftest import sample_history

    history = sample_history()
    start, end = history.last_days(19)
    candidates = prepare(history, DEFAULT_PARAMS, start, end).candidates
    assert len(candidates) > 150
    assert sorted(candidates, key=lambda c: c.pass_order) == sorted(candidates, key=lambda c: c.sort_key)
    assert all(c.entry_at == c.entry_time for c in candidates)
