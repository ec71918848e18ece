"""The shared risk book: one test per rule, on signals at real BTC/ETH prices and times (May 2025)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest

from engines.models import ExhaustionChecks, Signal, Trend
from engines.params import DEFAULT_PARAMS
from engines.risk import MacroView, RiskBook, RiskState, side_of_slope
from tests.conftest import M1_2025

T0 = datetime(2025, 5, 20, 10, 0, tzinfo=timezone.utc)
EQUITY = 200_000.0


@pytest.fixture(scope="module")
def closes() -> dict[str, pd.Series]:
    return {p: pd.read_parquet(M1_2025 / f"{p}_1m.parquet").set_index("timestamp")["close"] for p in ("BTCUSDT", "ETHUSDT")}


@pytest.fixture
def signal(closes):
    def make(pair: str = "BTCUSDT", side: str = "LONG", at: datetime = T0, kind: str = "SCALP") -> Signal:
        close = float(closes[pair].loc[pd.Timestamp(at) - pd.Timedelta(minutes=1)])
        up, down = (1.005, 0.995) if kind == "SCALP" else (1.02, 0.99)
        tp, sl = (close * up, close * down) if side == "LONG" else (close * (2 - up), close * (2 - down))
        return Signal(type=kind, pair=pair, side=side, entry=close, tp=round(tp, 2), sl=round(sl, 2), support=[],
                      resistance=[], trend=Trend(slope=0.0, intercept=close), timestamp=at, confidence=60,
                      exhaustion_checks=ExhaustionChecks(volume_drop=True, double_wick=True))
    return make


def test_accepted_scalp_gets_ten_percent_margin_at_ten_times_leverage(signal):
    verdict = RiskBook(DEFAULT_PARAMS).admit(signal(), T0, EQUITY)
    assert (verdict.accepted, verdict.reason, verdict.margin, verdict.notional) == (True, "ok", 20_000.0, 200_000.0)


def test_second_scalp_on_the_same_coin_is_rejected_while_the_first_is_open(signal):
    book = RiskBook(DEFAULT_PARAMS)
    book.admit(signal(), T0, EQUITY)
    later = T0 + timedelta(minutes=15)
    assert book.admit(signal(side="SHORT", at=later), later, EQUITY).reason == "pair_has_open_scalp"
    assert book.admit(signal("ETHUSDT", at=later), later, EQUITY).accepted


def test_daily_cap_counts_scalps_of_all_pairs_per_utc_day(signal):
    book = RiskBook(DEFAULT_PARAMS.with_changes(max_trades_per_day=1, cooldown=0))
    book.admit(signal(), T0, EQUITY)
    book.close("BTCUSDT", "SCALP", T0 + timedelta(minutes=5))
    later = T0 + timedelta(minutes=15)
    assert book.admit(signal("ETHUSDT", at=later), later, EQUITY).reason == "daily_cap"
    next_day = datetime(2025, 5, 21, 0, 15, tzinfo=timezone.utc)
    assert book.admit(signal("ETHUSDT", at=next_day), next_day, EQUITY).accepted
    assert (book.state.rejections, book.state.cap_days) == ({"daily_cap": 1}, ["2025-05-20"])


def test_coin_rests_for_the_cooldown_after_its_scalp_closes(signal):
    book = RiskBook(DEFAULT_PARAMS.with_changes(cooldown=15))
    book.admit(signal(), T0, EQUITY)
    closed = T0 + timedelta(minutes=20)
    book.close("BTCUSDT", "SCALP", closed)
    early, ready = T0 + timedelta(minutes=30), T0 + timedelta(minutes=35)
    assert book.admit(signal(at=early), early, EQUITY).reason == "cooldown"
    assert book.admit(signal(at=ready), ready, EQUITY).accepted


def test_scalp_is_due_for_its_time_stop_and_macro_for_its_own(signal):
    book = RiskBook(DEFAULT_PARAMS.with_changes(time_stop=60, macro_time_stop=120))
    book.admit(signal(), T0, EQUITY)
    book.admit(signal("ETHUSDT", kind="MACRO"), T0, EQUITY)
    assert book.due(T0 + timedelta(minutes=59)) == []
    assert [p.pair for p in book.due(T0 + timedelta(minutes=60))] == ["BTCUSDT"]
    assert [p.pair for p in book.due(T0 + timedelta(minutes=120))] == ["BTCUSDT", "ETHUSDT"]


def test_open_macro_halves_the_scalp_on_that_pair(signal):
    book = RiskBook(DEFAULT_PARAMS.with_changes(macro_conflict="halve"))
    book.admit(signal(kind="MACRO"), T0, EQUITY)
    verdict = book.admit(signal(), T0, EQUITY)
    assert (verdict.reason, verdict.margin, book.state.halved) == ("halved", 10_000.0, 1)


def test_open_macro_makes_the_scalp_stand_aside(signal):
    book = RiskBook(DEFAULT_PARAMS.with_changes(macro_conflict="stand_aside"))
    book.admit(signal(kind="MACRO"), T0, EQUITY)
    assert book.admit(signal(), T0, EQUITY).reason == "macro_conflict"
    assert book.admit(signal("ETHUSDT"), T0, EQUITY).accepted


def test_without_the_conflict_rule_the_scalp_is_full_size(signal):
    book = RiskBook(DEFAULT_PARAMS, macro_conflict_rule=False)
    book.admit(signal(kind="MACRO"), T0, EQUITY)
    assert book.admit(signal(), T0, EQUITY).margin == 20_000.0


def test_confident_macro_bias_blocks_scalps_against_it(signal):
    book = RiskBook(DEFAULT_PARAMS.with_changes(macro_bias_confidence=80))
    book.note_macro(MacroView(pair="BTCUSDT", side="SHORT", confidence=80, time=T0))
    assert book.admit(signal(side="LONG"), T0, EQUITY).reason == "macro_bias"
    assert book.admit(signal(side="SHORT"), T0, EQUITY).accepted


def test_macro_bias_below_the_confidence_threshold_does_not_block(signal):
    book = RiskBook(DEFAULT_PARAMS.with_changes(macro_bias_confidence=80))
    book.note_macro(MacroView(pair="BTCUSDT", side="SHORT", confidence=79, time=T0))
    assert book.admit(signal(side="LONG"), T0, EQUITY).accepted


def test_margin_in_use_never_exceeds_equity(signal):
    book = RiskBook(DEFAULT_PARAMS, margin_fraction=0.5)
    assert book.admit(signal("BTCUSDT"), T0, EQUITY).accepted
    assert book.admit(signal("ETHUSDT"), T0, EQUITY).accepted  # 100k + 100k = equity: allowed
    assert book.admit(signal("BTCUSDT", kind="MACRO"), T0, EQUITY).reason == "margin"
    assert (book.margin_in_use, book.state.rejections) == (200_000.0, {"margin": 1})


def test_one_macro_position_per_coin(signal):
    book = RiskBook(DEFAULT_PARAMS)
    book.admit(signal(kind="MACRO"), T0, EQUITY)
    later = T0 + timedelta(hours=1)
    assert book.admit(signal(kind="MACRO", side="SHORT", at=later), later, EQUITY).reason == "pair_has_open_macro"


def test_state_survives_a_json_round_trip(signal):
    book = RiskBook(DEFAULT_PARAMS)
    book.admit(signal(kind="MACRO"), T0, EQUITY)
    book.admit(signal(), T0, EQUITY)
    book.note_macro(MacroView(pair="ETHUSDT", side="LONG", confidence=90, time=T0))
    saved = book.state.model_dump(mode="json")
    restored = RiskBook(DEFAULT_PARAMS, RiskState.model_validate(saved))
    assert restored.state == book.state
    later = T0 + timedelta(minutes=15)
    assert restored.admit(signal(at=later), later, EQUITY).reason == "pair_has_open_scalp"


def test_macro_side_comes_from_the_trend_slope_sign():
    assert (side_of_slope(0.37), side_of_slope(-0.01), side_of_slope(0.0)) == ("LONG", "SHORT", None)
