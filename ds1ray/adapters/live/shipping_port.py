"""The live shipping port over AfterShip: tracking tags per order, shipments as SUPPLIER_SHIPPED.

Where tracking numbers come from: neither the supplier's order API nor our
webhooks report a shipment to DS1; AfterShip does. Shipments reach the AfterShip
account with their `order_id` set to our order id (AfterShip's store connector
imports the shop's fulfilments that way; a fulfilment service can post them
too). `poll()` pages through the account's trackings and records each one of
ours in `live_platform_ids` as kind `shipment` (slot = our order id,
platform id = AfterShip's tracking id, with the tracking number and courier
slug); the first time a recorded tracking has left `Pending`/`InfoReceived` it
becomes one SUPPLIER_SHIPPED, event id `aftership:<tracking id>:shipped`
(marked `shipped` in the same record, so a poll repeated after a restart does
not announce it again). `pending()` writes none of these records: they come
back as the answer's checkpoint (`ds1ray.live.polled.Polled`), which the
coordinator commits with the events, so a crash in between loses no shipment;
`poll()` writes the checkpoint itself.

`track()` reads a recorded order's tracking and answers its tag as an index of
`ds1ray.market.world.TRACKING_TAGS`; an order AfterShip has not reported yet is
`Pending`. AfterShip's tags outside that list fold onto their nearest:
`AttemptFail` and `AvailableForPickup` (the parcel is at the customer's door or
counter) → `OutForDelivery`, `Expired` (no news for 30 days) → `Exception`.
"""

from __future__ import annotations

from typing import Any

import httpx
import numpy as np

from ds1ray.adapters.live.aftership import AfterShip, Tracking, TrackingTag
from ds1ray.adapters.live.ports import NOT_TIERED, KeyedPort, PlatformId, PlatformIds, PortContext
from ds1ray.adapters.ports import I64
from ds1ray.events.batch import EventBatch
from ds1ray.live.polled import Polled
from ds1ray.market.world import TRACKING_TAGS
from ds1ray.store.store import Store
from ds1ray.store.transaction import Transaction

SHIPMENT = "shipment"
AFTERSHIP = "aftership"
NOT_SHIPPED = {TrackingTag.PENDING, TrackingTag.INFO_RECEIVED}
_FOLDED = {TrackingTag.ATTEMPT_FAIL: "OutForDelivery", TrackingTag.AVAILABLE_FOR_PICKUP: "OutForDelivery",
           TrackingTag.EXPIRED: "Exception"}
UNKNOWN = -1  # product, supplier or delivery day DS1 has no record of


def shipped_event_id(tracking_id: str) -> str:
    """The SUPPLIER_SHIPPED event id of an AfterShip tracking: one event per shipment."""
    return f"aftership:{tracking_id}:shipped"


def tag_index(tag: TrackingTag) -> int:
    """The `TRACKING_TAGS` index of an AfterShip tag."""
    return TRACKING_TAGS.index(_FOLDED.get(tag, tag.value))


def _our_order(tracking: Tracking) -> int | None:
    """Our order id of a tracking, or None for one that is not ours (no numeric `order_id`)."""
    value = (tracking.order_id or "").strip()
    return int(value) if value.isdigit() else None


class LiveShipping(KeyedPort):
    """`ShippingPort` over AfterShip (see the module docstring)."""

    def __init__(self, client: AfterShip, ids: PlatformIds, store: Store, page_size: int = 100) -> None:
        super().__init__()
        self.client = client
        self.ids = ids
        self.store = store
        self.page_size = page_size

    def track(self, run: I64, order_id: I64) -> I64:
        shipments = self.ids.by_slot(SHIPMENT)
        tags = np.full(order_id.size, TRACKING_TAGS.index("Pending"), np.int64)
        for row, order in enumerate(np.asarray(order_id).tolist()):
            record = shipments.get(order)
            if record is not None:
                tags[row] = tag_index(self.client.get_tracking(record.platform_id).tag)
        return tags

    def poll(self) -> list[EventBatch]:
        """SUPPLIER_SHIPPED for each newly shipped order, its checkpoint written at once (see `pending`)."""
        polled = self.pending()
        self.store.run(polled.checkpoint)
        return polled.batches

    def pending(self) -> Polled:
        """SUPPLIER_SHIPPED for each of our orders AfterShip newly reports on its way.

        Writes nothing: the trackings' records (and their `shipped` marks) are
        the answer's checkpoint, which the coordinator commits with the events
        (`ds1ray.live.polled.record_polled`), so a crash in between re-reads them.
        """
        shipments = self.ids.by_slot(SHIPMENT)
        shipped: list[tuple[int, Tracking]] = []
        records: list[PlatformId] = []
        cursor: str | None = None
        while True:
            page, cursor = self.client.list_trackings(cursor=cursor, limit=self.page_size)
            for tracking in page:
                order = _our_order(tracking)
                if order is None:
                    continue
                known = shipments.get(order)
                done = known is not None and bool(known.attributes.get("shipped"))
                on_its_way = tracking.tag not in NOT_SHIPPED
                if known is None or (on_its_way and not done):
                    records.append(PlatformId(SHIPMENT, order, NOT_TIERED, tracking.id, {
                        "tracking_number": tracking.tracking_number, "slug": tracking.slug,
                        "shipped": done or on_its_way}))
                if on_its_way and not done:
                    shipped.append((order, tracking))
            if cursor is None:
                break
        if not shipped:
            return Polled(AFTERSHIP, platform_ids=records)
        orders = [order for order, _ in shipped]
        placed = [self._placement(order) for order in orders]
        batch = EventBatch.of(
            "SUPPLIER_SHIPPED", np.zeros(len(orders), np.int64), order_id=np.array(orders, np.int64),
            product=np.array([p for p, _ in placed], np.int64), supplier=np.array([s for _, s in placed], np.int64),
            delivery_day=np.full(len(orders), UNKNOWN, np.int64))
        return Polled(AFTERSHIP, [batch], [shipped_event_id(tracking.id) for _, tracking in shipped],
                      platform_ids=records)

    def _placement(self, order: int) -> tuple[int, int]:
        """(product slot, supplier tier) of the fulfilment ops placed for `order`, from the log."""
        def read(tx: Transaction) -> dict[str, Any] | None:
            # Ops publishes it while handling the order's ORDER_PAID, keyed `order-paid:<id>`.
            value = tx.scalar(
                "SELECT payload FROM event_log WHERE type = 'SUPPLIER_ORDER_PLACED' AND correlation_id = %s "
                "ORDER BY created_at LIMIT 1", [f"order-paid:{order}"])
            return None if value is None else dict(tx.dialect.load_json(value))

        placed = self.store.run(read)
        if placed is None:
            return UNKNOWN, UNKNOWN
        return int(placed.get("product", UNKNOWN)), int(placed.get("supplier", UNKNOWN))

    def status(self) -> dict[str, Any]:
        return self.client.http.resilience.status()


def build_shipping(context: PortContext) -> LiveShipping:
    """The live shipping port (base_url: AfterShip's API root, e.g. `.../tracking/2024-04`)."""
    client = AfterShip(context.secret, base_url=context.base_url,
                       resilience=context.guard.resilience("aftership"),
                       timeout=httpx.Timeout(context.timeout_s, connect=min(context.timeout_s, 3.0)))
    return LiveShipping(client, PlatformIds(context.store), context.store)
