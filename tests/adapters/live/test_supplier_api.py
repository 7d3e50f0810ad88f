"""SupplierApi against the supplier contract server: keyed orders, status, cancellation."""

from __future__ import annotations

import pytest
from contract_servers.supplier import SupplierServer

from ds1ray.adapters.live.supplier_api import OrderLine, SupplierApi, SupplierOrderStatus
from ds1ray.live.clock import ManualClock
from ds1ray.live.resilience import BreakerState, PlatformRejected, PlatformUnavailable

from .conftest import MakeGuard

SHIP_TO = {"name": "Ada Lovelace", "address1": "12 St James's Square", "city": "London",
           "zip": "SW1Y 4JH", "country_code": "GB"}


def supplier(server: SupplierServer, make_guard: MakeGuard) -> SupplierApi:
    return SupplierApi(server.url, "sup-key", resilience=make_guard("supplier"))


def test_place_order_is_keyed_and_priced_in_cents(
    supplier_server: SupplierServer, make_guard: MakeGuard
) -> None:
    order = supplier(supplier_server, make_guard).place_order(
        key="po-order-1001", reference="#1001", lines=[OrderLine("SKU-CAT-TREE", 2)],
        ship_to=SHIP_TO,
    )
    assert order.status is SupplierOrderStatus.ACCEPTED
    assert order.total_cents == 4300
    assert supplier_server.requests[-1].headers["idempotency-key"] == "po-order-1001"


def test_a_retry_after_a_lost_answer_gets_the_stored_answer_not_a_second_order(
    supplier_server: SupplierServer, make_guard: MakeGuard, clock: ManualClock
) -> None:
    client = supplier(supplier_server, make_guard)
    first = client.place_order(key="po-2", reference="#1002", lines=[OrderLine("SKU-LAMP", 1)],
                               ship_to=SHIP_TO)
    again = client.place_order(key="po-2", reference="#1002", lines=[OrderLine("SKU-LAMP", 1)],
                               ship_to=SHIP_TO)
    assert again.id == first.id and again.replayed and not first.replayed
    assert len(supplier_server.orders) == 1


def test_reusing_a_key_with_other_parameters_is_rejected(
    supplier_server: SupplierServer, make_guard: MakeGuard
) -> None:
    client = supplier(supplier_server, make_guard)
    client.place_order(key="po-3", reference="#1003", lines=[OrderLine("SKU-LAMP", 1)],
                       ship_to=SHIP_TO)
    with pytest.raises(PlatformRejected) as raised:
        client.place_order(key="po-3", reference="#1003", lines=[OrderLine("SKU-LAMP", 5)],
                           ship_to=SHIP_TO)
    assert raised.value.status_code == 422
    assert "idempotency_error" in raised.value.detail


def test_an_unknown_sku_is_a_business_error(
    supplier_server: SupplierServer, make_guard: MakeGuard
) -> None:
    with pytest.raises(PlatformRejected):
        supplier(supplier_server, make_guard).place_order(
            key="po-4", reference="#1004", lines=[OrderLine("SKU-NOPE", 1)], ship_to=SHIP_TO)


def test_status_follows_shipping_and_cancel_is_the_compensation(
    supplier_server: SupplierServer, make_guard: MakeGuard
) -> None:
    client = supplier(supplier_server, make_guard)
    kept = client.place_order(key="po-5", reference="#1005", lines=[OrderLine("SKU-LAMP", 1)],
                              ship_to=SHIP_TO)
    undone = client.place_order(key="po-6", reference="#1006", lines=[OrderLine("SKU-LAMP", 1)],
                                ship_to=SHIP_TO)
    supplier_server.ship(kept.id, "9400111899223344556677")
    shipped = client.get_order(kept.id)
    assert (shipped.status, shipped.tracking_number) == (
        SupplierOrderStatus.SHIPPED, "9400111899223344556677")
    assert client.cancel_order(undone.id, key="cancel-po-6").status is SupplierOrderStatus.CANCELLED
    with pytest.raises(PlatformRejected) as raised:
        client.cancel_order(kept.id, key="cancel-po-5")
    assert raised.value.status_code == 409


def test_supplier_down_for_longer_than_the_retries_is_unavailable_and_places_nothing(
    supplier_server: SupplierServer, make_guard: MakeGuard
) -> None:
    supplier_server.faults.fail_next(3, 503)
    with pytest.raises(PlatformUnavailable):
        supplier(supplier_server, make_guard).place_order(
            key="po-7", reference="#1007", lines=[OrderLine("SKU-LAMP", 1)], ship_to=SHIP_TO)
    assert supplier_server.orders == {}


def test_an_order_needs_lines(supplier_server: SupplierServer, make_guard: MakeGuard) -> None:
    with pytest.raises(ValueError, match="at least one line"):
        supplier(supplier_server, make_guard).place_order(key="k", reference="r", lines=[],
                                                          ship_to=SHIP_TO)


def test_orders_dead_lettered_during_an_outage_are_placed_exactly_once_on_redrive(
    supplier_server: SupplierServer, make_guard: MakeGuard, clock: ManualClock
) -> None:
    """The outage story at the client level: 503s open the breaker, the caller parks the
    work with its key, and a redrive after recovery places every order once."""
    guard = make_guard("supplier", attempts=2, failure_threshold=3, reset_timeout=30.0)
    client = SupplierApi(supplier_server.url, "sup-key", resilience=guard)
    supplier_server.faults.fail_for(20.0, 503)
    dead_letters: list[str] = []
    for number in range(1, 7):
        key = f"po-order-{number}"
        try:
            client.place_order(key=key, reference=f"#{1000 + number}",
                               lines=[OrderLine("SKU-LAMP", 1)], ship_to=SHIP_TO)
        except PlatformUnavailable:
            dead_letters.append(key)
    assert len(dead_letters) == 6
    assert supplier_server.orders == {}
    # Two attempts for the first order, one for the second (the third failure opens the
    # breaker); the other four orders never reach the supplier.
    assert len(supplier_server.requests) == 3
    clock.advance(31.0)  # the outage is over and the breaker may try again
    for key in dead_letters:
        number = int(key.rsplit("-", 1)[1])
        client.place_order(key=key, reference=f"#{1000 + number}",
                           lines=[OrderLine("SKU-LAMP", 1)], ship_to=SHIP_TO)
    assert sorted(order["reference"] for order in supplier_server.orders.values()) == [
        f"#{1000 + n}" for n in range(1, 7)]
    assert guard.breaker.state is BreakerState.CLOSED
