import pytest

from engines.errors import ParamError
from engines.params import DEFAULT_PARAMS, PARAM_SPECS, describe_range, params_from_assignments, parse_assignments


def test_defaults_are_the_plans_values():
    p = DEFAULT_PARAMS
    assert (p.tolerance, p.touches, p.sr_lookback, p.trend_lookback) == (0.25, 3, 120, 200)
    assert (p.volume_multiplier, p.min_checks, p.rsi_period, p.rsi_high, p.rsi_low) == (0.4, 2, 7, 80, 20)
    assert (p.tp, p.sl, p.cooldown, p.time_stop, p.max_trades_per_day) == (0.5, 0.5, 15, 60, 50)
    assert (p.macro_bias_confidence, p.macro_conflict) == (80, "halve")


def test_ranges_follow_the_plan():
    assert (PARAM_SPECS["tolerance"].minimum, PARAM_SPECS["tolerance"].maximum) == (0.2, 0.3)
    assert (PARAM_SPECS["sr_lookback"].minimum, PARAM_SPECS["sr_lookback"].maximum) == (100, 150)
    assert (PARAM_SPECS["trend_lookback"].minimum, PARAM_SPECS["trend_lookback"].maximum) == (150, 250)
    assert (PARAM_SPECS["volume_multiplier"].minimum, PARAM_SPECS["volume_multiplier"].maximum) == (0.3, 0.5)
    assert PARAM_SPECS["macro_conflict"].choices == ("halve", "stand_aside")


def test_assignments_apply_and_validate():
    params = params_from_assignments(["tolerance=0.2", "touches=4", "macro_conflict=stand_aside"])
    assert (params.tolerance, params.touches, params.macro_conflict) == (0.2, 4, "stand_aside")
    assert DEFAULT_PARAMS.tolerance == 0.25  # the base is untouched (frozen)


@pytest.mark.parametrize("item, message", [
    ("tolerance=0.5", "tolerance: a number from 0.2 to 0.3, got 0.5"),
    ("touches=5", "touches: a whole number from 2 to 4, got 5"),
    ("touches=2.5", "touches: a whole number from 2 to 4, got '2.5'"),
    ("sr_lookback=abc", "sr_lookback: a whole number from 100 to 150, got 'abc'"),
    ("macro_conflict=ignore", "macro_conflict: one of halve | stand_aside, got 'ignore'"),
    ("tolerance", "expected key=value, got 'tolerance'"),
])
def test_bad_values_name_the_key_and_range(item, message):
    with pytest.raises(ParamError) as info:
        params_from_assignments([item])
    assert str(info.value) == message


def test_unknown_key_lists_known_keys():
    with pytest.raises(ParamError, match=r"unknown parameter 'tolerence'; known: tolerance, touches"):
        parse_assignments(["tolerence=0.2"])


def test_with_changes_rejects_and_keeps_frozen():
    with pytest.raises(ParamError, match="volume_multiplier: a number from 0.3 to 0.5, got 0.9"):
        DEFAULT_PARAMS.with_changes(volume_multiplier=0.9)
    with pytest.raises(Exception):
        DEFAULT_PARAMS.tolerance = 0.3  # type: ignore[misc]
    assert describe_range("min_checks") == "a whole number from 1 to 4"
