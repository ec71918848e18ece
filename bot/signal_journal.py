"""What the bot decided and whom it told: signals, their outcomes, and per-chat deliveries.

Delivery is at-most-once per (signal, chat). :meth:`SignalJournal.claim` writes the delivery
record *before* the message is sent (state ``sending``); :meth:`confirm` adds the message id
afterwards. A crash between the two leaves a ``sending`` record, so after a restart that chat
does not get the signal again: a missed signal is safer than a duplicated trade instruction.
Records still in ``sending`` are listed by :meth:`unconfirmed` (logged at start-up).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from engines.models import Signal
from storage import StateStore

SIGNALS, DELIVERIES = "signals", "sent_signals"


@dataclass(frozen=True)
class JournalEntry:
    """A signal the engines produced, and how it ended (``outcome`` None while open)."""

    signal: Signal
    decided_at: datetime
    opened: bool
    outcome: str | None
    pnl_pct: float | None
    note: str


@dataclass(frozen=True)
class Delivery:
    chat_id: int
    message_id: int | None


def _delivery_key(signal_key: str, chat_id: int) -> str:
    return f"{chat_id}|{signal_key}"


class SignalJournal:
    """Signals and deliveries in a :class:`~storage.StateStore`."""

    def __init__(self, store: StateStore) -> None:
        self._store = store

    def record(self, signal: Signal, *, decided_at: datetime, opened: bool, note: str = "") -> bool:
        """Remember ``signal``; ``False`` if it was already recorded (nothing changes)."""
        if self._store.get(SIGNALS, signal.key) is not None:
            return False
        self._store.put(SIGNALS, signal.key, {"signal": signal.model_dump(mode="json"),
                                              "decided_at": decided_at.isoformat(), "opened": opened,
                                              "outcome": None, "pnl_pct": None, "note": note})
        return True

    def set_outcome(self, signal_key: str, outcome: str, pnl_pct: float) -> None:
        doc = self._store.get(SIGNALS, signal_key)
        if doc is not None:
            self._store.put(SIGNALS, signal_key, {**doc, "outcome": outcome, "pnl_pct": pnl_pct})

    def get(self, signal_key: str) -> JournalEntry | None:
        doc = self._store.get(SIGNALS, signal_key)
        return None if doc is None else _entry(doc)

    def recent(self, count: int) -> list[JournalEntry]:
        """The last ``count`` traded (and so broadcast) signals, newest first."""
        traded = self.entries(traded_only=True)
        return list(reversed(traded[-count:])) if count > 0 else []

    def entries(self, *, traded_only: bool = False) -> list[JournalEntry]:
        """Every recorded signal in decision order; ``traded_only`` keeps those that opened a position."""
        found = [_entry(doc) for doc in self._store.all(SIGNALS)]
        return [e for e in found if e.opened] if traded_only else found

    def claim(self, signal_key: str, chat_id: int, *, at: datetime) -> bool:
        """Reserve the (signal, chat) delivery; ``False`` if it was claimed before (do not send)."""
        key = _delivery_key(signal_key, chat_id)
        if self._store.get(DELIVERIES, key) is not None:
            return False
        self._store.put(DELIVERIES, key, {"signal_key": signal_key, "chat_id": chat_id, "state": "sending",
                                          "message_id": None, "at": at.isoformat()})
        return True

    def confirm(self, signal_key: str, chat_id: int, message_id: int) -> None:
        key = _delivery_key(signal_key, chat_id)
        doc = self._store.get(DELIVERIES, key) or {"signal_key": signal_key, "chat_id": chat_id}
        self._store.put(DELIVERIES, key, {**doc, "state": "sent", "message_id": message_id})

    def fail(self, signal_key: str, chat_id: int, reason: str) -> None:
        key = _delivery_key(signal_key, chat_id)
        doc = self._store.get(DELIVERIES, key) or {"signal_key": signal_key, "chat_id": chat_id}
        self._store.put(DELIVERIES, key, {**doc, "state": "failed", "reason": reason})

    def deliveries(self, signal_key: str) -> list[Delivery]:
        """Chats that got ``signal_key`` with the message to reply to."""
        return [Delivery(doc["chat_id"], doc.get("message_id")) for doc in self._store.all(DELIVERIES)
                if doc["signal_key"] == signal_key and doc.get("state") == "sent"]

    def unconfirmed(self) -> list[dict[str, Any]]:
        return [doc for doc in self._store.all(DELIVERIES) if doc.get("state") == "sending"]


def _entry(doc: dict[str, Any]) -> JournalEntry:
    return JournalEntry(Signal.model_validate(doc["signal"]), datetime.fromisoformat(doc["decided_at"]),
                        doc["opened"], doc["outcome"], doc["pnl_pct"], doc.get("note", ""))
