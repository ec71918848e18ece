import json

import numpy as np
import pandas as pd

from engines.exhaustion import BookFlip
from engines.micro import SideArrays, evaluate_scalp, qualifying_sides
from engines.params import DEFAULT_PARAMS
from engines.scan import scan_signals
from market.files import list_symbols, read_candles
from tests.conftest import M1_2025

DAY = (pd.Timestamp("2025-05-18", tz="UTC"), pd.Timestamp("2025-05-19", tz="UTC"))
SOL_SIGNAL = {
    "type": "SCALP", "pair": "SOLUSDT", "side": "LONG", "entry": 170.15, "tp": 171.0, "sl": 169.3,
    "support": [169.42, 167.75, 166.46, 165.55, 164.25], "resistance": [170.4, 171.64, 174.87],
    "trend": {"slope": 0.298, "intercept": 173.39}, "timestamp": "2025-05-18T19:00:00Z", "confidence": 65,
    "exhaustion_checks": {"volume_drop": True, "double_wick": True, "rsi_extreme": True, "order_book_flip": False},
}


def test_scalp_signals_of_2025_05_18_on_all_pairs():
    found = []
    for pair in list_symbols(M1_2025):
        found += scan_signals(read_candles(M1_2025, pair, "1m"), pair, DEFAULT_PARAMS, engine="micro",
                              start=DAY[0], end=DAY[1])
    assert [(s.pair, s.side, s.model_dump(mode="json")["timestamp"], s.entry) for s in found] == [
        ("ETHUSDT", "LONG", "2025-05-18T18:45:00Z", 2470.69), ("SOLUSDT", "LONG", "2025-05-18T19:00:00Z", 170.15)]
    assert json.loads(found[1].to_json()) == SOL_SIGNAL


def test_evaluate_scalp_on_the_decision_candle_gives_the_same_signal(sol_15m):
    frame = sol_15m[sol_15m["timestamp"] <= pd.Timestamp("2025-05-18 18:45", tz="UTC")]
    decision = evaluate_scalp(frame, "SOLUSDT", DEFAULT_PARAMS, 0.01)
    assert decision.time == pd.Timestamp("2025-05-18 19:00", tz="UTC")
    assert decision.signal is not None and json.loads(decision.signal.to_json()) == SOL_SIGNAL
    assert decision.reason == "LONG: tagged 169.42 with 3 of 4 checks (need 2)"
    assert decision.long_level is not None and decision.long_level.price == 169.42
    assert decision.long_checks.passed == 3 and decision.short_checks.passed <= 1


def test_a_live_order_book_flip_adds_a_check_and_confidence(sol_15m):
    frame = sol_15m[sol_15m["timestamp"] <= pd.Timestamp("2025-05-18 18:45", tz="UTC")]
    decision = evaluate_scalp(frame, "SOLUSDT", DEFAULT_PARAMS, 0.01, book=BookFlip(-0.3, 0.2))
    assert decision.signal.exhaustion_checks.order_book_flip is True
    assert decision.signal.confidence == 80  # 0.6 * 4/4 + 0.4 * min(visits, 6)/6 with 5 visits


def test_too_few_candles_is_a_reason_not_an_error(sol_15m):
    decision = evaluate_scalp(sol_15m.iloc[:50], "SOLUSDT", DEFAULT_PARAMS, 0.01)
    assert decision.signal is None and decision.reason == "need 121 closed 15m candles, have 50"


def test_a_quiet_candle_explains_itself(sol_15m):
    frame = sol_15m[sol_15m["timestamp"] <= pd.Timestamp("2025-05-20 11:45", tz="UTC")]
    decision = evaluate_scalp(frame, "SOLUSDT", DEFAULT_PARAMS, 0.01)
    assert decision.signal is None
    assert decision.reason == "SHORT level 166.68 tagged but only 0 of 4 checks (need 2)"
    assert decision.short_level.price == 166.68 and decision.long_level is None


def _side(level: float, checks: int) -> SideArrays:
    flags = [np.array([i < checks]) for i in range(3)]
    return SideArrays(np.array([level]), np.array([3]), *flags)


def test_both_sides_qualifying_is_reported_as_both():
    # the scan then gives no signal: an ambiguous candle (FINDINGS: tags of support and resistance at once)
    sides = {"LONG": _side(100.0, 2), "SHORT": _side(100.4, 2)}
    assert qualifying_sides(sides, 0, 2) == ["LONG", "SHORT"]
    assert qualifying_sides(sides, 0, 3) == []
    assert qualifying_sides({"LONG": _side(100.0, 2), "SHORT": _side(100.4, 1)}, 0, 2) == ["LONG"]


def test_a_sweep_over_volume_multiplier_scans_the_levels_of_a_series_once(sol_15m, monkeypatch):
    from engines import micro

    calls = []
    real = micro._tagged_levels
    monkeypatch.setattr(micro, "_tagged_levels", lambda *args: calls.append(args[4]) or real(*args))
    monkeypatch.setattr(micro, "_TAGGED", micro._TaggedLevelCache())
    results = {v: micro.scalp_signals(sol_15m, "SOLUSDT", DEFAULT_PARAMS.with_changes(volume_multiplier=v), 0.01, 200)
               for v in (0.3, 0.4, 0.5)}
    assert len(calls) == 1  # one level scan for the three combinations
    monkeypatch.setattr(micro, "_TAGGED", micro._TaggedLevelCache())
    fresh = micro.scalp_signals(sol_15m.copy(), "SOLUSDT", DEFAULT_PARAMS.with_changes(volume_multiplier=0.5), 0.01, 200)
    assert [s.to_json() for s in fresh] == [s.to_json() for s in results[0.5]] and len(calls) == 2
    micro.scalp_signals(sol_15m.copy(), "SOLUSDT", DEFAULT_PARAMS, 0.01, 200)  # other memory: not taken for it
    assert len(calls) == 3
