"""The live shop port over the Shopify contract server: slots ↔ products, keyed refunds, the balance."""

from __future__ import annotations

import numpy as np
import pytest
from contract_servers.shopify import ShopifyServer

from ds1ray.adapters.live.ads_port import ADS_CAMPAIGN
from ds1ray.adapters.live.ports import SHOP_PRODUCT, GuardSettings, PlatformIds, PortContext
from ds1ray.adapters.live.shop_port import LiveShop, build_shop
from ds1ray.adapters.live.shopify import ShopifyAdmin
from ds1ray.errors import UserError
from ds1ray.live.clock import ManualClock
from ds1ray.live.resilience import PlatformUnavailable
from ds1ray.store import Store
from ds1ray.store.events import Event

from .conftest import MakeGuard
from .live_fixtures import mock_port, store_fixture  # noqa: F401  (the `store` fixture)
from .twins import RUN, same_form

ORDER = 5_512_300_001  # a Shopify numeric order id: our order id for orders that came from Shopify


@pytest.fixture
def port(store: Store, shopify_server: ShopifyServer, make_guard: MakeGuard) -> LiveShop:
    client = ShopifyAdmin(shopify_server.url, "shpat_test", resilience=make_guard("shopify"))
    return LiveShop(client, PlatformIds(store), store, slots=24, opening_cash_cents=300_000)


def publish(port: LiveShop, key: str, slots: list[int], prices: list[int]) -> None:
    with port.causation(key):
        port.publish(RUN.repeat(len(slots)), np.array(slots), np.array(prices), np.full(len(slots), 9),
                     np.ones(len(slots), bool))


def listing(store: Store, slot: int) -> dict[str, object]:
    found = [p for p in PlatformIds(store).of_kind(SHOP_PRODUCT) if p.slot == slot]
    assert len(found) == 1
    return {"platform_id": found[0].platform_id, **found[0].attributes}


def paid_order(store: Store, server: ShopifyServer, order_id: int, total: str, *, event_id: str) -> str:
    """An order Shopify took payment for, and the ORDER_PAID its webhook recorded."""
    gid = server.add_order("#1001", total, number=order_id)
    store.append_event(Event(event_id=event_id, type="ORDER_PAID", source="shopify_webhook",
                             correlation_id=f"shopify:order:{order_id}",
                             payload={"order_id": order_id, "order_gid": gid,
                                      "amount_cents": int(total.replace(".", ""))}))
    return gid


def test_publish_creates_a_listed_product_at_the_price_and_maps_the_slot(
        port: LiveShop, store: Store, shopify_server: ShopifyServer) -> None:
    publish(port, "store:evt-1:0", [7], [2499])
    [product] = shopify_server.products.values()
    assert product["status"] == "ACTIVE" and product["variants"][0]["price"] == "24.99"
    mapped = listing(store, 7)
    # The numeric id is what order webhooks carry in line_items[].product_id.
    assert mapped["platform_id"] == product["id"].rsplit("/", 1)[-1]
    assert mapped["product_gid"] == product["id"] and mapped["handle"] == product["handle"]
    assert mapped["price_cents"] == 2499 and mapped["status"] == "ACTIVE"


def test_a_handler_rerun_whose_mapping_was_lost_finds_the_product_by_its_key(
        port: LiveShop, store: Store, shopify_server: ShopifyServer) -> None:
    publish(port, "store:evt-2:0", [3], [1500])
    # A crash between Shopify's answer and the mapping's commit: the row is not there.
    store.run(lambda tx: tx.execute("DELETE FROM live_platform_ids"))
    publish(port, "store:evt-2:0", [3], [1500])
    assert len(shopify_server.products) == 1
    assert listing(store, 3)["product_gid"] == next(iter(shopify_server.products))


def test_a_slot_published_again_by_another_event_is_updated_not_duplicated(
        port: LiveShop, shopify_server: ShopifyServer) -> None:
    publish(port, "store:evt-3:0", [3], [1500])
    with port.causation("store:evt-4:0"):
        port.unpublish(RUN, np.array([3]))
    assert next(iter(shopify_server.products.values()))["status"] == "DRAFT"
    publish(port, "store:evt-5:0", [3], [1750])
    [product] = shopify_server.products.values()
    assert product["status"] == "ACTIVE" and product["variants"][0]["price"] == "17.50"


def test_a_slot_mapped_by_hand_is_updated_through_its_numeric_id(
        port: LiveShop, store: Store, shopify_server: ShopifyServer, make_guard: MakeGuard) -> None:
    made = ShopifyAdmin(shopify_server.url, "shpat_test", resilience=make_guard("shopify")).create_product(
        "Cat Tree", key="operator", status="DRAFT")
    PlatformIds(store).put(SHOP_PRODUCT, 4, made.gid.rsplit("/", 1)[-1], title="Cat Tree")
    publish(port, "store:evt-6:0", [4], [5999])
    [product] = shopify_server.products.values()
    assert product["status"] == "ACTIVE" and product["variants"][0]["price"] == "59.99"
    assert listing(store, 4)["title"] == "Cat Tree"


def test_set_prices_moves_the_variant_price_and_an_unpublished_slot_is_a_clear_error(
        port: LiveShop, shopify_server: ShopifyServer) -> None:
    publish(port, "store:evt-7:0", [1, 2], [1000, 2000])
    port.set_prices(RUN.repeat(2), np.array([2, 1]), np.array([2250, 990]))
    prices = sorted(p["variants"][0]["price"] for p in shopify_server.products.values())
    assert prices == ["22.50", "9.90"]
    with pytest.raises(ValueError, match="product slot 9 is not on Shopify"):
        port.set_prices(RUN, np.array([9]), np.array([100]))


def test_refund_returns_the_money_once_per_key_and_a_second_refund_is_refused(
        port: LiveShop, store: Store, shopify_server: ShopifyServer) -> None:
    gid = paid_order(store, shopify_server, ORDER, "59.99", event_id="paid-1")
    for _ in range(2):  # a handler re-run after a crash sends the same key: one refund
        with port.causation("ops:order-paid:1:1"):
            refunded = port.refund(RUN, np.array([ORDER]), np.array([4]), np.array([5999]), np.array([3]))
        assert refunded.tolist() == [True]
    assert len(shopify_server.refunds) == 1
    sent = shopify_server.requests_to("/admin/api", "POST")[-1].json()
    assert sent["variables"]["idempotencyKey"] == "ops:order-paid:1:1:0"
    [transaction] = sent["variables"]["input"]["transactions"]
    sale = shopify_server.orders[0]["transactions"][0]
    assert (transaction["orderId"], transaction["parentId"], transaction["amount"]) == (gid, sale["id"], "59.99")
    # Another event refunding the same order: Shopify refuses, the port answers False.
    with port.causation("support:ticket-9:1"):
        again = port.refund(RUN, np.array([ORDER]), np.array([4]), np.array([5999]), np.array([3]))
    assert again.tolist() == [False] and len(shopify_server.refunds) == 1


def test_an_order_that_never_came_from_shopify_is_not_refunded(
        port: LiveShop, shopify_server: ShopifyServer) -> None:
    with port.causation("ops:order-paid:2:1"):
        refunded = port.refund(RUN.repeat(2), np.array([77, -1]), np.array([1, 1]), np.array([100, 100]),
                               np.array([0, 0]))
    assert refunded.tolist() == [False, False]
    assert shopify_server.requests == []


def test_throttling_and_server_errors_are_retried_then_the_write_succeeds(
        port: LiveShop, store: Store, shopify_server: ShopifyServer, clock: ManualClock) -> None:
    shopify_server.faults.fail_next(1, 429, headers={"Retry-After": "1"})
    shopify_server.faults.fail_next(1, 503)
    shopify_server.set_bucket(0.0)  # and the cost bucket is empty: Throttled until it refills
    publish(port, "store:evt-8:0", [5], [1200])
    assert clock.sleeps[0] == 1.0  # Retry-After honoured
    assert len(shopify_server.products) == 1
    assert listing(store, 5)["price_cents"] == 1200


def test_shopify_down_after_retries_raises_unavailable_and_maps_nothing(
        port: LiveShop, store: Store, shopify_server: ShopifyServer) -> None:
    shopify_server.faults.fail_next(10, 503)
    with port.causation("store:evt-9:0"), pytest.raises(PlatformUnavailable):
        port.publish(RUN, np.array([6]), np.array([1200]), np.array([9]), np.array([True]))
    assert shopify_server.products == {} and PlatformIds(store).of_kind(SHOP_PRODUCT) == []


def test_balance_is_opening_cash_plus_recorded_sales_less_refunds_supplier_costs_and_ad_spend(
        port: LiveShop, store: Store, shopify_server: ShopifyServer) -> None:
    paid_order(store, shopify_server, ORDER, "59.99", event_id="paid-a")
    # The same order delivered again under another webhook id is one sale.
    store.append_event(Event(event_id="paid-b", type="ORDER_PAID", source="shopify_webhook",
                             correlation_id=f"shopify:order:{ORDER}",
                             payload={"order_id": ORDER, "amount_cents": 5999}))
    store.append_event(Event(type="ORDER_REFUNDED", source="shopify_webhook",
                             payload={"order_id": ORDER, "amount_cents": 1000}))
    store.append_event(Event(type="SUPPLIER_ORDER_PLACED", source="agent:ops",
                             payload={"order_id": ORDER, "unit_cost_cents": 890}))
    PlatformIds(store).put(ADS_CAMPAIGN, 4, "1202", spend_cents=2500)
    assert port.balance().tolist() == [300_000 + 5999 - 1000 - 890 - 2500]


def test_answers_have_the_mock_ports_shapes_and_dtypes(
        port: LiveShop, store: Store, shopify_server: ShopifyServer) -> None:
    mock = mock_port("shop")
    assert same_form(port.balance(), mock.balance())
    paid_order(store, shopify_server, ORDER, "10.00", event_id="paid-c")
    args = (RUN.repeat(2), np.array([ORDER, 12]), np.array([1, 2]), np.array([1000, 500]), np.array([0, 0]))
    with port.causation("ops:x:1"):
        assert same_form(port.refund(*args), mock.refund(*args))
    assert port.poll() == []  # orders arrive by webhook


def test_build_reads_the_api_version_from_the_base_url_and_needs_the_opening_cash(
        store: Store, shopify_server: ShopifyServer) -> None:
    context = PortContext(base_url=f"{shopify_server.url}/admin/api/2025-10", secret="shpat_test",
                          store=store, slots=24, guard=GuardSettings(),
                          options={"opening_cash_cents": "150000"})
    built = build_shop(context)
    assert built.client.path == "/admin/api/2025-10/graphql.json"
    assert built.balance().tolist() == [150_000]
    assert built.status()["platform"] == "shopify"
    with pytest.raises(UserError, match=r"adapters\.shop\.options\.opening_cash_cents"):
        build_shop(PortContext(base_url=shopify_server.url, secret="x", store=store, slots=24,
                               guard=GuardSettings()))
