"""Live port adapters: the array-based port protocols over the real platform clients.

The live business is a cohort of one (row 0), so each call's arrays hold that
row's items: product slots, supplier tiers, order ids. Platforms know none of
these; `PlatformIds` (the store table `live_platform_ids`) maps each (kind,
slot, tier) to the platform's id and the facts a port answers from without a
call (a supplier's landed cost and delivery time for a SKU).

Every platform write carries an idempotency key derived from the event that
caused it: the agent host sets `port.causation(key)` around each call, with
key `<agent>:<event id>:<n>`, and the port appends the row index. A handler
re-run after a crash therefore sends the same keys and the platform answers
with its first answer. A platform that still fails after the client's retries
raises `PlatformUnavailable` out of the port: the agent host dead-letters the
event and raises ESCALATION_TRIGGERED, and the work is redriven later. A
business refusal (`PlatformRejected`) is an answer, not a failure: the order is
reported as not accepted and the agent compensates (refund and apology).

This module holds what every live port shares (platform ids, idempotency keys,
guard settings) and the supplier port; `ds1ray.adapters.live.registry` names
the module that builds each port.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ds1ray.adapters.live.supplier_api import OrderLine, SupplierApi, SupplierOrderStatus
from ds1ray.adapters.ports import F64, I64, B
from ds1ray.live.resilience import CircuitBreaker, PlatformRejected, Resilience, RetryPolicy, TokenBucket
from ds1ray.market.catalog import SUPPLIER_TIERS
from ds1ray.store.store import Store
from ds1ray.store.transaction import Transaction

SHOP_PRODUCT = "shop_product"
SUPPLIER_OFFER = "supplier_offer"
NOT_TIERED = -1  # the tier of kinds that have none (a shop product)
_NO_OFFER_COST = 10**12
_NO_OFFER_DAYS = 10_000.0
_REFUSED = {SupplierOrderStatus.FAILED, SupplierOrderStatus.CANCELLED}


@dataclass(frozen=True)
class Unavailable:
    """What an adapter actor answers when its platform stayed unavailable after retries.

    An answer, not an exception: the clients' exceptions do not survive pickling
    between processes, and the caller needs the platform's name to escalate.
    """

    platform: str
    reason: str


class PortUnavailable(Exception):
    """Raised in the caller's process for an `Unavailable` answer (dead-letter the event)."""

    def __init__(self, platform: str, reason: str) -> None:
        super().__init__(f"{platform}: {reason}")
        self.platform = platform
        self.reason = reason

    def __reduce__(self) -> tuple[type[PortUnavailable], tuple[str, str]]:
        return PortUnavailable, (self.platform, self.reason)


@dataclass(frozen=True)
class PlatformId:
    kind: str
    slot: int
    tier: int
    platform_id: str
    attributes: dict[str, Any]


class PlatformIds:
    """The product-slot ↔ platform-id table of the live business."""

    def __init__(self, store: Store) -> None:
        self.store = store  # live_platform_ids: migration 0005

    def put(self, kind: str, slot: int, platform_id: str, *, tier: int = NOT_TIERED,
            **attributes: Any) -> None:
        self.store.run(lambda tx: put_platform_id(tx, PlatformId(kind, slot, tier, platform_id, attributes)))

    def update(self, kind: str, slot: int, platform_id: str, previous: PlatformId | None,
               **facts: Any) -> PlatformId:
        """Map an untiered (kind, slot) to `platform_id`, keeping `previous`'s facts that `facts` leaves."""
        record = PlatformId(kind, slot, NOT_TIERED, platform_id,
                            {**(previous.attributes if previous else {}), **facts})
        self.store.run(lambda tx: put_platform_id(tx, record))
        return record

    def by_slot(self, kind: str) -> dict[int, PlatformId]:
        """The mappings of an untiered kind, by slot."""
        return {record.slot: record for record in self.of_kind(kind)}

    def of_kind(self, kind: str) -> list[PlatformId]:
        rows = self.store.run(lambda tx: tx.execute(
            "SELECT slot, tier, platform_id, attributes FROM live_platform_ids WHERE kind = %s "
            "ORDER BY slot, tier", [kind]).fetchall())
        return [PlatformId(kind, int(slot), int(tier), str(pid), json.loads(attrs))
                for slot, tier, pid, attrs in rows]



def put_platform_id(tx: Transaction, record: PlatformId) -> None:
    """Insert or replace one mapping, inside the caller's transaction."""
    tx.execute(
        "INSERT INTO live_platform_ids (kind, slot, tier, platform_id, attributes) "
        "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (kind, slot, tier) DO UPDATE SET "
        "platform_id = excluded.platform_id, attributes = excluded.attributes",
        [record.kind, record.slot, record.tier, record.platform_id,
         json.dumps(record.attributes, sort_keys=True)])


def slot_of(tx: Transaction, kind: str, platform_id: str) -> int | None:
    """The slot a platform id maps to (None if unmapped), inside the caller's transaction."""
    slot = tx.scalar("SELECT slot FROM live_platform_ids WHERE kind = %s AND platform_id = %s",
                     [kind, platform_id])
    return None if slot is None else int(slot)


@dataclass(frozen=True)
class GuardSettings:
    """The retry and breaker policy of one live adapter (from the overlay's `policies`)."""

    max_attempts: int = 3
    base_delay_s: float = 1.0
    max_delay_s: float = 20.0
    max_retry_after_s: float = 60.0
    failure_threshold: int = 5
    reset_timeout_s: float = 60.0
    rate_per_second: float = 5.0

    def resilience(self, platform: str) -> Resilience:
        return Resilience(
            platform,
            retry=RetryPolicy(max_attempts=self.max_attempts, base_delay=self.base_delay_s,
                              max_delay=self.max_delay_s, max_retry_after=self.max_retry_after_s),
            breaker=CircuitBreaker(platform, failure_threshold=self.failure_threshold,
                                   reset_timeout=self.reset_timeout_s),
            rate_limiter=TokenBucket(self.rate_per_second),
        )


@dataclass(frozen=True)
class PortContext:
    """Everything a live port's builder gets: where its platform is, its key, the store, its guard.

    `options` holds the platform's own settings from the overlay
    (`adapters.<port>.options`, e.g. an ad account id or a mailbox host).
    """

    base_url: str
    secret: str
    store: Store
    slots: int
    guard: GuardSettings
    timeout_s: float = 30.0
    options: Mapping[str, str] = field(default_factory=dict)


class KeyedPort:
    """Holds the idempotency key of the event being handled while a port call runs."""

    def __init__(self) -> None:
        self._key: str | None = None

    @contextmanager
    def causation(self, key: str | None) -> Iterator[None]:
        self._key, previous = key, self._key
        try:
            yield
        finally:
            self._key = previous

    def write_key(self, row: int) -> str:
        if self._key is None:
            raise RuntimeError("a platform write outside an event handler has no idempotency key")
        return f"{self._key}:{row}"


class LiveSupplier(KeyedPort):
    """`SupplierPort` over a supplier's order API; offers (SKU, cost, days) come from the store.

    The supplier API has no quote or stock endpoint: a tier is quoted from its
    stored offer and counted in stock when it has one; a stock-out shows up as
    a refused order, which the ops agent compensates.
    """

    def __init__(self, client: SupplierApi, ids: PlatformIds, slots: int) -> None:
        super().__init__()
        self.client = client
        self.ids = ids
        self.slots = slots

    def _offers(self) -> dict[tuple[int, int], PlatformId]:
        return {(o.slot, o.tier): o for o in self.ids.of_kind(SUPPLIER_OFFER)}

    def quotes(self, run: I64, product: I64) -> tuple[I64, F64, F64]:
        offers = self._offers()
        tiers = len(SUPPLIER_TIERS)
        # A tier without an offer is quoted as hopeless, so no selection rule picks it.
        cost = np.full((product.size, tiers), _NO_OFFER_COST, np.int64)
        days = np.full((product.size, tiers), _NO_OFFER_DAYS)
        rating = np.zeros((product.size, tiers))
        for row, slot in enumerate(product.tolist()):
            for tier in range(tiers):
                offer = offers.get((slot, tier))
                if offer is None:
                    continue
                cost[row, tier] = int(offer.attributes.get("unit_cost_cents", 0))
                days[row, tier] = float(offer.attributes.get("delivery_days", 14))
                rating[row, tier] = float(offer.attributes.get("reliability", 0.9))
        return cost, days, rating

    def in_stock(self, run: I64, product: I64) -> B:
        offers = self._offers()
        return np.array([[(slot, tier) in offers for tier in range(len(SUPPLIER_TIERS))]
                         for slot in product.tolist()], dtype=bool).reshape(product.size, -1)

    def buy_sample(self, run: I64, product: I64, supplier: I64) -> I64:
        accepted, _, cost = self.place_orders(run, product, supplier,
                                              np.full(product.size, -1, np.int64),
                                              np.zeros(product.size, np.int64))
        return np.where(accepted, cost, 0)

    def place_orders(self, run: I64, product: I64, supplier: I64, order_id: I64, amount_cents: I64
                     ) -> tuple[B, I64, I64]:
        offers = self._offers()
        accepted = np.zeros(product.size, bool)
        cost = np.zeros(product.size, np.int64)
        for row in range(product.size):
            offer = offers.get((int(product[row]), int(supplier[row])))
            if offer is None:
                continue  # no offer for that tier: not accepted, the agent compensates
            reference = f"order:{int(order_id[row])}" if order_id[row] >= 0 else \
                f"sample:{int(product[row])}"
            try:
                placed = self.client.place_order(
                    key=self.write_key(row), reference=reference,
                    lines=[OrderLine(offer.platform_id, 1)], ship_to={"ref": reference})
            except PlatformRejected:
                continue  # a business refusal is an answer: not accepted
            accepted[row] = placed.status not in _REFUSED
            cost[row] = placed.total_cents if accepted[row] else 0
        return accepted, np.zeros(product.size, np.int64), cost

    def status(self) -> dict[str, Any]:
        return self.client.http.resilience.status()


def build_supplier(context: PortContext) -> LiveSupplier:
    """The live supplier port over a supplier/fulfilment order API."""
    client = SupplierApi(context.base_url, context.secret, resilience=context.guard.resilience("supplier"))
    return LiveSupplier(client, PlatformIds(context.store), context.slots)
