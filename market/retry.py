"""Bounded retries with exponential backoff and jitter for exchange requests.

Rate limits (429), server errors (5xx), timeouts, dropped connections and malformed answers are
retried; anything else (bad symbol, bad request) fails at once. After the last attempt the caller
gets :class:`engines.errors.MarketError`, never a ccxt exception.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from engines.errors import InvalidInput, MarketError

logger = logging.getLogger(__name__)
T = TypeVar("T")


def exchange_errors() -> tuple[tuple[type[Exception], ...], type[Exception]]:
    """(retryable ccxt errors, every ccxt error); ccxt is imported here, not with this module (~65 MB)."""
    import ccxt
    return (ccxt.NetworkError, ccxt.BadResponse), ccxt.BaseError


@dataclass(frozen=True)
class RetryPolicy:
    """``attempts`` tries in all; the n-th wait is ``base_delay * 2**n`` capped at ``max_delay``, +-``jitter``."""

    attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 30.0
    jitter: float = 0.25  # fraction of the delay
    quiet: bool = False  # log each retry at DEBUG (the caller reports failures itself, e.g. once a minute)

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise InvalidInput(f"retry attempts must be >= 1, got {self.attempts}")
        if self.base_delay < 0 or self.max_delay < self.base_delay:
            raise InvalidInput(f"need 0 <= base_delay <= max_delay, got {self.base_delay}, {self.max_delay}")
        if not 0 <= self.jitter <= 1:
            raise InvalidInput(f"jitter must be a fraction in [0, 1], got {self.jitter}")

    def delay(self, retry: int, rng: random.Random | None = None) -> float:
        """Seconds to wait before retry number ``retry`` (0-based)."""
        base = min(self.max_delay, self.base_delay * 2**retry)
        spread = base * self.jitter
        return max(0.0, base + (rng or random).uniform(-spread, spread))


async def call_with_retries(call: Callable[[], Awaitable[T]], what: str, policy: RetryPolicy) -> T:
    """Await ``call()``; retry retryable exchange errors per ``policy``; raise MarketError at the end."""
    retryable, refused = exchange_errors()
    for attempt in range(policy.attempts):
        try:
            return await call()
        except retryable as e:
            if attempt + 1 == policy.attempts:
                raise MarketError(f"{what} failed after {policy.attempts} attempts: {_short(e)}") from e
            wait = policy.delay(attempt)
            logger.log(logging.DEBUG if policy.quiet else logging.WARNING,
                       "%s failed (%s: %s); retry %d/%d in %.2f s", what, type(e).__name__, _short(e),
                       attempt + 1, policy.attempts - 1, wait)
            await asyncio.sleep(wait)
        except refused as e:
            raise MarketError(f"{what} was refused by the exchange: {_short(e)}") from e
    raise MarketError(f"{what}: no attempt was made")  # unreachable: attempts >= 1


def _short(error: Exception, limit: int = 200) -> str:
    text = str(error)
    return text if len(text) <= limit else text[:limit] + "..."
