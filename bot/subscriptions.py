"""Per-chat broadcast subscriptions with filters (pairs, engine, minimum confidence) and a message format.

Formats: ``standard`` (the explain chart with a caption, then the signal JSON as a reply) and
``cornix`` (one plain-text message in the layout Cornix and similar copy-trading bots parse).
"""

from __future__ import annotations

import logging
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.records import damage
from engines.models import Signal
from storage import StateStore

logger = logging.getLogger(__name__)
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
        self.quarantined: dict[str, str] = {}  # "subscriptions/<key>" -> why it cannot be read
        self.all()  # check every record once at start-up

    def _valid(self, key: str, doc: dict[str, Any]) -> Subscription | None:
        """``doc`` as a subscription; a malformed one is set aside (logged once) and skipped."""
        try:
            return Subscription.model_validate(doc)
        except ValidationError as e:
            name = f"{TABLE}/{key}"
            if name not in self.quarantined:
                self.quarantined[name] = damage(e)
                logger.error("subscription record %s is malformed (%s); skipped", name, self.quarantined[name])
            return None

    def subscribe(self, subscription: Subscription) -> bool:
        """Store ``subscription``; ``True`` if the chat was not subscribed before."""
        is_new = self._store.get(TABLE, str(subscription.chat_id)) is None
        self._store.put(TABLE, str(subscription.chat_id), subscription.model_dump(mode="json"))
        self.quarantined.pop(f"{TABLE}/{subscription.chat_id}", None)
        return is_new

    def unsubscribe(self, chat_id: int) -> bool:
        self.quarantined.pop(f"{TABLE}/{chat_id}", None)
        return self._store.delete(TABLE, str(chat_id))

    def get(self, chat_id: int) -> Subscription | None:
        doc = self._store.get(TABLE, str(chat_id))
        return None if doc is None else self._valid(str(chat_id), doc)

    def all(self) -> list[Subscription]:
        found = (self._valid(key, doc) for key, doc in self._store.items(TABLE))
        return [s for s in found if s is not None]

    def matching(self, signal: Signal) -> list[Subscription]:
        return [s for s in self.all() if s.matches(signal)]
