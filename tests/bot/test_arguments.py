"""Command arguments into typed requests; errors name the argument and show usage."""

from __future__ import annotations

import pytest

from engines.params import PARAM_SPECS

from bot.arguments import (BacktestRequestArgs, LevelsRequest, SubscribeRequest, TuneRequest, UsageError,
                           parse_backtest, parse_levels, parse_signals, parse_subscribe, parse_tune)


def test_pairs_are_normalised() -> None:
    assert parse_levels(["sol", "1H"]) == LevelsRequest("SOLUSDT", "1h")


def test_backtest_with_pairs_and_assignments() -> None:
    assert parse_backtest(["7d", "sol,ETHUSDT", "tolerance=0.2", "touches=4"]) == \
        BacktestRequestArgs(7, ("SOLUSDT", "ETHUSDT"), {"tolerance": 0.2, "touches": 4})


def test_tune_accepts_key_value_and_key_equals_value() -> None:
    assert parse_tune(["tp", "0.8"]) == parse_tune(["tp=0.8"]) == TuneRequest("tp", 0.8)
    assert parse_tune([]) == TuneRequest()


def test_subscribe_filters() -> None:
    assert parse_subscribe(["engine=MACRO", "min_confidence=60"]) == SubscribeRequest((), "macro", 60)
    assert parse_subscribe(["format=Cornix"]) == SubscribeRequest(format="cornix")


@pytest.mark.parametrize(("parse", "args", "problem"), [
    (parse_levels, ["SOL/USDT"], "PAIR must be a symbol like SOLUSDT, got 'SOL/USDT'"),
    (parse_levels, ["SOL", "1h", "x"], "too many arguments: 'x'"),
    (parse_backtest, ["0d"], "period must be days like 7d (1d-60d), got '0d'"),
    (parse_backtest, ["7d", "SOL", "rsi=3"], "unknown parameter 'rsi'; known: " + ", ".join(PARAM_SPECS)),
    (parse_tune, ["touches", "2.5"], "touches: a whole number from 2 to 4, got '2.5'"),
    (parse_subscribe, ["min_confidence=101"], "min_confidence must be a whole number from 0 to 100, got '101'"),
    (parse_subscribe, ["pairs"], "expected pairs=…, engine=…, min_confidence=… or format=…, got 'pairs'"),
    (parse_subscribe, ["format=json"], "format must be standard or cornix, got 'json'"),
])
def test_errors_say_what_is_wrong(parse, args: list[str], problem: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse(args)
    assert caught.value.problem == problem


@pytest.mark.parametrize(("parse", "args", "problem"), [
    (parse_signals, ["²"], "N must be a whole number from 1 to 50, got '²'"),  # '²'.isdigit(), but int('²') fails
    (parse_signals, ["٣"], "N must be a whole number from 1 to 50, got '٣'"),  # Arabic-Indic 3: ASCII digits only
    (parse_signals, ["99999999999"], "N must be a whole number from 1 to 50, got '99999999999'"),
    (parse_subscribe, ["min_confidence=①"], "min_confidence must be a whole number from 0 to 100, got '①'"),
    (parse_backtest, ["٧d"], "period must be days like 7d (1d-60d), got '٧d'"),
    (parse_backtest, ["7d\n"], "period must be days like 7d (1d-60d), got '7d\\n'"),
    (parse_tune, ["tolerance", "٠.٢"], "tolerance: a number from 0.2 to 0.3, got '٠.٢'"),
    (parse_tune, ["tolerance", "nan"], "tolerance: a number from 0.2 to 0.3, got 'nan'"),
    (parse_tune, ["touches", "inf"], "touches: a whole number from 2 to 4, got 'inf'"),
])
def test_only_ascii_digits_count_as_numbers(parse, args: list[str], problem: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse(args)
    assert caught.value.problem == problem


LONG = "9" * 4000


@pytest.mark.parametrize(("parse", "args"), [
    (parse_signals, [LONG]), (parse_levels, [LONG]), (parse_levels, ["SOL", LONG]), (parse_levels, ["SOL", "1h", LONG]),
    (parse_backtest, [LONG]), (parse_backtest, ["7d", "SOL", LONG]), (parse_backtest, ["7d", f"{LONG}=1"]),
    (parse_tune, [LONG, "1"]), (parse_tune, ["tolerance", LONG]), (parse_subscribe, [LONG]),
    (parse_subscribe, [f"engine={LONG}"]), (parse_subscribe, [f"min_confidence={LONG}"]),
])
def test_a_4000_character_argument_is_not_echoed_in_full(parse, args: list[str]) -> None:
    with pytest.raises(UsageError) as caught:
        parse(args)
    assert len(caught.value.problem) < 600
    assert "'9999999999999999999999999999999999999999'… (4,000 characters)" in caught.value.problem
