"""/drift [Nd]: the period argument."""

from __future__ import annotations

import pytest

from bot.arguments import UsageError
from bot.handlers.drift import parse_drift


@pytest.mark.parametrize(("args", "days"), [([], 7), (["3d"], 3), (["14"], 14), (["60D"], 60)])
def test_days(args: list[str], days: int) -> None:
    assert parse_drift(args) == days


@pytest.mark.parametrize(("args", "problem"), [
    (["0d"], "period must be days like 7d (1d-60d), got '0d'"),
    (["61d"], "period must be days like 7d (1d-60d), got '61d'"),
    (["²d"], "period must be days like 7d (1d-60d), got '²d'"),
    (["7d", "SOLUSDT"], "too many arguments: 'SOLUSDT'"),
    (["x" * 4000], "period must be days like 7d (1d-60d), got 'xxxxxxxxxxxxxxxxxxxx'"),
])
def test_bad_periods_get_the_usage_line(args: list[str], problem: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_drift(args)
    assert caught.value.problem == problem
    assert caught.value.usage == "Usage: /drift [DAYSd] — e.g. /drift 7d"
