"""Per-chat broadcast subscriptions with filters (pairs, engine, minimum confidence) and a message format.

Formats: ``standard`` (the explain chart with a caption, then the signal JSON as a reply) and
``cornix`` (one plain-text message in the layout Cornix and similar copy-trading bots parse).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from engines.models import Signal
from storage import StateStore

TABLE = "subscriptions"
Engine = Literal["micro", "macro"]
Format = Literal["standard", "cornix"]
FORMATS: tuple[Format, ...] = ("standard", "cornix")
ENGINE_OF_TYPE: dict[str, Engine] = {"SCALP": "micro", "MACRO": "macro"}


class Subscription(BaseModel):
    """One chat's subscription; empty ``pairs`` and ``engine=None`` mean everything."""

    model_config = ConfigDict(frozen=True)
    chat_id: int
    pairs: tuple[str, ...] = ()
    engine: Engine | None = None
    min_confidence: int = Field(0, ge=0, le=100)
    format: Format = "standard"

    def matches(self, signal: Signal) -> bool:
        return ((not self.pairs or signal.pair in self.pairs)
                and (self.engine is None or ENGINE_OF_TYPE[signal.type] == self.engine)
                and signal.confidence >= self.min_confidence)


class SubscriptionBook:
    """Subscriptions kept in a :class:`~storage.StateStore` table, one document per chat."""

    def __init__(self, store: StateStore) -> None:
        self._store = store

    def subscribe(self, subscription: Subscription) -> bool:
        """Store ``subscription``; ``True`` if the chat was not subscribed before."""
        is_new = self._store.get(TABLE, str(subscription.chat_id)) is None
        self._store.put(TABLE, str(subscription.chat_id), subscription.model_dump(mode="json"))
        return is_new

    def unsubscribe(self, chat_id: int) -> bool:
        return self._store.delete(TABLE, str(chat_id))

    def get(self, chat_id: int) -> Subscription | None:
        doc = self._store.get(TABLE, str(chat_id))
        return None if doc is None else Subscription.model_validate(doc)

    def all(self) -> list[Subscription]:
        return [Subscription.model_validate(doc) for doc in self._store.all(TABLE)]

    def matching(self, signal: Signal) -> list[Subscription]:
        return [s for s in self.all() if s.matches(signal)]
