"""Supplier: sources each proposed product and re-sources it when stock runs out.

For each idea it asks the supplier port for quotes from every tier and picks by
its `selection` rule: the lowest landed cost, the shortest quoted delivery, or
the best reliability rating. It buys a sample unit (a real cost) and announces
the source (SUPPLIER_ORDER_PLACED, kind sourcing). On INVENTORY_LOW for the
current supplier, `on_stockout: switch` moves the product to the next best
supplier that is not out of stock; `keep` waits it out.
"""

from __future__ import annotations

import numpy as np

from ds1ray.agents.base import Agent, AgentContext, first_per_key
from ds1ray.agents.strategies import SupplierStrategy
from ds1ray.events.batch import EventBatch
from ds1ray.events.contracts import SOURCING_KIND_CODES
from ds1ray.market.catalog import SUPPLIER_TIERS

SOURCING = SOURCING_KIND_CODES.index("sourcing")


class Supplier(Agent):
    id = "supplier"
    Strategy = SupplierStrategy

    def __init__(self, ctx: AgentContext) -> None:
        super().__init__(ctx)
        self.current = np.full((self.runs, self.products), -1, np.int64)

    def on_product_ideas(self, batch: EventBatch) -> None:
        run, product = batch.run, batch["product"]
        self._source(run, product, np.zeros((run.size, len(SUPPLIER_TIERS)), bool))

    def on_inventory_low(self, batch: EventBatch) -> None:
        run, product = batch.run, batch["product"]
        switch = self.follows("on_stockout", "switch")[run] & (self.current[run, product] == batch["supplier"])
        if not switch.any():
            return
        run, product = run[switch], product[switch]
        # One switch per product per batch, even if several orders reported the same stock-out.
        first = first_per_key(run * self.products + product)
        run, product = run[first], product[first]
        excluded = ~self.ports.supplier.in_stock(run, product)
        excluded[np.arange(run.size), self.current[run, product]] = True
        self._source(run, product, excluded)

    def _source(self, run: np.ndarray, product: np.ndarray, excluded: np.ndarray) -> None:
        if run.size == 0:
            return
        cost, days, rating = self.ports.supplier.quotes(run, product)
        cheapest, fastest = self.follows("selection", "cheapest")[run], self.follows("selection", "fastest")[run]
        badness = np.where(cheapest[:, None], cost.astype(float), np.where(fastest[:, None], days, -rating))
        badness = np.where(excluded, np.inf, badness)
        possible = np.isfinite(badness).any(axis=1)
        run, product, badness = run[possible], product[possible], badness[possible]
        chosen = np.argmin(badness, axis=1)
        rows = np.arange(run.size)
        self.current[run, product] = chosen
        self.ports.supplier.buy_sample(run, product, chosen)
        self.emit("SUPPLIER_ORDER_PLACED", run, kind=SOURCING, product=product, supplier=chosen, order_id=-1,
                  unit_cost_cents=cost[possible][rows, chosen],
                  promised_days=np.ceil(days[possible][rows, chosen]).astype(np.int64))
