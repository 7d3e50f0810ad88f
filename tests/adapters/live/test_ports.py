"""The live supplier port over the supplier contract server: slots mapped in the store, keyed writes."""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from contract_servers.supplier import SupplierServer

from ds1ray.adapters.live.ports import (
    SHOP_PRODUCT,
    SUPPLIER_OFFER,
    LiveSupplier,
    PlatformIds,
    PortUnavailable,
    slot_of,
)
from ds1ray.adapters.live.supplier_api import SupplierApi
from ds1ray.live.resilience import PlatformUnavailable
from ds1ray.store import Store, migrate_store, open_store

from .conftest import MakeGuard

RUN = np.zeros(1, np.int64)  # the live business is row 0 of a cohort of one


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    url = f"sqlite:///{tmp_path / 'store.sqlite3'}"
    migrate_store(url)
    with open_store(url) as opened:
        yield opened


@pytest.fixture
def port(store: Store, supplier_server: SupplierServer, make_guard: MakeGuard) -> LiveSupplier:
    ids = PlatformIds(store)
    ids.put(SUPPLIER_OFFER, 4, "SKU-CAT-TREE", tier=0, unit_cost_cents=2150, delivery_days=21,
            reliability=0.9)
    ids.put(SUPPLIER_OFFER, 4, "SKU-LAMP", tier=2, unit_cost_cents=890, delivery_days=8,
            reliability=0.99)
    client = SupplierApi(supplier_server.url, "sup-key", resilience=make_guard("supplier", attempts=2))
    return LiveSupplier(client, ids, slots=24)


def test_quotes_come_from_the_stored_offers_and_a_tier_without_one_is_hopeless(port: LiveSupplier) -> None:
    cost, days, rating = port.quotes(RUN, np.array([4]))
    assert cost[0, 0] == 2150 and cost[0, 2] == 890
    assert cost[0, 1] > 10**9 and days[0, 1] > 1000 and rating[0, 1] == 0
    assert days[0, 2] == 8 and rating[0, 2] == pytest.approx(0.99)
    assert port.in_stock(RUN, np.array([4, 7])).tolist() == [[True, False, True], [False, False, False]]


def test_an_order_is_placed_under_the_key_of_the_event_that_caused_it(
        port: LiveSupplier, supplier_server: SupplierServer) -> None:
    with port.causation("ops:order-paid:1001:1"):
        accepted, backorder, cost = port.place_orders(RUN, np.array([4]), np.array([2]),
                                                      np.array([1001]), np.array([5999]))
    assert accepted.tolist() == [True] and cost.tolist() == [890] and backorder.tolist() == [0]
    request = supplier_server.requests_to("/orders", "POST")[-1]
    assert request.headers["idempotency-key"] == "ops:order-paid:1001:1:0"
    assert request.json()["reference"] == "order:1001"


def test_a_handler_run_again_after_a_crash_places_no_second_order(
        port: LiveSupplier, supplier_server: SupplierServer) -> None:
    for _ in range(2):  # the same causation: a redelivered event, a restarted actor
        with port.causation("ops:order-paid:1002:1"):
            accepted, _, _ = port.place_orders(RUN, np.array([4]), np.array([0]), np.array([1002]),
                                               np.array([5999]))
        assert accepted.tolist() == [True]
    assert len(supplier_server.orders) == 1


def test_a_write_outside_an_event_handler_is_refused(port: LiveSupplier) -> None:
    with pytest.raises(RuntimeError, match="no idempotency key"):
        port.place_orders(RUN, np.array([4]), np.array([0]), np.array([1003]), np.array([5999]))


def test_a_business_refusal_is_an_order_not_accepted(
        port: LiveSupplier, store: Store, supplier_server: SupplierServer) -> None:
    PlatformIds(store).put(SUPPLIER_OFFER, 9, "SKU-DISCONTINUED", tier=1, unit_cost_cents=500)
    with port.causation("ops:order-paid:1004:1"):
        accepted, _, cost = port.place_orders(RUN, np.array([9, 4]), np.array([1, 1]),
                                              np.array([1004, 1005]), np.array([999, 999]))
    # Slot 9's SKU is unknown to the supplier (400), slot 4 has no tier-1 offer: neither placed.
    assert accepted.tolist() == [False, False] and cost.tolist() == [0, 0]
    assert supplier_server.orders == {}


def test_a_platform_still_down_after_retries_raises_for_the_agent_host(
        port: LiveSupplier, supplier_server: SupplierServer) -> None:
    supplier_server.faults.fail_next(5, 503)
    with port.causation("ops:order-paid:1006:1"), pytest.raises(PlatformUnavailable):
        port.place_orders(RUN, np.array([4]), np.array([0]), np.array([1006]), np.array([5999]))
    assert supplier_server.orders == {}


def test_platform_ids_map_both_ways(store: Store) -> None:
    ids = PlatformIds(store)
    ids.put(SHOP_PRODUCT, 3, "632910392", title="Cat Tree")
    ids.put(SHOP_PRODUCT, 3, "632910393")  # re-mapped: the newer id wins
    assert [(m.slot, m.platform_id) for m in ids.of_kind(SHOP_PRODUCT)] == [(3, "632910393")]
    assert store.run(lambda tx: slot_of(tx, SHOP_PRODUCT, "632910393")) == 3
    assert store.run(lambda tx: slot_of(tx, SHOP_PRODUCT, "632910392")) is None


def test_an_unavailable_port_survives_the_trip_between_processes() -> None:
    error = pickle.loads(pickle.dumps(PortUnavailable("supplier", "http 503")))
    assert (error.platform, error.reason, str(error)) == ("supplier", "http 503", "supplier: http 503")


def test_an_update_keeps_the_previous_facts_it_does_not_replace(store: Store) -> None:
    ids = PlatformIds(store)
    first = ids.update("shop_product", 3, "111", None, handle="cat-tree", status="ACTIVE")
    ids.update("shop_product", 3, "111", first, status="DRAFT")
    (record,) = ids.by_slot("shop_product").values()
    assert (record.slot, record.platform_id) == (3, "111")
    assert record.attributes == {"handle": "cat-tree", "status": "DRAFT"}
    assert ids.by_slot("ads_campaign") == {}
