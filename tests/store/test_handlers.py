"""Handler delivery: at least once, applied once, dead-lettered when it keeps failing."""

from __future__ import annotations

import pytest

from ds1ray.errors import UserError
from ds1ray.store import Event, HandlerRegistry, Store, Transaction, deliver

TICKET_EVENT = Event(event_id="evt-ticket-1", type="TICKET_CREATED", source="zendesk",
                     payload={"ticket_id": "t1", "subject": "Where is my order?"})


def ticket_event() -> Event:
    """The same event again, as a redelivery would bring it."""
    return TICKET_EVENT.model_copy()


def open_ticket(tx: Transaction, event: Event) -> None:
    tx.insert("tickets", {"id": event.payload["ticket_id"], "channel": "zendesk",
                          "subject": event.payload["subject"], "created_at": tx.now(),
                          "updated_at": tx.now()})


def tickets(store: Store) -> int:
    return int(store.run(lambda tx: tx.scalar("SELECT COUNT(*) FROM tickets")))


def test_a_redelivered_event_reaches_each_handler_once(store: Store):
    registry = HandlerRegistry()
    registry.register("support.open_ticket", open_ticket)
    first = deliver(store, ticket_event(), handlers=registry)
    second = deliver(store, ticket_event(), handlers=registry)
    assert first.applied == ["support.open_ticket"] and second.duplicates == first.applied
    assert tickets(store) == 1


def test_a_handler_that_keeps_failing_is_dead_lettered_then_redriven_once(store: Store):
    registry = HandlerRegistry()
    helpdesk_up = False

    @registry.handler("support.open_ticket")
    def flaky(tx: Transaction, event: Event) -> None:
        if not helpdesk_up:
            raise TimeoutError("helpdesk timed out")
        open_ticket(tx, event)

    report = deliver(store, ticket_event(), handlers=registry, max_attempts=3,
                     backoff_seconds=0.001)
    assert report.dead_lettered == {"support.open_ticket": "TimeoutError: helpdesk timed out"}
    [letter] = store.dead_letters.list()
    assert letter.attempts == 3 and letter.event == ticket_event()

    failed = store.dead_letters.redrive([letter.id], registry)
    assert failed.failed == {letter.id: "TimeoutError: helpdesk timed out"}
    [still] = store.dead_letters.list()
    assert still.attempts == 4 and still.last_failed_at >= letter.last_failed_at

    helpdesk_up = True
    assert store.dead_letters.redrive([letter.id], registry).redriven == [letter.id]
    assert store.dead_letters.list() == [] and tickets(store) == 1
    assert deliver(store, ticket_event(), handlers=registry).duplicates == ["support.open_ticket"]
    assert tickets(store) == 1


def test_redrive_refuses_unknown_ids_and_unregistered_handlers(store: Store):
    registry = HandlerRegistry()
    registry.register("gone", lambda tx, event: (_ for _ in ()).throw(RuntimeError("x")))
    deliver(store, ticket_event(), handlers=registry, max_attempts=1)
    with pytest.raises(UserError, match="no dead letter with id 999"):
        store.dead_letters.redrive([999], registry)
    with pytest.raises(UserError, match="no handler named 'gone' is registered"):
        store.dead_letters.redrive(None, HandlerRegistry())
    assert len(store.dead_letters.list()) == 1


def test_registering_a_different_handler_under_a_taken_name_is_refused():
    registry = HandlerRegistry()
    registry.register("h", open_ticket)
    registry.register("h", open_ticket)  # the same function again is fine
    with pytest.raises(ValueError, match="already registered"):
        registry.register("h", lambda tx, event: None)
