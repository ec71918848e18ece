"""The bot's command catalog: one place for names, usage, examples, and who may run them.

Used for ``setMyCommands``, ``/help`` and every usage line a bad argument gets.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Command:
    name: str
    usage: str
    summary: str
    example: str
    admin: bool = False

    @property
    def usage_line(self) -> str:
        return f"Usage: /{self.name}{' ' + self.usage if self.usage else ''} — e.g. {self.example}"


CATALOG: tuple[Command, ...] = (
    Command("start", "", "what this bot does", "/start"),
    Command("help", "", "every command with an example", "/help"),
    Command("levels", "PAIR [15m|1h]", "chart with support/resistance and the MACRO trend", "/levels SOLUSDT 1h"),
    Command("signal", "PAIR", "what the engines say now, check by check", "/signal SOLUSDT"),
    Command("signals", "[N]", "the last N signals sent (1-50, default 5)", "/signals 10"),
    Command("backtest", "DAYSd [PAIRS] [key=value …]", "backtest on the bot's data",
            "/backtest 7d SOLUSDT,ETHUSDT tolerance=0.2"),
    Command("drift", "[DAYSd]", "what the bot sent vs the backtester's replay of the same days (default 7d)",
            "/drift 7d"),
    Command("positions", "", "open paper positions with P&L", "/positions"),
    Command("pairs", "", "the tracked pairs", "/pairs"),
    Command("status", "", "data freshness, jobs, positions, version", "/status"),
    Command("stats", "", "scorecard of sent signals", "/stats"),
    Command("subscribe", "[pairs=A,B] [engine=micro|macro] [min_confidence=0-100] [format=standard|cornix]",
            "get signals in this chat", "/subscribe pairs=SOLUSDT engine=micro min_confidence=60"),
    Command("unsubscribe", "", "stop signals in this chat", "/unsubscribe"),
    Command("params", "", "current strategy parameters", "/params"),
    Command("tune", "[KEY VALUE]", "change a parameter (admin)", "/tune tolerance 0.2", admin=True),
    Command("rollback", "", "back to the previous parameters (admin)", "/rollback", admin=True),
    Command("pause", "", "stop opening positions and broadcasting (admin)", "/pause", admin=True),
    Command("resume", "", "resume after /pause (admin)", "/resume", admin=True),
    Command("close", "PAIR", "close a paper position now (admin)", "/close SOLUSDT", admin=True),
)
COMMANDS: dict[str, Command] = {c.name: c for c in CATALOG}
