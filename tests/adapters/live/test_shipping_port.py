"""The live shipping port over the AfterShip contract server: tags per order, shipments announced once."""

from __future__ import annotations

import numpy as np
import pytest
from contract_servers.aftership import PREFIX, AfterShipServer

from ds1ray.adapters.live.aftership import AfterShip, TrackingTag
from ds1ray.adapters.live.ports import GuardSettings, PlatformIds, PortContext
from ds1ray.adapters.live.shipping_port import SHIPMENT, LiveShipping, build_shipping, tag_index
from ds1ray.live.clock import ManualClock
from ds1ray.live.resilience import PlatformUnavailable
from ds1ray.market.world import TRACKING_TAGS
from ds1ray.store import Store
from ds1ray.store.events import Event, append_event

from .conftest import MakeGuard
from .live_fixtures import mock_port, store_fixture  # noqa: F401  (the `store` fixture)

RUN = np.zeros(1, np.int64)



@pytest.fixture
def port(store: Store, aftership_server: AfterShipServer, make_guard: MakeGuard) -> LiveShipping:
    client = AfterShip("as-key", base_url=aftership_server.url + PREFIX,
                       resilience=make_guard("aftership", attempts=3))
    return LiveShipping(client, PlatformIds(store), store, page_size=2)


def _ship(server: AfterShipServer, number: str, order: str | None, tag: str = "Pending") -> str:
    """A tracking as AfterShip's store connector would register it, with its current tag."""
    tracking_id = f"trk{len(server.trackings) + 1:06d}"
    server.trackings[tracking_id] = {"id": tracking_id, "tracking_number": number, "slug": "usps",
                                     "order_id": order, "title": None, "tag": tag, "subtag": f"{tag}_001"}
    return tracking_id


def _tag(name: str) -> int:
    return TRACKING_TAGS.index(name)


def test_a_shipment_is_announced_once_when_it_leaves_the_warehouse(
        port: LiveShipping, store: Store, aftership_server: AfterShipServer) -> None:
    store.run(lambda tx: append_event(tx, Event(
        type="SUPPLIER_ORDER_PLACED", source="ops", correlation_id="order-paid:1001",
        payload={"kind": 1, "product": 4, "supplier": 2, "order_id": 1001, "unit_cost_cents": 890,
                 "promised_days": 0})))
    first = _ship(aftership_server, "9400100000000000000001", "1001")
    _ship(aftership_server, "9400100000000000000002", "1002", "InTransit")
    _ship(aftership_server, "1Z999", "not-ours-#77", "InTransit")  # another store's, ignored
    [batch] = port.poll()  # three trackings over two pages
    assert batch.type == "SUPPLIER_SHIPPED" and batch.run.tolist() == [0]
    # 1002 has no placement in the log: its product and supplier are unknown, not guessed.
    assert batch["order_id"].tolist() == [1002] and batch["product"].tolist() == [-1]
    assert len(aftership_server.requests_to(f"{PREFIX}/trackings", "GET")) == 2
    aftership_server.set_tag(first, "InTransit")
    [batch] = port.poll()
    assert batch["order_id"].tolist() == [1001]
    assert batch["product"].tolist() == [4] and batch["supplier"].tolist() == [2]
    assert port.poll() == []  # polled again (a restart): nothing announced twice
    recorded = {m.slot: m.attributes for m in PlatformIds(store).of_kind(SHIPMENT)}
    assert recorded[1001] == {"tracking_number": "9400100000000000000001", "slug": "usps", "shipped": True}


def test_track_answers_each_orders_tag_and_pending_for_an_unknown_order(
        port: LiveShipping, aftership_server: AfterShipServer) -> None:
    delivered = _ship(aftership_server, "A1", "2001", "InTransit")
    _ship(aftership_server, "A2", "2002", "AvailableForPickup")
    port.poll()
    aftership_server.set_tag(delivered, "Delivered")
    tags = port.track(np.zeros(3, np.int64), np.array([2001, 2002, 2999]))
    assert tags.tolist() == [_tag("Delivered"), _tag("OutForDelivery"), _tag("Pending")]


@pytest.mark.parametrize(("tag", "expected"), [
    (TrackingTag.ATTEMPT_FAIL, "OutForDelivery"), (TrackingTag.EXPIRED, "Exception"),
    (TrackingTag.EXCEPTION, "Exception"), (TrackingTag.INFO_RECEIVED, "InfoReceived")])
def test_aftership_tags_fold_onto_the_tags_the_agents_know(tag: TrackingTag, expected: str) -> None:
    assert tag_index(tag) == _tag(expected)


def test_a_throttled_aftership_is_waited_for_and_a_dead_one_raises_for_the_agent_host(
        port: LiveShipping, aftership_server: AfterShipServer, clock: ManualClock) -> None:
    _ship(aftership_server, "B1", "3001", "InTransit")
    aftership_server.faults.fail_next(1, 429, headers={"Retry-After": "3"})
    [batch] = port.poll()
    assert batch["order_id"].tolist() == [3001] and 3.0 in clock.sleeps
    aftership_server.faults.fail_next(3, 503)
    with pytest.raises(PlatformUnavailable):
        port.track(RUN, np.array([3001]))
    assert port.track(RUN, np.array([3001])).tolist() == [_tag("InTransit")]  # recovered
    assert port.status()["platform"] == "aftership"


def test_answers_have_the_mock_ports_shapes_and_dtypes(
        store: Store, aftership_server: AfterShipServer) -> None:
    port = build_shipping(PortContext(base_url=aftership_server.url + PREFIX, secret="as-key", store=store,
                                      slots=24, guard=GuardSettings(rate_per_second=100.0)))
    _ship(aftership_server, "C1", "4001", "InTransit")
    [live_batch] = port.poll()
    orders = np.array([4001, 4002])
    ours, theirs = port.track(np.zeros(2, np.int64), orders), mock_port("shipping").track(np.zeros(2, np.int64),
                                                                                         orders)
    assert ours.dtype == theirs.dtype and ours.shape == theirs.shape == (2,)
    assert set(live_batch.columns) == {"order_id", "product", "supplier", "delivery_day"}
    assert all(column.dtype == np.int64 for column in live_batch.columns.values())
