"""What the bot decided and whom it told: signals, their outcomes, per-chat deliveries and results.

Delivery is effectively once per (signal, chat), across crashes. The outgoing queue is state:

- The admission that opens a position writes, in the same write, one ``queued`` delivery per
  target chat; the close of that position writes one ``queued`` result per chat that was not given
  up on. So a crash after a decision never loses its messages: they are sent after the restart.
- Before the photo goes out its delivery is marked ``sending`` (a client-side marker), after it
  ``photo_sent`` with the message id, after the JSON reply ``sent``; results go ``queued`` ->
  ``sending`` -> ``sent``. Anything not final at start-up is sent again from where it stopped (a
  delivery in ``photo_sent`` only gets its JSON reply). The Bot API cannot tell whether a message
  whose answer never arrived was posted, so a crash inside that window (between Telegram's answer
  and the write of its id, a few milliseconds) can double one message; nothing else can.
- ``failed`` is final: the chat is gone or refused the photo. A failed JSON reply does not undo a
  delivered photo (the caption carries the signal).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from engines.models import Signal
from storage import Delete, Put, StateStore

SIGNALS, DELIVERIES, RESULTS = "signals", "sent_signals", "sent_results"
DeliveryState = Literal["queued", "sending", "photo_sent", "sent", "failed"]
UNFINISHED = ("queued", "sending", "photo_sent")


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
    """One (signal, chat) delivery; ``message_id`` is the photo's, the message results reply to."""

    signal_key: str
    chat_id: int
    state: str
    message_id: int | None


def _delivery(doc: dict[str, Any]) -> Delivery:
    return Delivery(doc["signal_key"], doc["chat_id"], doc.get("state", "failed"), doc.get("message_id"))


def _delivery_key(signal_key: str, chat_id: int) -> str:
    return f"{chat_id}|{signal_key}"


class SignalJournal:
    """Signals and deliveries in a :class:`~storage.StateStore`."""

    def __init__(self, store: StateStore) -> None:
        self._store = store

    def record(self, signal: Signal, *, decided_at: datetime, opened: bool, note: str = "",
               params_version: int | None = None) -> bool:
        """Remember ``signal``; ``False`` if it was already recorded (nothing changes)."""
        if self._store.get(SIGNALS, signal.key) is not None:
            return False
        self._store.write([self.record_change(signal, decided_at=decided_at, opened=opened, note=note,
                                              params_version=params_version)])
        return True

    @staticmethod
    def record_change(signal: Signal, *, decided_at: datetime, opened: bool, note: str = "",
                      params_version: int | None = None) -> Put:
        """The write that records ``signal`` (part of its admission's one write)."""
        return Put(SIGNALS, signal.key, {"signal": signal.model_dump(mode="json"), "decided_at": decided_at.isoformat(),
                                         "opened": opened, "outcome": None, "pnl_pct": None, "note": note,
                                         "params_version": params_version})

    def outcome_change(self, signal_key: str, outcome: str, pnl_pct: float) -> list[Put]:
        """The write that gives ``signal_key`` its outcome (part of its close's one write)."""
        doc = self._store.get(SIGNALS, signal_key)
        return [] if doc is None else [Put(SIGNALS, signal_key, {**doc, "outcome": outcome, "pnl_pct": pnl_pct})]

    def set_outcome(self, signal_key: str, outcome: str, pnl_pct: float) -> None:
        self._store.write(self.outcome_change(signal_key, outcome, pnl_pct))

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

    # ---- deliveries ------------------------------------------------------------------------
    @staticmethod
    def queue_changes(signal_key: str, chats: list[int], *, at: datetime) -> list[Put]:
        """The writes that queue ``signal_key`` for ``chats`` (part of its admission's one write)."""
        return [Put(DELIVERIES, _delivery_key(signal_key, chat), {
            "signal_key": signal_key, "chat_id": chat, "state": "queued", "message_id": None,
            "at": at.isoformat()}) for chat in chats]

    def queue(self, signal_key: str, chats: list[int], *, at: datetime) -> None:
        self._store.write(self.queue_changes(signal_key, chats, at=at))

    def mark(self, signal_key: str, chat_id: int, state: DeliveryState, **fields: Any) -> None:
        """Move a delivery to ``state`` (one write), adding ``fields`` (``message_id``, ``reason``)."""
        key = _delivery_key(signal_key, chat_id)
        doc = self._store.get(DELIVERIES, key) or {"signal_key": signal_key, "chat_id": chat_id}
        self._store.put(DELIVERIES, key, {**doc, **fields, "state": state})

    def deliveries(self, signal_key: str) -> list[Delivery]:
        """Chats whose photo of ``signal_key`` was posted, with the message to reply to."""
        return [d for d in self._all(signal_key) if d.message_id is not None and d.state != "failed"]

    def unfinished(self) -> list[Delivery]:
        """Deliveries still to send (queued, interrupted, or waiting for the JSON reply), in queue order."""
        return [d for d in self._all() if d.state in UNFINISHED]

    def _all(self, signal_key: str | None = None) -> list[Delivery]:
        docs = self._store.all(DELIVERIES)
        return [_delivery(d) for d in docs if signal_key is None or d.get("signal_key") == signal_key]

    # ---- results -----------------------------------------------------------------------------
    def result_changes(self, signal_key: str) -> list[Put]:
        """The writes that queue the result of ``signal_key`` for every chat not given up on (part of the close)."""
        return [Put(RESULTS, _delivery_key(signal_key, d.chat_id), {
            "signal_key": signal_key, "chat_id": d.chat_id, "state": "queued"})
            for d in self._all(signal_key) if d.state != "failed"]

    def mark_result(self, signal_key: str, chat_id: int, state: str, **fields: Any) -> None:
        key = _delivery_key(signal_key, chat_id)
        doc = self._store.get(RESULTS, key) or {"signal_key": signal_key, "chat_id": chat_id}
        self._store.put(RESULTS, key, {**doc, **fields, "state": state})

    def unfinished_results(self, signal_key: str | None = None) -> list[tuple[str, int]]:
        """``(signal_key, chat_id)`` of results still to post, in queue order."""
        return [(d["signal_key"], d["chat_id"]) for d in self._store.all(RESULTS)
                if d.get("state") in ("queued", "sending") and signal_key in (None, d["signal_key"])]


    def prune(self, signal_key: str) -> bool:
        """Forget ``signal_key``'s delivery and result records once every result is final (one write).

        Called once its position closed and its results were sent (there are none if no chat got it).
        """
        results = [d for d in self._store.all(RESULTS) if d.get("signal_key") == signal_key]
        if any(d.get("state") in ("queued", "sending") for d in results):
            return False
        chats = {d.chat_id for d in self._all(signal_key)} | {d["chat_id"] for d in results}
        self._store.write([Delete(table, _delivery_key(signal_key, chat))
                           for chat in chats for table in (DELIVERIES, RESULTS)])
        return True


def _entry(doc: dict[str, Any]) -> JournalEntry:
    return JournalEntry(Signal.model_validate(doc["signal"]), datetime.fromisoformat(doc["decided_at"]),
                        doc["opened"], doc["outcome"], doc["pnl_pct"], doc.get("note", ""))
