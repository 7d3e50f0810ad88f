"""The live runtime on a local Ray cluster: restarts, redelivery, duplicates, out of order.

One Ray session for the module; the staging instance (mock market, real
store, real relay, the eight agent actors) is started once per store backend:
the embedded SQLite file and PostgreSQL (skipped with the reason when no
server answers, failing instead under DS1_REQUIRE_POSTGRES=1). Webhooks come
in exactly as the HTTP app records them: a signed Shopify body through
`WebhookIntake`, then the event and its outbox row in one transaction.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import os
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import numpy as np
import psycopg
import pytest
import ray
from psycopg import sql
from psycopg.conninfo import make_conninfo

from ds1ray.adapters.live.ports import SHOP_PRODUCT, PlatformIds
from ds1ray.config import load_config
from ds1ray.live.agent_host import NAMESPACE, derived_event_id
from ds1ray.live.redaction import Redactor
from ds1ray.live.runtime import COORDINATOR, MARKET_ACTOR, live_actors, start_http, start_live, stop_live
from ds1ray.live.signatures import shopify_webhook_headers
from ds1ray.live.webhooks import WebhookIntake
from ds1ray.store import Event, open_store
from ds1ray.store.store import Store

from .conftest import live_ray_cluster

pytestmark = [pytest.mark.ray, pytest.mark.timeout(900)]

SECRET = "shopify-test-secret"
SHOPIFY_PRODUCT = 632910392  # the cat tree of the sample order
SLOT = 3
SECRETS = {"SHOPIFY_WEBHOOK_SECRET": SECRET, "STRIPE_WEBHOOK_SECRET": "whsec_test",
           "DS1_PII_HASH_KEY": "pii-key"}
POSTGRES_URL = os.environ.get("DS1_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/")

ORDER: dict[str, Any] = {
    "id": 0, "admin_graphql_api_id": "gid://shopify/Order/0", "name": "#1", "email":
    "ada@example.com", "created_at": "2026-01-05T10:14:22-05:00", "currency": "USD",
    "total_price": "59.99", "subtotal_price": "54.99", "total_tax": "4.50",
    "total_discounts": "0.00", "financial_status": "paid",
    "line_items": [{"id": 866550311766439020, "product_id": SHOPIFY_PRODUCT, "variant_id": 808950810,
                    "title": "Cat Tree", "sku": "SKU-CAT-TREE", "quantity": 1, "price": "54.99"}],
    "shipping_address": {"first_name": "Ada", "last_name": "Lovelace", "address1": "12 St James's",
                         "city": "London", "zip": "SW1Y 4JH", "country_code": "GB"},
}
REFUND: dict[str, Any] = {
    "id": 0, "order_id": 0, "created_at": "2026-01-07T12:00:00-05:00", "note": "", "restock": False,
    "refund_line_items": [{"id": 1, "line_item_id": 866550311766439020, "quantity": 1}],
    "transactions": [{"id": 1, "order_id": 0, "kind": "refund", "status": "success",
                      "amount": "59.99", "currency": "USD"}],
}


# Fixtures ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def ray_session() -> Iterator[None]:
    with live_ray_cluster(SECRETS):
        yield


def postgres_database() -> tuple[str, Callable[[], None]]:
    """A fresh database name on the test server and the function that drops it (or skip/fail)."""
    name = f"ds1ray_live_test_{os.getpid()}"
    admin_url = make_conninfo(POSTGRES_URL, dbname="postgres")
    try:
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    except psycopg.Error as error:
        reason = f"no PostgreSQL server at {POSTGRES_URL}: {str(error).strip().splitlines()[-1]}"
        if os.environ.get("DS1_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"{reason} (DS1_REQUIRE_POSTGRES=1)")
        pytest.skip(reason)

    def drop() -> None:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    return make_conninfo(POSTGRES_URL, dbname=name), drop  # live up creates and migrates it


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def live(request: pytest.FixtureRequest, ray_session: None,
         tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """A running staging instance (no HTTP: the tests record webhooks as the app does)."""
    drop: Callable[[], None] | None = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('live') / 'live.sqlite3'}"
    else:
        url, drop = postgres_database()
    config = load_config("overlays/bootstrap.staging.yaml")
    start_live(config, store_url=url, http=False, relay_interval=0.05)
    store = open_store(url)
    PlatformIds(store).put(SHOP_PRODUCT, SLOT, str(SHOPIFY_PRODUCT))
    try:
        yield store
    finally:
        stop_live()
        store.close()
        if drop is not None:
            drop()


# Helpers ------------------------------------------------------------------------------------------

INTAKE = WebhookIntake(shopify_secrets=SECRET, stripe_secrets=None, redactor=Redactor(SECRETS["DS1_PII_HASH_KEY"]))


def webhook(topic: str, body: dict[str, Any], delivery: str) -> Event:
    """A signed Shopify webhook through the real intake, as the store event the app records."""
    raw = json.dumps(body).encode()
    headers = shopify_webhook_headers(raw, SECRET, topic=topic, event_id=delivery)
    return Event(**INTAKE.shopify(raw, headers).store_fields())


def paid(order_id: int, delivery: str | None = None) -> Event:
    order = copy.deepcopy(ORDER)
    order.update(id=order_id, admin_graphql_api_id=f"gid://shopify/Order/{order_id}")
    return webhook("orders/paid", order, delivery or f"paid-{order_id}")


def refunded(order_id: int, refund_id: int) -> Event:
    refund = copy.deepcopy(REFUND)
    refund.update(id=refund_id, order_id=order_id)
    refund["transactions"][0]["order_id"] = order_id
    return webhook("refunds/create", refund, f"refund-{refund_id}")


def record(store: Store, *events: Event) -> list[bool]:
    """Commit events and their outbox rows in one transaction, as the HTTP app does."""
    return store.run(lambda tx: [tx.outbox.add(event) for event in events])


def sourced(store: Store, supplier_tier: int = 2) -> None:
    """Tell the agents the product is sourced (what the supplier agent publishes)."""
    record(store, Event(
        event_id=derived_event_id("test-sourcing", SLOT, supplier_tier), type="SUPPLIER_ORDER_PLACED",
        source="supplier", run_id="live",
        payload={"kind": 0, "product": SLOT, "supplier": supplier_tier, "order_id": -1,
                 "unit_cost_cents": 1200, "promised_days": 9}))


def wait_until_drained(store: Store, timeout: float = 240.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if store.run(lambda tx: tx.outbox.pending_count()) == 0:
            return
        time.sleep(0.2)
    pytest.fail(f"the outbox did not drain in {timeout:g} s")


def processed(store: Store, handler: str, key: str) -> int:
    return int(store.run(lambda tx: tx.scalar(
        "SELECT COUNT(*) FROM processed_events WHERE handler = %s AND event_id = %s", [handler, key])))


def placements(order_ids: list[int]) -> dict[int, tuple[int, int]]:
    return dict(ray.get(actor(MARKET_ACTOR).placements_of.remote(order_ids)))


def actor(name: str) -> Any:
    return ray.get_actor(name, namespace=NAMESPACE)


def restarts(name: str) -> int:
    return next(int(a["restarts"]) for a in live_actors() if a["name"] == name)


# Tests ---------------------------------------------------------------------------------------------

def test_a_killed_ops_actor_restarts_and_every_paid_order_is_fulfilled_exactly_once(live: Store) -> None:
    sourced(live)
    wait_until_drained(live)
    ops = actor("agent:ops")
    orders_before = int(np.asarray(ray.get(ops.state.remote())["orders"])[0, SLOT])
    before = restarts("agent:ops")
    first, second = list(range(5001, 5013)), list(range(5013, 5025))

    for order_id in first:
        record(live, paid(order_id))
    time.sleep(0.3)  # the relay is delivering the first orders now
    ray.kill(ops, no_restart=False)
    for order_id in second:
        record(live, paid(order_id))
    wait_until_drained(live)

    assert restarts("agent:ops") == before + 1
    counts = placements(first + second)
    assert {order: placed for order, (placed, _) in counts.items()} == dict.fromkeys(first + second, 1)
    for order_id in first + second:
        assert processed(live, "agent:ops", f"order-paid:{order_id}") == 1
    # The restarted actor took back its committed state: every order counted once.
    state = ray.get(ops.state.remote())
    assert int(np.asarray(state["orders"])[0, SLOT]) == orders_before + len(first) + len(second)


def test_a_restarted_agent_restores_its_last_snapshot_from_the_store(live: Store) -> None:
    ceo = actor("agent:ceo")
    record(live, Event(type="USER_COMMAND", source="user_chat", run_id="live",
                       payload={"target": "ceo", "command": "set_budget", "argument": "123.45"}))
    wait_until_drained(live)
    budget = int(np.asarray(ray.get(ceo.state.remote())["base_budget"])[0])
    assert budget == 12_345

    ray.kill(ceo, no_restart=False)
    assert int(np.asarray(ray.get(ceo.state.remote())["base_budget"])[0]) == 12_345


def test_duplicate_webhooks_and_a_second_delivery_of_one_order_have_one_effect(live: Store) -> None:
    sourced(live)
    first = paid(6001)
    assert record(live, first) == [True]
    assert record(live, paid(6001)) == [False]  # Shopify's retry: same event id, nothing new
    # The same order again under another delivery id (a second subscription): one fact.
    assert record(live, paid(6001, delivery="paid-6001-again")) == [True]
    wait_until_drained(live)

    assert placements([6001]) == {6001: (1, 1)}
    assert processed(live, "agent:ops", "order-paid:6001") == 1
    assert processed(live, "agent:analytics", "order-paid:6001") == 1
    logged = live.run(lambda tx: tx.scalar(
        "SELECT COUNT(*) FROM event_log WHERE correlation_id = %s", ["shopify:order:6001"]))
    assert logged == 2


def test_out_of_order_webhooks_each_have_exactly_one_effect(live: Store) -> None:
    sourced(live)
    refund = refunded(7002, refund_id=9702)
    # The refund of 7002 arrives before 7002 is paid, and 7002 is paid before 7001.
    record(live, refund)
    deadline = time.monotonic() + 60
    while live.run(lambda tx: tx.scalar(
            "SELECT attempts FROM outbox WHERE event_id = %s", [refund.event_id])) == 0:
        assert time.monotonic() < deadline, "the relay never tried the refund"
        time.sleep(0.05)
    record(live, paid(7002))
    record(live, paid(7001))
    wait_until_drained(live)

    assert placements([7001, 7002]) == {7001: (1, 1), 7002: (1, 1)}
    assert processed(live, "agent:analytics", refund.event_id) == 1
    assert live.dead_letters.list() == []
    attempts = live.run(lambda tx: tx.scalar(
        "SELECT attempts FROM outbox WHERE event_id = %s", [refund.event_id]))
    assert attempts >= 2  # it waited for its order rather than being dropped


def test_ticks_of_one_schedule_slot_are_recorded_once(live: Store) -> None:
    coordinator = actor(COORDINATOR)
    first: str = ray.get(coordinator.fire.remote("optimization", 0))
    wait_until_drained(live)
    count = live.run(lambda tx: tx.scalar(
        "SELECT COUNT(*) FROM event_log WHERE event_id = %s", [first]))
    assert count == 1
    status = ray.get(coordinator.status.remote())
    assert status["outbox_pending"] == 0
    assert status["dead_letters"] == 0
    assert status["delivered"].get("OPTIMIZATION_TICK", 0) >= 1


def test_a_webhook_posted_to_the_http_actor_is_fulfilled_once_and_its_retry_is_a_duplicate(
        live: Store) -> None:
    config = load_config("overlays/bootstrap.staging.yaml")
    loopback = config.bootstrap.http.model_copy(update={"host": "127.0.0.1"})
    config = dataclasses.replace(config, bootstrap=config.bootstrap.model_copy(update={"http": loopback}))
    url = start_http(config, live.location.url, 0)
    assert url is not None and url.startswith("http://127.0.0.1:")
    sourced(live)
    order = copy.deepcopy(ORDER)
    order.update(id=9001, admin_graphql_api_id="gid://shopify/Order/9001")
    raw = json.dumps(order).encode()
    headers = shopify_webhook_headers(raw, SECRET, topic="orders/paid", event_id="http-9001")

    with httpx.Client(base_url=url, timeout=30) as client:
        first = client.post("/webhooks/shopify", content=raw, headers=headers)
        retry = client.post("/webhooks/shopify", content=raw, headers=headers)
        assert first.status_code == retry.status_code == 200
        assert (first.json()["duplicate"], retry.json()["duplicate"]) == (False, True)
        wait_until_drained(live)
        assert placements([9001]) == {9001: (1, 1)}

        agents = client.get("/api/agents").json()["agents"]
        assert [a["name"] for a in agents] == list(load_config().agents)
        assert {a["state"] for a in agents} == {"ALIVE"}
        assert client.get("/api/kpis").json()["orders"] >= 0


def test_a_restarted_coordinator_neither_repeats_nor_skips_a_scheduled_tick(live: Store) -> None:
    coordinator = actor(COORDINATOR)
    later = datetime.now(UTC) + timedelta(hours=9)  # at least two optimisation ticks fall due
    fired = ray.get(coordinator.due_ticks.remote(later))
    assert fired >= 2

    ray.kill(coordinator, no_restart=False)
    assert ray.get(coordinator.due_ticks.remote(later)) == 0  # the last tick time is in the store
    wait_until_drained(live)
    ticks = live.run(lambda tx: tx.scalar(
        "SELECT COUNT(*) FROM event_log WHERE source = 'clock' AND event_id LIKE %s", ["tick:%"]))
    assert ticks >= fired
    assert restarts(COORDINATOR) >= 1
