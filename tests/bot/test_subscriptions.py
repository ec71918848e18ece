"""Subscriptions in the store: a malformed record is skipped and named, the others still match."""

from __future__ import annotations

from bot.subscriptions import Subscription, SubscriptionBook
from storage import MemoryStore


def test_a_malformed_subscription_does_not_stop_the_others() -> None:
    store = MemoryStore()
    store.put("subscriptions", "1", {"chat_id": 1, "pairs": "everything", "min_confidence": -5})
    SubscriptionBook(store).subscribe(Subscription(chat_id=2, pairs=("ETHUSDT",)))
    book = SubscriptionBook(store)
    assert [s.chat_id for s in book.all()] == [2]
    assert book.quarantined == {"subscriptions/1": "pairs: Input should be a valid tuple"}
    book.subscribe(Subscription(chat_id=1))  # subscribing again replaces the bad record
    assert ([s.chat_id for s in book.all()], book.quarantined) == ([1, 2], {})
