"""Idempotency keys with Stripe's semantics, on both backends."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from ds1ray.errors import UserError
from ds1ray.store import (
    IdempotencyKeyReused,
    Response,
    Store,
    Transaction,
    open_store,
)

REQUEST = {"amount": 1999, "currency": "usd", "customer": "cus_1"}


def charge(calls: list[str], status: int = 201) -> Callable[[Transaction], Response]:
    """An operation with a domain effect: one order row per real execution."""

    def operation(tx: Transaction) -> Response:
        order_id = f"ord_{len(calls) + 1}"
        calls.append(order_id)
        tx.insert("orders", {
            "id": order_id, "channel": "shopify", "external_id": order_id, "total_cents": 1999,
            "currency": "usd", "financial_status": "paid",
            "created_at": tx.now(), "updated_at": tx.now(),
        })
        return Response(status, {"id": order_id, "amount": 1999})

    return operation


def order_count(store: Store) -> int:
    return int(store.run(lambda tx: tx.scalar("SELECT COUNT(*) FROM orders")))


def test_a_retry_with_the_same_key_and_request_gets_the_stored_response(store: Store):
    calls: list[str] = []
    first = store.idempotency.run("key-1", REQUEST, charge(calls))
    again = store.idempotency.run("key-1", dict(reversed(REQUEST.items())), charge(calls))
    assert first == Response(201, {"id": "ord_1", "amount": 1999}, replayed=False)
    assert again == Response(201, {"id": "ord_1", "amount": 1999}, replayed=True)
    assert calls == ["ord_1"] and order_count(store) == 1


def test_an_error_response_is_stored_and_replayed_too(store: Store):
    calls: list[str] = []

    def declined(tx: Transaction) -> Response:
        calls.append("declined")
        return Response(402, {"error": {"code": "card_declined"}})

    assert store.idempotency.run("key-2", REQUEST, declined).status == 402
    replay = store.idempotency.run("key-2", REQUEST, charge(calls))
    assert replay == Response(402, {"error": {"code": "card_declined"}}, replayed=True)
    assert calls == ["declined"] and order_count(store) == 0


def test_an_operation_that_raises_rolls_back_and_stores_a_500(store: Store):
    def crashing(tx: Transaction) -> Response:
        charge([])(tx)
        raise RuntimeError("supplier API exploded")

    with pytest.raises(RuntimeError, match="exploded"):
        store.idempotency.run("key-3", REQUEST, crashing)
    assert order_count(store) == 0
    replay = store.idempotency.run("key-3", REQUEST, charge([]))
    assert replay.status == 500 and replay.replayed
    assert "supplier API exploded" in replay.body["error"]["message"]


def test_the_same_key_with_a_different_request_is_an_error(store: Store):
    store.idempotency.run("key-4", REQUEST, charge([]))
    with pytest.raises(IdempotencyKeyReused, match=r"key-4.*different request"):
        store.idempotency.run("key-4", {**REQUEST, "amount": 2999}, charge([]))
    assert order_count(store) == 1


def test_a_key_expires_after_24_hours(store_url: str):
    now = [datetime(2026, 1, 1, 12, tzinfo=UTC)]
    with open_store(store_url, clock=lambda: now[0]) as store:
        calls: list[str] = []
        store.idempotency.run("key-5", REQUEST, charge(calls))
        now[0] += timedelta(hours=23, minutes=59)
        assert store.idempotency.run("key-5", REQUEST, charge(calls)).replayed
        now[0] += timedelta(minutes=2)
        fresh = store.idempotency.run("key-5", {"other": "request"}, charge(calls))
        assert not fresh.replayed and calls == ["ord_1", "ord_2"]
        now[0] += timedelta(hours=25)
        assert store.idempotency.purge_expired() == 1


def test_keys_longer_than_255_characters_are_refused(store: Store):
    with pytest.raises(UserError, match="1 to 255"):
        store.idempotency.run("k" * 256, REQUEST, charge([]))


def test_eight_concurrent_writers_with_one_key_have_exactly_one_effect(store_url: str):
    calls: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(8)
    responses: list[Response] = []
    errors: list[BaseException] = []

    def operation(tx: Transaction) -> Response:
        with lock:
            response = charge(calls)(tx)
        return response

    def writer() -> None:
        # Each writer has its own store, hence its own connections.
        try:
            with open_store(store_url) as store:
                start.wait()
                responses.append(store.idempotency.run("key-race", REQUEST, operation))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=writer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    assert calls == ["ord_1"]
    assert sorted(r.replayed for r in responses) == [False] + [True] * 7
    assert {(r.status, r.body["id"]) for r in responses} == {(201, "ord_1")}
    with open_store(store_url) as store:
        assert order_count(store) == 1
