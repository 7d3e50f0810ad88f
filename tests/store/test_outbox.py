"""The transactional outbox and its relay (both backends)."""

from __future__ import annotations

import threading
import time

import pytest

from ds1ray.store import Event, HandlerRegistry, OutboxRelay, Store, Transaction, open_store


def paid(order_id: str) -> Event:
    return Event(type="ORDER_PAID", source="shopify", payload={"order_id": order_id},
                 correlation_id=f"corr-{order_id}", run_id="live")


def place_order(tx: Transaction, order_id: str) -> Event:
    tx.insert("orders", {
        "id": order_id, "channel": "shopify", "external_id": order_id, "total_cents": 5999,
        "currency": "usd", "financial_status": "paid", "created_at": tx.now(),
        "updated_at": tx.now(),
    })
    event = paid(order_id)
    tx.outbox.add(event)
    return event


def pending(store: Store) -> int:
    return store.run(lambda tx: tx.outbox.pending_count())


def test_the_event_exists_only_if_the_domain_change_committed(store: Store):
    with store.transaction() as tx:
        committed = place_order(tx, "o1")
    with pytest.raises(RuntimeError), store.transaction() as tx:
        place_order(tx, "o2")
        raise RuntimeError("crash before commit")
    published: list[Event] = []
    OutboxRelay(store, published.append).drain()
    assert [event.event_id for event in published] == [committed.event_id]
    assert published[0] == committed


def test_the_relay_publishes_in_order_and_marks_rows_published(store: Store):
    with store.transaction() as tx:
        events = [place_order(tx, f"o{index}") for index in range(5)]
    published: list[Event] = []
    report = OutboxRelay(store, published.append, batch_size=2).drain()
    assert [e.event_id for e in published] == [e.event_id for e in events]
    assert report.published == [e.event_id for e in events]
    assert pending(store) == 0
    OutboxRelay(store, published.append).drain()
    assert len(published) == 5  # nothing published twice


def test_a_failed_publish_leaves_the_row_for_the_next_drain(store: Store):
    with store.transaction() as tx:
        event = place_order(tx, "o1")
    broker_up = False
    published: list[Event] = []

    def publish(event: Event) -> None:
        if not broker_up:
            raise ConnectionError("broker unreachable")
        published.append(event)

    relay = OutboxRelay(store, publish)
    assert relay.drain().failed == [event.event_id]
    assert pending(store) == 1
    broker_up = True
    assert relay.drain().published == [event.event_id]
    assert pending(store) == 0


def test_a_row_failing_max_attempts_times_becomes_a_dead_letter_and_can_be_redriven(
    store: Store,
):
    with store.transaction() as tx:
        event = place_order(tx, "o1")
    broker_up = False
    published: list[Event] = []

    def publish(event: Event) -> None:
        if not broker_up:
            raise ConnectionError("broker unreachable")
        published.append(event)

    relay = OutboxRelay(store, publish, name="relay-main", max_attempts=3)
    reports = [relay.drain_once() for _ in range(3)]
    assert reports[-1].dead_lettered == [event.event_id]
    assert pending(store) == 0
    [letter] = store.dead_letters.list()
    assert (letter.handler, letter.event, letter.attempts) == ("relay-main", event, 3)
    assert letter.last_error == "ConnectionError: broker unreachable"
    assert letter.first_failed_at <= letter.last_failed_at

    broker_up = True
    registry = HandlerRegistry()
    relay.register_redrive(registry)
    assert store.dead_letters.redrive(None, registry).redriven == [letter.id]
    assert published == [event]
    assert store.dead_letters.list() == []
    assert store.run(lambda tx: tx.scalar(
        "SELECT published_at IS NOT NULL FROM outbox WHERE event_id = %s", [event.event_id]))


def test_concurrent_relays_publish_every_event_exactly_once(store_url: str):
    with open_store(store_url) as store, store.transaction() as tx:
        events = [place_order(tx, f"o{index}") for index in range(60)]
    published: list[str] = []
    lock = threading.Lock()

    def publish(event: Event) -> None:
        time.sleep(0.002)  # a slow broker, so the relays overlap
        with lock:
            published.append(event.event_id)

    def relay() -> None:
        with open_store(store_url) as store:
            OutboxRelay(store, publish, batch_size=5).drain()

    threads = [threading.Thread(target=relay) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(published) == sorted(event.event_id for event in events)
