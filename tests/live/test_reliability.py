"""A platform that fails for a while: the breaker opens, work goes to dead letters, nothing is lost.

The supplier adapter is live (`ds1ray.adapters.live.ports.LiveSupplier` over
the real `SupplierApi` client, in its own actor) and talks over a real socket
to the supplier contract server of tests/contract_servers, scripted to answer
503. Everything else is the staging instance. After the supplier recovers,
`ds1ray dlq redrive` puts the dead-lettered orders back on the outbox and each
is placed exactly once, under the idempotency key its first attempt used.
"""

from __future__ import annotations

import copy
import json
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from contract_servers.base import serve
from contract_servers.supplier import SupplierServer

from ds1ray.adapters.live.ports import SHOP_PRODUCT, SUPPLIER_OFFER, GuardSettings, PlatformIds
from ds1ray.cli import main
from ds1ray.config import load_config
from ds1ray.events.contracts import OPS_TICKET_IDS, RESOLUTION_CODES, TICKET_REASON_CODES
from ds1ray.live.agent_host import derived_event_id
from ds1ray.live.redaction import Redactor
from ds1ray.live.runtime import LiveAdapterSpec, live_status, start_live, stop_live
from ds1ray.live.signatures import shopify_webhook_headers
from ds1ray.live.webhooks import WebhookIntake
from ds1ray.store import Event, open_store
from ds1ray.store.store import Store

from .conftest import live_ray_cluster
from .test_runtime import postgres_database

pytestmark = [pytest.mark.ray, pytest.mark.timeout(900)]

SECRET = "shopify-test-secret"
API_KEY = "sup-key"
SHOPIFY_PRODUCT = 632910392
SLOT = 5
ENV = {"SHOPIFY_WEBHOOK_SECRET": SECRET, "STRIPE_WEBHOOK_SECRET": "whsec_test",
       "SUPPLIER_API_KEY": API_KEY}
GUARD = GuardSettings(max_attempts=2, base_delay_s=0.01, max_delay_s=0.05, max_retry_after_s=1.0,
                      failure_threshold=3, reset_timeout_s=1.0, rate_per_second=50.0)
ORDER: dict[str, Any] = {
    "id": 0, "name": "#1", "email": "ada@example.com", "created_at": "2026-01-05T10:14:22-05:00",
    "currency": "USD", "total_price": "59.99", "financial_status": "paid",
    "line_items": [{"id": 1, "product_id": SHOPIFY_PRODUCT, "variant_id": 2, "title": "Cat Tree",
                    "sku": "SKU-CAT-TREE", "quantity": 1, "price": "59.99"}],
}
INTAKE = WebhookIntake(shopify_secrets=SECRET, stripe_secrets=None, redactor=Redactor("pii-key"))


@pytest.fixture(scope="module")
def supplier() -> Iterator[SupplierServer]:
    server = SupplierServer(api_key=API_KEY)
    with serve(server):
        yield server


@pytest.fixture(scope="module")
def ray_session() -> Iterator[None]:
    with live_ray_cluster(ENV):
        yield


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def live(request: pytest.FixtureRequest, supplier: SupplierServer, ray_session: None,
         tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    drop: Callable[[], None] | None = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('reliability') / 'live.sqlite3'}"
    else:
        url, drop = postgres_database()
    supplier.reset()
    spec = LiveAdapterSpec("supplier", str(supplier.url), "SUPPLIER_API_KEY", GUARD)
    start_live(load_config("overlays/bootstrap.staging.yaml"), store_url=url, http=False,
               relay_interval=0.05, live_adapters={"supplier": spec})
    store = open_store(url)
    ids = PlatformIds(store)
    ids.put(SHOP_PRODUCT, SLOT, str(SHOPIFY_PRODUCT))
    for tier in range(3):
        ids.put(SUPPLIER_OFFER, SLOT, "SKU-CAT-TREE", tier=tier, unit_cost_cents=2150,
                delivery_days=9 + tier, reliability=0.95)
    try:
        yield store
    finally:
        stop_live()
        store.close()
        if drop is not None:
            drop()


def paid(order_id: int) -> Event:
    order = copy.deepcopy(ORDER)
    order.update(id=order_id, admin_graphql_api_id=f"gid://shopify/Order/{order_id}")
    raw = json.dumps(order).encode()
    headers = shopify_webhook_headers(raw, SECRET, topic="orders/paid", event_id=f"paid-{order_id}")
    return Event(**INTAKE.shopify(raw, headers).store_fields())


def record(store: Store, *events: Event) -> None:
    store.run(lambda tx: [tx.outbox.add(event) for event in events])


def wait_until_drained(store: Store, timeout: float = 240.0) -> None:
    deadline = time.monotonic() + timeout
    while store.run(lambda tx: tx.outbox.pending_count()) != 0:
        assert time.monotonic() < deadline, f"the outbox did not drain in {timeout:g} s"
        time.sleep(0.2)


def placed_references(server: SupplierServer) -> Counter[str]:
    return Counter(str(order["reference"]) for order in server.orders.values())


def order_keys(server: SupplierServer) -> dict[str, set[str]]:
    keys: dict[str, set[str]] = {}
    for request in server.requests_to("/orders", "POST"):
        keys.setdefault(request.json()["reference"], set()).add(request.headers["idempotency-key"])
    return keys


def test_a_failing_supplier_opens_the_breaker_and_redrive_completes_every_order_once(
        live: Store, supplier: SupplierServer) -> None:
    record(live, Event(event_id=derived_event_id("test-sourcing", SLOT), type="SUPPLIER_ORDER_PLACED",
                       source="supplier", run_id="live",
                       payload={"kind": 0, "product": SLOT, "supplier": 2, "order_id": -1,
                                "unit_cost_cents": 2150, "promised_days": 11}))
    wait_until_drained(live)
    supplier.faults.fail_next(1000, 503, body={"error": {"type": "api_error"}})
    orders = [8101, 8102, 8103]
    record(live, *(paid(order_id) for order_id in orders))
    wait_until_drained(live)

    # The platform is down: each order's work is a dead letter with an escalation; none was lost.
    # (The escalations make the CEO act, and the supplier agent's sample orders fail as well.)
    letters = live.dead_letters.list()
    assert sorted(str(letter.event.payload["order_id"]) for letter in letters
                  if letter.handler == "redeliver:ops") == [str(o) for o in orders]
    assert {letter.handler for letter in letters} <= {"redeliver:ops", "redeliver:supplier"}
    assert supplier.orders == {}
    assert live_status()["breakers"]["supplier"]["state"] == "open"
    escalations = live.run(lambda tx: tx.scalar(
        "SELECT COUNT(*) FROM event_log WHERE type = 'ESCALATION_TRIGGERED' AND source = 'ops'"))
    assert escalations == 3  # one per order

    # A redrive while the platform is still down fails again and keeps every letter.
    assert main(["dlq", "redrive", "--db", live.location.url, "--handlers",
                 "ds1ray.live.agent_host"]) == 0
    wait_until_drained(live)
    assert sum(letter.handler == "redeliver:ops" for letter in live.dead_letters.list()) == 3
    assert supplier.orders == {}

    # The platform recovers: the breaker's pause passes, one redrive completes the work.
    supplier.faults.clear()
    time.sleep(GUARD.reset_timeout_s + 0.2)
    assert main(["dlq", "redrive", "--db", live.location.url, "--handlers",
                 "ds1ray.live.agent_host"]) == 0
    wait_until_drained(live)

    assert live.dead_letters.list() == []
    references = placed_references(supplier)
    assert {ref: n for ref, n in references.items() if ref.startswith("order:")} == {
        f"order:{o}": 1 for o in orders}
    assert all(n == 1 for n in references.values())  # sample orders too: once each
    # Every attempt of one order, failed or not, carried the same idempotency key.
    assert all(len(keys) == 1 for keys in order_keys(supplier).values())
    assert live_status()["breakers"]["supplier"]["state"] == "closed"
    processed = live.run(lambda tx: tx.scalar(
        "SELECT COUNT(*) FROM processed_events WHERE handler = 'agent:ops' AND event_id LIKE %s",
        ["order-paid:81%"]))
    assert processed == 3


def test_an_order_the_supplier_refuses_is_refunded_and_apologised_for_once(
        live: Store, supplier: SupplierServer) -> None:
    # Slot 6 is sourced from a SKU the supplier no longer sells: it refuses every order (400).
    ids = PlatformIds(live)
    ids.put(SHOP_PRODUCT, 6, "632910399")
    ids.put(SUPPLIER_OFFER, 6, "SKU-DISCONTINUED", tier=1, unit_cost_cents=900, delivery_days=9)
    record(live, Event(event_id=derived_event_id("test-sourcing", 6), type="SUPPLIER_ORDER_PLACED",
                       source="supplier", run_id="live",
                       payload={"kind": 0, "product": 6, "supplier": 1, "order_id": -1,
                                "unit_cost_cents": 900, "promised_days": 9}))
    wait_until_drained(live)
    order = copy.deepcopy(ORDER)
    order["line_items"][0]["product_id"] = 632910399
    order.update(id=8201, admin_graphql_api_id="gid://shopify/Order/8201")
    raw = json.dumps(order).encode()
    for delivery in ("paid-8201", "paid-8201-again"):  # Shopify delivers the webhook twice
        headers = shopify_webhook_headers(raw, SECRET, topic="orders/paid", event_id=delivery)
        record(live, Event(**INTAKE.shopify(raw, headers).store_fields()))
    wait_until_drained(live)

    def payloads(event_type: str) -> list[dict[str, Any]]:
        rows = live.run(lambda tx: tx.execute(
            "SELECT payload FROM event_log WHERE type = %s", [event_type]).fetchall())
        return [live.run(lambda tx, raw=raw: tx.dialect.load_json(raw)) for (raw,) in rows]

    tickets = [p for p in payloads("TICKET_CREATED") if p["order_id"] == 8201]
    supplier_failure = TICKET_REASON_CODES.index("supplier_failure")
    assert [(p["ticket_id"], p["reason"], p["amount_cents"]) for p in tickets] == [
        (OPS_TICKET_IDS | 8201, supplier_failure, 5999)]
    resolutions = [p for p in payloads("TICKET_RESOLUTION") if p["order_id"] == 8201]
    replied = RESOLUTION_CODES.index("replied")
    assert [(p["action"], p["refund_cents"]) for p in resolutions] == [(replied, 0)]  # no second refund
    assert not any(ref == "order:8201" for ref in placed_references(supplier))
