"""RetryPolicy: exponential backoff, bounded, with jitter."""

from __future__ import annotations

import random

import pytest

from engines.errors import InvalidInput
from market.retry import RetryPolicy


def test_delays_double_and_stop_at_the_cap_without_jitter():
    policy = RetryPolicy(attempts=6, base_delay=0.5, max_delay=3.0, jitter=0.0)
    assert [policy.delay(n) for n in range(5)] == [0.5, 1.0, 2.0, 3.0, 3.0]


def test_jitter_stays_within_its_fraction():
    policy = RetryPolicy(base_delay=1.0, max_delay=8.0, jitter=0.25)
    rng = random.Random(7)
    delays = [policy.delay(2, rng) for _ in range(200)]
    assert 3.0 <= min(delays) < 3.3 and 4.7 < max(delays) <= 5.0


@pytest.mark.parametrize("kwargs", [{"attempts": 0}, {"base_delay": 2, "max_delay": 1}, {"jitter": 1.5}])
def test_invalid_policies_are_refused(kwargs):
    with pytest.raises(InvalidInput):
        RetryPolicy(**kwargs)
