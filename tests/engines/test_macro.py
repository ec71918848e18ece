import json

import pandas as pd

from engines.macro import evaluate_macro, macro_signals
from engines.params import DEFAULT_PARAMS

AT = pd.Timestamp("2025-05-20 12:00", tz="UTC")


def test_trend_of_solusdt_at_2025_05_20_noon(sol_1h):
    decision = evaluate_macro(sol_1h[sol_1h["timestamp"] < AT], "SOLUSDT", DEFAULT_PARAMS, 0.01)
    assert decision.time == AT
    assert (decision.trend.slope, decision.trend.intercept, decision.confidence) == (-0.0617, 165.23, 49)
    assert decision.bias == "SHORT"
    assert decision.support == (166.12, 164.5, 164.29, 164.25, 163.91)
    assert decision.resistance == (167.73, 167.92, 168.16, 169.95, 171.95)
    assert len(decision.swings) == 35 and decision.signal is None
    assert decision.reason == "trend confidence 49 below 50"


def test_a_longer_lookback_changes_the_trend(sol_1h):
    decision = evaluate_macro(sol_1h[sol_1h["timestamp"] < AT], "SOLUSDT",
                              DEFAULT_PARAMS.with_changes(trend_lookback=250), 0.01)
    assert (decision.trend.slope, decision.trend.intercept, decision.confidence) == (-0.0377, 167.01, 33)


def test_macro_signals_of_solusdt(sol_1h):
    signals = macro_signals(sol_1h, "SOLUSDT", DEFAULT_PARAMS, 0.01, 0)
    assert len(signals) == 33
    late = [(s.model_dump(mode="json")["timestamp"], s.side, s.entry, s.tp, s.sl, s.confidence)
            for s in signals if s.timestamp >= AT.to_pydatetime()][:3]
    assert late == [("2025-05-20T17:00:00Z", "SHORT", 165.44, 162.13, 167.09, 50),
                    ("2025-05-20T19:00:00Z", "SHORT", 164.82, 161.52, 166.47, 50),
                    ("2025-05-21T16:00:00Z", "SHORT", 172.12, 168.68, 173.84, 50)]
    assert json.loads(signals[0].to_json())["exhaustion_checks"] == {
        "volume_drop": False, "double_wick": False, "rsi_extreme": False, "order_book_flip": False}


def test_a_pullback_that_continues_is_signalled_once(sol_1h):
    # 07:00-09:00 on 2025-05-13 all qualify on the same side; only the first candle of the run signals
    frame = sol_1h[sol_1h["timestamp"] <= pd.Timestamp("2025-05-13 08:00", tz="UTC")]
    decision = evaluate_macro(frame, "SOLUSDT", DEFAULT_PARAMS, 0.01)
    assert decision.signal is None
    assert decision.reason.endswith("pullback continues from the previous candle: signalled there, not again")


def test_too_little_history(sol_1h):
    decision = evaluate_macro(sol_1h.iloc[:100], "SOLUSDT", DEFAULT_PARAMS, 0.01)
    assert decision.trend is None and decision.reason == "need 200 closed 1h candles, have 100"
