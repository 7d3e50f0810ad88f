"""The append-only event log (both backends)."""

from __future__ import annotations

from functools import partial

import pytest

from ds1ray.store import Event, Store, Transaction, append_event, read_events


def test_an_event_is_logged_once_whatever_the_redeliveries(store: Store):
    event = Event(event_id="shopify-evt-1", type="ORDER_PAID", source="shopify",
                  payload={"total_price": "59.99"}, correlation_id="c1", run_id="live")
    assert store.append_event(event) is True
    assert store.append_event(event) is False
    assert store.run(lambda tx: read_events(tx, correlation_id="c1")) == [event]


def test_the_event_log_refuses_updates_and_deletes(store: Store):
    store.append_event(Event(event_id="e1", type="T", source="s"))
    for statement in ("UPDATE event_log SET type = 'X'", "DELETE FROM event_log"):
        with pytest.raises(Exception, match="append-only"):
            store.run(partial(Transaction.execute, query=statement))
    assert [e.type for e in store.run(lambda tx: read_events(tx))] == ["T"]


def test_events_append_inside_a_larger_transaction(store: Store):
    with pytest.raises(RuntimeError), store.transaction() as tx:
        append_event(tx, Event(event_id="e2", type="T", source="s"))
        raise RuntimeError("rolled back")
    assert store.run(lambda tx: read_events(tx)) == []
