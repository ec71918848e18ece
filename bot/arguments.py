"""Command arguments parsed into typed requests; every error names the argument and what is allowed."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from engines.errors import InvalidInput, quoted
from engines.params import parse_assignments, parse_value
from bot.commands import COMMANDS
from bot.subscriptions import FORMATS

TIMEFRAMES = ("15m", "1h")
ENGINES = ("micro", "macro")
MAX_SIGNALS = 50
MAX_BACKTEST_DAYS = 60
_PAIR = re.compile(r"[A-Z0-9]{2,15}")
_DAYS = re.compile(r"([0-9]{1,4})d")
_WHOLE = re.compile(r"[0-9]{1,4}")  # ASCII digits only: '²' and '①' are digits to str.isdigit, not to int()


class UsageError(InvalidInput):
    """Bad arguments: ``problem`` says what is wrong, ``usage`` how to call the command."""

    def __init__(self, command: str, problem: str) -> None:
        self.command, self.problem, self.usage = command, problem, COMMANDS[command].usage_line
        super().__init__(f"{problem}\n{self.usage}")


@dataclass(frozen=True)
class LevelsRequest:
    pair: str
    timeframe: str = "15m"


@dataclass(frozen=True)
class PairRequest:
    pair: str


@dataclass(frozen=True)
class SignalsRequest:
    count: int = 5


@dataclass(frozen=True)
class BacktestRequestArgs:
    days: int
    pairs: tuple[str, ...] = ()
    changes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TuneRequest:
    key: str | None = None
    value: Any = None


@dataclass(frozen=True)
class SubscribeRequest:
    pairs: tuple[str, ...] = ()
    engine: str | None = None
    min_confidence: int = 0
    format: str = "standard"


def whole_number(text: str) -> int | None:
    """``text`` as a small whole number written in ASCII digits, else None."""
    return int(text) if _WHOLE.fullmatch(text) else None


def parse_pair(command: str, text: str) -> str:
    """``sol``, ``SOL`` and ``SOLUSDT`` all mean ``SOLUSDT``."""
    pair = text.strip().upper()
    if not _PAIR.fullmatch(pair):
        raise UsageError(command, f"PAIR must be a symbol like SOLUSDT, got {quoted(text)}")
    return pair if pair.endswith("USDT") else pair + "USDT"


def _expect(command: str, args: list[str], most: int, least: int = 0) -> None:
    if len(args) < least:
        raise UsageError(command, "missing argument")
    if len(args) > most:
        raise UsageError(command, f"too many arguments: {quoted(' '.join(args[most:]))}")


def parse_levels(args: list[str]) -> LevelsRequest:
    _expect("levels", args, 2, 1)
    timeframe = args[1].lower() if len(args) == 2 else "15m"
    if timeframe not in TIMEFRAMES:
        raise UsageError("levels", f"timeframe must be 15m or 1h, got {quoted(args[1])}")
    return LevelsRequest(parse_pair("levels", args[0]), timeframe)


def parse_pair_only(command: str, args: list[str]) -> PairRequest:
    _expect(command, args, 1, 1)
    return PairRequest(parse_pair(command, args[0]))


def parse_signals(args: list[str]) -> SignalsRequest:
    _expect("signals", args, 1)
    if not args:
        return SignalsRequest()
    count = whole_number(args[0])
    if count is None or not 1 <= count <= MAX_SIGNALS:
        raise UsageError("signals", f"N must be a whole number from 1 to {MAX_SIGNALS}, got {quoted(args[0])}")
    return SignalsRequest(count)


def parse_backtest(args: list[str]) -> BacktestRequestArgs:
    _expect("backtest", args, 30, 1)
    match = _DAYS.fullmatch(args[0].lower())
    if not match or not 1 <= int(match.group(1)) <= MAX_BACKTEST_DAYS:
        raise UsageError("backtest", f"period must be days like 7d (1d-{MAX_BACKTEST_DAYS}d), got {quoted(args[0])}")
    rest, pairs = args[1:], ()
    if rest and "=" not in rest[0]:
        pairs = tuple(parse_pair("backtest", p) for p in rest[0].split(",") if p)
        rest = rest[1:]
    try:
        changes = parse_assignments(rest)
    except InvalidInput as e:
        raise UsageError("backtest", str(e)) from e
    return BacktestRequestArgs(int(match.group(1)), pairs, changes)


def parse_tune(args: list[str]) -> TuneRequest:
    if len(args) == 1 and "=" in args[0]:
        args = args[0].split("=", 1)
    _expect("tune", args, 2)
    if len(args) == 1:
        raise UsageError("tune", f"missing the value for {quoted(args[0])}")
    if not args:
        return TuneRequest()
    try:
        return TuneRequest(args[0], parse_value(args[0], args[1]))
    except InvalidInput as e:
        raise UsageError("tune", str(e)) from e


def parse_subscribe(args: list[str]) -> SubscribeRequest:
    values: dict[str, str] = {}
    for item in args:
        key, sep, value = item.partition("=")
        if not sep or key not in ("pairs", "engine", "min_confidence", "format") or not value:
            raise UsageError("subscribe",
                             f"expected pairs=…, engine=…, min_confidence=… or format=…, got {quoted(item)}")
        values[key] = value
    pairs = tuple(parse_pair("subscribe", p) for p in values.get("pairs", "").split(",") if p)
    engine = values.get("engine")
    if engine is not None and engine.lower() not in ENGINES:
        raise UsageError("subscribe", f"engine must be micro or macro, got {quoted(engine)}")
    confidence = whole_number(values.get("min_confidence", "0"))
    if confidence is None or not 0 <= confidence <= 100:
        raise UsageError("subscribe", "min_confidence must be a whole number from 0 to 100, "
                                      f"got {quoted(values['min_confidence'])}")
    message_format = values.get("format", "standard").lower()
    if message_format not in FORMATS:
        raise UsageError("subscribe", f"format must be {' or '.join(FORMATS)}, got {quoted(values['format'])}")
    return SubscribeRequest(pairs, engine.lower() if engine else None, confidence, message_format)
