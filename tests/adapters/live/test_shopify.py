"""ShopifyAdmin against the Shopify contract server: products, orders, refunds, cost throttling."""

from __future__ import annotations

import pytest
from contract_servers.shopify import ShopifyServer

from ds1ray.adapters.live.shopify import ShopifyAdmin, handle_for
from ds1ray.live.clock import ManualClock
from ds1ray.live.resilience import BreakerState, PlatformRejected, PlatformUnavailable

from .conftest import MakeGuard


def admin(server: ShopifyServer, make_guard: MakeGuard, **guard: object) -> ShopifyAdmin:
    return ShopifyAdmin(server.url, "shpat_test", resilience=make_guard("shopify", **guard))


def test_create_product_sends_the_mutation_with_a_key_derived_handle(
    shopify_server: ShopifyServer, make_guard: MakeGuard
) -> None:
    product = admin(shopify_server, make_guard).create_product(
        "Cat Tree Deluxe", key="idea-17", tags=["ds1"]
    )
    assert product.gid.startswith("gid://shopify/Product/")
    assert product.handle == handle_for("Cat Tree Deluxe", "idea-17")
    assert product.handle.startswith("cat-tree-deluxe-")
    assert product.variant_gids
    sent = shopify_server.requests[-1]
    assert sent.path == "/admin/api/2026-01/graphql.json"
    assert sent.headers["x-shopify-access-token"] == "shpat_test"
    assert "productCreate(product: $product)" in sent.json()["query"]


def test_create_product_twice_with_one_key_makes_one_product(
    shopify_server: ShopifyServer, make_guard: MakeGuard
) -> None:
    client = admin(shopify_server, make_guard)
    first = client.create_product("Cat Tree Deluxe", key="idea-17")
    second = client.create_product("Cat Tree Deluxe", key="idea-17")
    assert first == second
    assert len(shopify_server.products) == 1


def test_create_product_whose_answer_was_lost_is_not_made_twice(
    shopify_server: ShopifyServer, make_guard: MakeGuard, clock: ManualClock
) -> None:
    client = admin(shopify_server, make_guard)
    client.create_product("LED Lamp", key="idea-9")  # the product exists ...
    shopify_server.faults.fail_next(1, 502)  # ... and the next answer is lost
    again = client.create_product("LED Lamp", key="idea-9")
    assert again.title == "LED Lamp"
    assert len(shopify_server.products) == 1
    assert len(clock.sleeps) == 1


def test_a_blank_title_is_a_business_error_and_leaves_the_breaker_closed(
    shopify_server: ShopifyServer, make_guard: MakeGuard
) -> None:
    client = admin(shopify_server, make_guard, failure_threshold=1)
    with pytest.raises(PlatformRejected, match="Title can't be blank"):
        client.create_product("   ", key="blank")
    assert client.http.resilience.breaker.state is BreakerState.CLOSED


def test_update_product_and_variant_price_in_cents(
    shopify_server: ShopifyServer, make_guard: MakeGuard
) -> None:
    client = admin(shopify_server, make_guard)
    product = client.create_product("Desk Fan", key="idea-3")
    updated = client.update_product(product.gid, status="ACTIVE", title="Quiet Desk Fan")
    assert (updated.status, updated.title) == ("ACTIVE", "Quiet Desk Fan")
    client.set_variant_price(product.gid, product.variant_gids[0], 2999)
    assert shopify_server.products[product.gid]["variants"][0]["price"] == "29.99"


def test_update_of_a_missing_product_is_rejected(
    shopify_server: ShopifyServer, make_guard: MakeGuard
) -> None:
    with pytest.raises(PlatformRejected, match="Product does not exist"):
        admin(shopify_server, make_guard).update_product("gid://shopify/Product/1", status="ACTIVE")


def test_orders_pages_through_with_totals_in_cents(
    shopify_server: ShopifyServer, make_guard: MakeGuard
) -> None:
    for number, total in enumerate(["59.99", "120.00", "0.50"], start=1001):
        shopify_server.add_order(f"#{number}", total)
    client = admin(shopify_server, make_guard)
    first = client.orders(first=2)
    assert [o.total_cents for o in first.orders] == [5999, 12000]
    assert first.has_next_page
    rest = client.orders(first=2, after=first.end_cursor)
    assert [o.name for o in rest.orders] == ["#1003"]
    assert rest.orders[0].total_cents == 50
    assert not rest.has_next_page


def test_refund_carries_the_idempotent_directive_and_is_made_once_per_key(
    shopify_server: ShopifyServer, make_guard: MakeGuard
) -> None:
    order = shopify_server.add_order("#1001", "59.99")
    client = admin(shopify_server, make_guard)
    shopify_server.faults.fail_next(1, 503)
    refund = client.create_refund(order, key="refund-order-1001", amount_cents=5999,
                                  parent_transaction_gid="gid://shopify/OrderTransaction/1",
                                  gateway="shopify_payments")
    again = client.create_refund(order, key="refund-order-1001", amount_cents=5999,
                                 parent_transaction_gid="gid://shopify/OrderTransaction/1",
                                 gateway="shopify_payments")
    assert refund == again
    assert refund.amount_cents == 5999
    assert len(shopify_server.refunds) == 1
    sent = shopify_server.requests[-1].json()
    assert "@idempotent(key: $idempotencyKey)" in sent["query"]
    assert sent["variables"]["idempotencyKey"] == "refund-order-1001"
    assert sent["variables"]["input"]["transactions"][0]["amount"] == "59.99"


def test_throttled_answer_waits_for_the_bucket_to_refill_then_succeeds(
    shopify_server: ShopifyServer, make_guard: MakeGuard, clock: ManualClock
) -> None:
    shopify_server.set_bucket(4.0)  # a mutation costs 10, the bucket refills 100 points/s
    page = admin(shopify_server, make_guard).orders(first=8)  # costs 10
    assert page.orders == []
    # Throttled with 4 points: wait for the 6 missing points plus one of margin.
    assert clock.sleeps == [pytest.approx((10 - 4 + 1) / 100)]
    assert len(shopify_server.requests) == 2


def test_client_waits_for_the_bucket_it_saw_before_sending_a_mutation(
    shopify_server: ShopifyServer, make_guard: MakeGuard, clock: ManualClock
) -> None:
    shopify_server.set_bucket(4.0)
    product = admin(shopify_server, make_guard).create_product("Yoga Mat", key="idea-5")
    assert product.title == "Yoga Mat"
    # The lookup (1 point) reports 3 left: the create waits for 7 more (+1) instead of
    # being throttled.
    assert clock.sleeps == [pytest.approx((10 - 3 + 1) / 100)]
    assert len(shopify_server.requests) == 2  # lookup and create, no throttled retry


def test_client_waits_before_a_query_after_a_costly_one_drained_the_bucket(
    shopify_server: ShopifyServer, make_guard: MakeGuard, clock: ManualClock
) -> None:
    client = admin(shopify_server, make_guard)
    shopify_server.add_order("#1001", "10.00")
    shopify_server.set_bucket(60.0)
    client.orders(first=50)  # costs 52: leaves 8, as the answer reports
    with pytest.raises(PlatformRejected):
        client.update_product("gid://shopify/Product/1", status="ACTIVE")
    assert clock.sleeps == [pytest.approx((10 - 8 + 1) / 100)]
    assert len(shopify_server.requests) == 2  # no throttled retry


def test_throttling_that_outlasts_the_attempts_is_unavailable(
    shopify_server: ShopifyServer, make_guard: MakeGuard
) -> None:
    throttled = {"errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}]}
    shopify_server.faults.fail_next(3, 200, body=throttled)
    with pytest.raises(PlatformUnavailable, match="throttled"):
        admin(shopify_server, make_guard).orders()


def test_a_wrong_access_token_is_rejected_without_retries(
    shopify_server: ShopifyServer, make_guard: MakeGuard, clock: ManualClock
) -> None:
    client = ShopifyAdmin(shopify_server.url, "wrong", resilience=make_guard("shopify"))
    with pytest.raises(PlatformRejected) as raised:
        client.orders()
    assert raised.value.status_code == 401
    assert clock.sleeps == []
