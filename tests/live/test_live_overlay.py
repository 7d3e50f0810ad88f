"""The live overlay end to end: `start_live` with the live ports over the contract servers.

The overlay is overlays/bootstrap.live.yaml with each port that has a live
module in this installation (`live_ports()`) pointed at its contract server
on a real socket (a port without one is served by the simulated market). The
product is published on the Shopify contract server through the live shop
port, a signed `orders/paid` webhook is posted to the HTTP actor, and the
order is placed with the supplier exactly once, under the key of the event
that caused it; the KPIs then answer with the live shop's balance.
"""

from __future__ import annotations

import contextlib
import copy
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import ray
import yaml
from contract_servers.aftership import PREFIX, AfterShipServer
from contract_servers.base import PlatformServer, serve
from contract_servers.meta import MetaServer
from contract_servers.openai import OpenAIServer
from contract_servers.shopify import ShopifyServer
from contract_servers.sources import JsonSourceServer
from contract_servers.supplier import SupplierServer
from contract_servers.zendesk import ZendeskServer

from ds1ray.adapters.live.ports import SHOP_PRODUCT, SUPPLIER_OFFER, GuardSettings, PlatformIds, PortContext
from ds1ray.adapters.live.registry import live_ports
from ds1ray.adapters.live.shop_port import build_shop
from ds1ray.adapters.ports import PORT_NAMES
from ds1ray.config import load_config
from ds1ray.live.agent_host import NAMESPACE, derived_event_id
from ds1ray.live.runtime import LiveInstance, live_status, start_live, stop_live
from ds1ray.live.signatures import shopify_webhook_headers
from ds1ray.store import Event, open_store
from ds1ray.store.store import Store

from .conftest import live_ray_cluster

pytestmark = [pytest.mark.ray, pytest.mark.timeout(900)]

SLOT = 5
OPENING_CASH = 250_000  # not the simulated market's starting cash: the KPI must be the live shop's
SKU_COST = 2150  # the supplier contract server's price of SKU-CAT-TREE
ENV = {
    "SHOPIFY_WEBHOOK_SECRET": "shopify-test-secret", "STRIPE_WEBHOOK_SECRET": "whsec_test",
    "DS1_PII_HASH_KEY": "pii-key", "SHOPIFY_ACCESS_TOKEN": "shpat_test", "OPENAI_API_KEY": "sk-test",
    "META_ACCESS_TOKEN": "meta-token", "SUPPLIER_API_KEY": "sup-key", "ZENDESK_API_TOKEN": "zd-token",
    "AFTERSHIP_API_KEY": "as-key", "SOURCES_API_KEY": "src-key",
}
OPTIONS: dict[str, dict[str, str]] = {
    "shop": {"opening_cash_cents": str(OPENING_CASH)},
    "ads": {"ad_account_id": "1234567890", "page_id": "108000000000001", "pixel_id": "900000000000001",
            "store_url": "https://shop.example.com"},
    "email": {"agent_email": "agent@ds1.test", "start_time": "0"},
    "trends": {"key_field": "term", "score_field": "value", "items_path": "data.series", "score_scale": "100"},
    "competitor": {"key_field": "term", "price_field": "price", "items_path": "data"},
}
SECRETS = {"trends": "SOURCES_API_KEY", "competitor": "SOURCES_API_KEY"}  # the base names none for them
ORDER: dict[str, Any] = {
    "id": 7_300_000_001, "admin_graphql_api_id": "gid://shopify/Order/7300000001", "name": "#1001",
    "email": "ada@example.com", "created_at": "2026-11-25T10:14:22-05:00", "currency": "USD",
    "total_price": "59.99", "financial_status": "paid",
    "line_items": [{"id": 1, "product_id": 0, "variant_id": 0, "title": "Product 5", "sku": "SKU-CAT-TREE",
                    "quantity": 1, "price": "59.99"}],
}


@pytest.fixture(scope="module")
def platforms() -> Iterator[dict[str, PlatformServer]]:
    sources = JsonSourceServer()
    servers: dict[str, PlatformServer] = {
        "shop": ShopifyServer(), "ads": MetaServer(), "ai": OpenAIServer(), "supplier": SupplierServer(),
        "email": ZendeskServer(), "shipping": AfterShipServer(), "trends": sources, "competitor": sources}
    with contextlib.ExitStack() as stack:
        for server in {id(s): s for s in servers.values()}.values():
            stack.enter_context(serve(server))
        yield servers


def live_overlay(path: Path, platforms: dict[str, PlatformServer]) -> Path:
    """bootstrap.live.yaml with every port that has a live module on its contract server."""
    overlay = yaml.safe_load(Path("overlays/bootstrap.live.yaml").read_text())
    urls = {port: server.url for port, server in platforms.items()}
    urls.update(ads=f"{urls['ads']}/v23.0", ai=f"{urls['ai']}/v1", shipping=urls["shipping"] + PREFIX,
                trends=f"{urls['trends']}/trends", competitor=f"{urls['competitor']}/competitor")
    for port in PORT_NAMES:
        if port in live_ports():
            overlay["adapters"][port] = {"mode": "live", "base_url": urls[port], "options": OPTIONS.get(port, {})}
            if port in SECRETS:
                overlay["adapters"][port]["secret"] = SECRETS[port]
        else:
            overlay["adapters"][port] = {"mode": "mock"}
    overlay["secrets"]["SOURCES_API_KEY"] = "${SOURCES_API_KEY}"
    overlay["http"] = {"host": "127.0.0.1"}
    path.write_text(yaml.safe_dump(overlay))
    return path


@pytest.fixture(scope="module")
def live(platforms: dict[str, PlatformServer], tmp_path_factory: pytest.TempPathFactory
         ) -> Iterator[tuple[LiveInstance, Store]]:
    folder = tmp_path_factory.mktemp("live_overlay")
    config = load_config(live_overlay(folder / "bootstrap.live-test.yaml", platforms))
    url = f"sqlite:///{folder / 'live.sqlite3'}"
    with live_ray_cluster(ENV):
        try:
            instance = start_live(config, store_url=url, relay_interval=0.05, port=0)
            with open_store(url) as store:
                yield instance, store
        finally:
            stop_live()


def wait_until_drained(store: Store, timeout: float = 240.0) -> None:
    deadline = time.monotonic() + timeout
    while store.run(lambda tx: tx.outbox.pending_count()) != 0:
        assert time.monotonic() < deadline, f"the outbox did not drain in {timeout:g} s"
        time.sleep(0.2)


def test_a_paid_shopify_order_is_fulfilled_once_through_the_live_ports_and_the_kpis_answer(
        live: tuple[LiveInstance, Store], platforms: dict[str, PlatformServer]) -> None:
    instance, store = live
    assert {f"adapter:{port}" for port in live_ports()} | {"http"} <= set(instance.actors)
    assert {"adapter:shop", "adapter:supplier", "adapter:ads", "adapter:ai"} <= set(instance.actors)
    shopify, supplier = platforms["shop"], platforms["supplier"]
    assert isinstance(shopify, ShopifyServer) and isinstance(supplier, SupplierServer)

    # The product goes on sale through the live shop port; the supplier's offer is on file.
    shop = build_shop(PortContext(base_url=shopify.url, secret=ENV["SHOPIFY_ACCESS_TOKEN"], store=store, slots=24,
                                  guard=GuardSettings(), options={"opening_cash_cents": str(OPENING_CASH)}))
    with shop.causation("test:publish:0"):
        shop.publish(np.zeros(1, np.int64), np.array([SLOT]), np.array([5999]), np.array([9]), np.array([True]))
    [listing] = PlatformIds(store).of_kind(SHOP_PRODUCT)
    PlatformIds(store).put(SUPPLIER_OFFER, SLOT, "SKU-CAT-TREE", tier=2, unit_cost_cents=SKU_COST,
                           delivery_days=9, reliability=0.95)
    store.run(lambda tx: tx.outbox.add(Event(
        event_id=derived_event_id("test-sourcing", SLOT), type="SUPPLIER_ORDER_PLACED", source="supplier",
        run_id="live", payload={"kind": 0, "product": SLOT, "supplier": 2, "order_id": -1,
                                "unit_cost_cents": SKU_COST, "promised_days": 9})))
    wait_until_drained(store)

    order = copy.deepcopy(ORDER)
    order["line_items"][0]["product_id"] = int(listing.platform_id)
    raw = json.dumps(order).encode()
    headers = shopify_webhook_headers(raw, ENV["SHOPIFY_WEBHOOK_SECRET"], topic="orders/paid",
                                      event_id="live-overlay-1")
    assert instance.url is not None
    with httpx.Client(base_url=instance.url, timeout=30) as client:
        answers = [client.post("/webhooks/shopify", content=raw, headers=headers) for _ in range(2)]
        assert [a.status_code for a in answers] == [200, 200]
        assert [a.json()["duplicate"] for a in answers] == [False, True]
        wait_until_drained(store)

        placed = [o for o in supplier.orders.values() if o["reference"] == f"order:{ORDER['id']}"]
        assert len(placed) == 1 and placed[0]["items"] == [{"sku": "SKU-CAT-TREE", "quantity": 1}]
        [request] = [r for r in supplier.requests_to("/orders", "POST")
                     if r.json()["reference"] == f"order:{ORDER['id']}"]
        # `<agent>:<event key>:<n-th port call>:<row>`: the ORDER_PAID's key is its order.
        assert re.fullmatch(rf"ops:order-paid:{ORDER['id']}:\d+:0", request.headers["idempotency-key"])

        kpis = client.get("/api/kpis")
        assert kpis.status_code == 200
        # Opening cash, plus the sale, less the sourcing and the fulfilment recorded in the log.
        assert kpis.json()["cash_cents"] == OPENING_CASH + 5999 - SKU_COST - SKU_COST
    breakers = live_status()["breakers"]
    assert {"shopify", "supplier", "meta", "ai"} <= set(breakers)
    assert {breaker["state"] for breaker in breakers.values()} == {"closed"}


def test_a_helpdesk_ticket_and_a_shipment_are_polled_into_the_agents_once_each(
        live: tuple[LiveInstance, Store], platforms: dict[str, PlatformServer]) -> None:
    """Continues the business of the test above: order #1001 is paid and placed with the supplier."""
    _, store = live
    zendesk, aftership = platforms["email"], platforms["shipping"]
    assert isinstance(zendesk, ZendeskServer) and isinstance(aftership, AfterShipServer)
    paid = store.run(lambda tx: tx.scalar("SELECT COUNT(*) FROM event_log WHERE type = 'ORDER_PAID'"))
    assert int(paid) >= 1, "the order of the test above must be paid first (run the module, not this test alone)"

    ticket = zendesk.receive("Where is my order #1001?", "I paid a few days ago and have heard nothing since.")
    aftership.trackings["trk-live-1"] = {
        "id": "trk-live-1", "tracking_number": "9400100000000000007301", "slug": "usps",
        "order_id": str(ORDER["id"]), "title": None, "tag": "InTransit", "subtag": "InTransit_001"}
    coordinator = ray.get_actor("coordinator", namespace=NAMESPACE)
    first = ray.get(coordinator.poll_ingress.remote(), timeout=120)
    again = ray.get(coordinator.poll_ingress.remote(), timeout=120)
    # The background loop may have polled in between: what matters is one event each, over both polls.
    assert first["email"] + again["email"] <= 1 and first["shipping"] + again["shipping"] <= 1
    assert set(again) == {"trends", "shop", "shipping", "email"} & set(live_ports())
    assert all(new == 0 for new in again.values())  # polled again: nothing is new
    wait_until_drained(store)

    replies = zendesk.comments[ticket][1:]  # the first comment is the customer's message
    assert len(replies) == 1 and replies[0]["public"] is True and f"your order {ORDER['id']}" in replies[0]["body"]
    shipped_id = "aftership:trk-live-1:shipped"

    def effects(tx: Any) -> tuple[list[str], list[tuple[str, str]]]:
        logged = [str(r[0]) for r in tx.execute(
            "SELECT event_id FROM event_log WHERE type IN ('TICKET_CREATED', 'SUPPLIER_SHIPPED') "
            "AND source IN ('zendesk', 'aftership') ORDER BY event_id").fetchall()]
        marks = [(str(h), str(e)) for h, e in tx.execute(
            "SELECT handler, event_id FROM processed_events WHERE event_id IN (%s, %s) ORDER BY handler, event_id",
            [shipped_id, f"zendesk-ticket:{ticket}"]).fetchall()]
        return logged, marks

    logged, marks = store.run(effects)
    assert logged == [shipped_id, f"zendesk-ticket:{ticket}"]
    assert ("agent:ops", shipped_id) in marks and ("agent:support", f"zendesk-ticket:{ticket}") in marks
    assert len(marks) == len(set(marks))
    ingress = live_status()["coordinator"]["ingress"]
    assert ingress["recorded"]["email"] == ingress["recorded"]["shipping"] == 1 and ingress["outages"] == {}
