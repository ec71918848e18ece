"""The project's one exception hierarchy.

    SignalTrackerError            base of everything the project raises on purpose
    ├── InvalidInput              the caller gave something unusable (message says what and what is allowed)
    │   ├── ParamError            unknown strategy parameter or value out of range
    │   └── CandleError           candles unsorted, duplicated, NaN prices, wrong columns, too few
    ├── DataUnavailable           no data for that pair / window / timeframe
    ├── MarketError               an exchange or stream failed (market/ raises it, retried upstream)
    └── StorageError              the state store could not be read or written

Every package raises these (re-raising library errors with ``raise ... from e``), so the bot
and the CLI need one ``except SignalTrackerError`` to turn any of them into a message a user can act on.
"""

from __future__ import annotations


class SignalTrackerError(Exception):
    """Base class of every deliberate error in the project."""


class InvalidInput(SignalTrackerError, ValueError):
    """The input cannot be used; the message names the argument and the allowed range."""


class ParamError(InvalidInput):
    """An unknown strategy parameter, or a value outside its allowed range."""


class CandleError(InvalidInput):
    """Candles that break the engines' input contract."""


class DataUnavailable(SignalTrackerError):
    """No data for the requested pair, timeframe or time window."""


class MarketError(SignalTrackerError):
    """An exchange request or stream failed."""


class JobFailed(SignalTrackerError):
    """A job run in a child process ended without its result (killed, out of memory, crashed)."""


class StorageError(SignalTrackerError):
    """The state store could not be read or written."""


QUOTED_CHARACTERS = 40


def quoted(value: object) -> str:
    """``value`` as an error message shows it: ``repr``, cut to ``QUOTED_CHARACTERS`` characters.

    Messages name what the user gave without echoing a 4,000-character argument back in full.
    """
    text = value if isinstance(value, str) else repr(value)
    if len(text) > QUOTED_CHARACTERS:
        return repr(text[:QUOTED_CHARACTERS]) + f"… ({len(text):,} characters)"
    return repr(value)
