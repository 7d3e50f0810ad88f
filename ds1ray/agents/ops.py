"""Ops: fulfils paid orders, watches suppliers, and escalates failing products.

For each ORDER_PAID it places a fulfilment order with the product's current
supplier. If that supplier is out of stock, `on_stockout: reroute` sends the
order to another tier that has stock (the most reliable first), `wait` accepts
the backorder; either way INVENTORY_LOW tells the supplier agent. An order the
supplier cannot fill is compensated at once: ops refunds it and opens a
`supplier_failure` ticket (TICKET_CREATED), which support answers with an
apology and never refunds again. Late
tickets are checked with the carrier: an order still not shipped is a supplier
delay and is reported like a stock-out. A product whose complaints per order
reach `escalation_ticket_rate` (after `escalation_min_orders`) is escalated.
"""

from __future__ import annotations

import numpy as np

from ds1ray.agents.base import Agent, AgentContext, first_per_key
from ds1ray.agents.strategies import OpsStrategy
from ds1ray.events.batch import EventBatch
from ds1ray.events.contracts import (
    OPS_TICKET_IDS,
    REFUND_REASON_CODES,
    SOURCING_KIND_CODES,
    TICKET_REASON_CODES,
)
from ds1ray.market.catalog import SUPPLIER_TIERS
from ds1ray.market.world import TRACKING_TAGS

SOURCING, FULFILMENT = SOURCING_KIND_CODES.index("sourcing"), SOURCING_KIND_CODES.index("fulfilment")
LATE, DEFECT = TICKET_REASON_CODES.index("late"), TICKET_REASON_CODES.index("defect")
SUPPLIER_FAILURE = REFUND_REASON_CODES.index("supplier_failure")
SUPPLIER_FAILURE_TICKET = TICKET_REASON_CODES.index("supplier_failure")
# One ticket per failed order, numbered apart from the customers' (so a handler run again
# opens the same ticket).
COMPENSATION_TICKETS = np.int64(OPS_TICKET_IDS)
NOT_SHIPPED = (TRACKING_TAGS.index("Pending"), TRACKING_TAGS.index("InfoReceived"))
# Rerouting preference: reliable, then fast, then cheap.
REROUTE_ORDER = np.array([SUPPLIER_TIERS.index(t) for t in ("reliable", "fast", "cheap")])


def compensation_ticket_id(order_id: np.ndarray) -> np.ndarray:
    """The id of the ticket ops opens for a failed order (`COMPENSATION_TICKETS` | order id)."""
    return np.asarray(order_id, np.int64) | COMPENSATION_TICKETS


class Ops(Agent):
    id = "ops"
    Strategy = OpsStrategy

    def __init__(self, ctx: AgentContext) -> None:
        super().__init__(ctx)
        n, m = self.runs, self.products
        self.supplier_of = np.full((n, m), -1, np.int64)
        self.orders = np.zeros((n, m), np.int64)
        self.complaints = np.zeros((n, m), np.int64)
        self.in_transit = np.zeros(n, np.int64)
        self.escalated = np.zeros((n, m), bool)

    def on_supplier_order_placed(self, batch: EventBatch) -> None:
        sourced = batch["kind"] == SOURCING
        self.supplier_of[batch.run[sourced], batch["product"][sourced]] = batch["supplier"][sourced]

    def on_order_paid(self, batch: EventBatch) -> None:
        run, product, order_id, amount = batch.run, batch["product"], batch["order_id"], batch["amount_cents"]
        supplier = self.supplier_of[run, product]
        unsourced = supplier < 0
        if unsourced.any():
            self.emit("ESCALATION_TRIGGERED", run[unsourced], source="ops", reason="order for an unsourced product",
                      product=product[unsourced])
            run, product, order_id, amount, supplier = (a[~unsourced] for a in (run, product, order_id, amount,
                                                                                 supplier))
        if run.size == 0:
            return
        stock = self.ports.supplier.in_stock(run, product)
        rows = np.arange(run.size)
        out = ~stock[rows, supplier]
        reroute = out & self.follows("on_stockout", "reroute")[run]
        if reroute.any():
            preferred = stock[:, REROUTE_ORDER]
            has = preferred.any(axis=1)
            alternative = REROUTE_ORDER[np.argmax(preferred, axis=1)]
            supplier = np.where(reroute & has, alternative, supplier)
        if out.any():
            low_run, low_product = run[out], product[out]
            low = first_per_key(low_run * self.products + low_product)
            low_run, low_product = low_run[low], low_product[low]
            self.emit("INVENTORY_LOW", low_run, product=low_product, supplier=self.supplier_of[low_run, low_product],
                      backorder_days=0)

        accepted, backorder, cost = self.ports.supplier.place_orders(run, product, supplier, order_id, amount)
        np.add.at(self.orders, (run, product), 1)
        self.in_transit += np.bincount(run[accepted], minlength=self.runs)
        self.emit("SUPPLIER_ORDER_PLACED", run[accepted], kind=FULFILMENT, product=product[accepted],
                  supplier=supplier[accepted], order_id=order_id[accepted], unit_cost_cents=cost[accepted],
                  promised_days=backorder[accepted])
        failed = ~accepted
        if failed.any():
            # Compensation: the customer paid for something that will not come. Refund, then a
            # ticket, so support tells the customer (whether or not the shop took the refund).
            r, o, p, a = run[failed], order_id[failed], product[failed], amount[failed]
            self.ports.shop.refund(r, o, p, a, np.full(r.size, SUPPLIER_FAILURE, np.int64))
            self.emit("TICKET_CREATED", r, ticket_id=compensation_ticket_id(o), order_id=o, product=p,
                      reason=SUPPLIER_FAILURE_TICKET, days_late=0, amount_cents=a)

    def on_supplier_shipped(self, batch: EventBatch) -> None:
        self.in_transit -= np.bincount(batch.run, minlength=self.runs)

    def on_ticket_created(self, batch: EventBatch) -> None:
        run, product, reason = batch.run, batch["product"], batch["reason"]
        complaint = (reason == LATE) | (reason == DEFECT)
        np.add.at(self.complaints, (run[complaint], product[complaint]), 1)

        late = reason == LATE
        if late.any():
            tags = self.ports.shipping.track(run[late], batch["order_id"][late])
            stuck = (tags == NOT_SHIPPED[0]) | (tags == NOT_SHIPPED[1])  # np.isin is dear on a few rows
            r, p = run[late][stuck], product[late][stuck]
            first = first_per_key(r * self.products + p)
            r, p = r[first], p[first]
            self.emit("INVENTORY_LOW", r, product=p, supplier=self.supplier_of[r, p], backorder_days=0)

        if not complaint.any():
            return
        s = self.strategy
        cells = np.unique(run[complaint] * self.products + product[complaint])
        r, p = cells // self.products, cells % self.products
        rate = self.complaints[r, p] / np.maximum(self.orders[r, p], 1)
        escalate = ~self.escalated[r, p] & (self.orders[r, p] >= s.escalation_min_orders[r]) & (
            rate >= s.escalation_ticket_rate[r])
        r, p = r[escalate], p[escalate]
        self.escalated[r, p] = True
        self.emit("ESCALATION_TRIGGERED", r, source="ops", reason="complaint rate", product=p)
