"""Store: builds and prices product pages (PAGE_PUBLISHED).

When a product is sourced it writes the page (AI copy when the AI port serves
it; plain copy converts worse) and prices it by rule: `markup` × landed cost,
or `competitor`: competitors' price × (1 + `competitor_delta`), re-read every
`reprice_every_days`. It never prices below landed cost × 1.15 (payment fees
and returns would make every sale a loss), and ends prices in .99. It takes a
page down when its campaign is killed or ops escalates the product.
"""

from __future__ import annotations

import numpy as np

from ds1ray.agents.base import Agent, AgentContext
from ds1ray.agents.strategies import StoreStrategy
from ds1ray.events.batch import EventBatch
from ds1ray.events.contracts import CAMPAIGN_STATUS_CODES, SOURCING_KIND_CODES

SOURCING = SOURCING_KIND_CODES.index("sourcing")
KILLED = CAMPAIGN_STATUS_CODES.index("killed")
FLOOR_OVER_COST = 1.15


class Store(Agent):
    id = "store"
    Strategy = StoreStrategy

    def __init__(self, ctx: AgentContext) -> None:
        super().__init__(ctx)
        n, m = self.runs, self.products
        self.landed_cost = np.zeros((n, m), np.int64)
        self.listed = np.zeros((n, m), bool)
        self.retired = np.zeros((n, m), bool)
        self.last_priced = np.zeros((n, m), np.int64)

    def on_supplier_order_placed(self, batch: EventBatch) -> None:
        sourcing = batch["kind"] == SOURCING
        if not sourcing.any():  # ops' fulfilment orders (a batch of thousands of rows daily): nothing to list
            return
        # The three columns needed, not a copy of the whole batch.
        run, product = batch.run[sourcing], batch["product"][sourcing]
        self.landed_cost[run, product] = batch["unit_cost_cents"][sourcing]
        new = ~self.listed[run, product] & ~self.retired[run, product]
        if (~new).any():
            again = ~new & self.listed[run, product]
            self._reprice(run[again], product[again])
        run, product = run[new], product[new]
        if run.size == 0:
            return
        ai_copy = self.ports.ai.complete("product_copy", run)
        price = self._price(run, product)
        promised = self.strategy.promised_delivery_days[run]
        self.ports.shop.publish(run, product, price, promised, ai_copy)
        self.listed[run, product] = True
        self.last_priced[run, product] = self.day
        self.emit("PAGE_PUBLISHED", run, product=product, price_cents=price)

    def on_daily_tick(self, batch: EventBatch) -> None:
        self.keep_time(batch)
        run, product = np.nonzero(self.listed[batch.run])
        run = batch.run[run]
        due = self.follows("pricing", "competitor")[run] & (
            self.day - self.last_priced[run, product] >= self.strategy.reprice_every_days[run])
        self._reprice(run[due], product[due])

    def on_campaign_optimized(self, batch: EventBatch) -> None:
        killed = batch["status"] == KILLED
        self._retire(batch.run[killed], batch["product"][killed])

    def on_escalation_triggered(self, batch: EventBatch) -> None:
        about_product = batch["product"] >= 0
        self._retire(batch.run[about_product], batch["product"][about_product])

    def on_user_command(self, batch: EventBatch) -> None:
        mine = self.commands_for_me(batch)
        wanted = np.array([c == "unpublish" and a.isdigit() and int(a) < self.products
                           for c, a in zip(mine["command"], mine["argument"], strict=True)], dtype=bool)
        if wanted.any():
            self._retire(mine.run[wanted], np.array([int(a) for a in mine["argument"][wanted]], np.int64))

    def _retire(self, run: np.ndarray, product: np.ndarray) -> None:
        live = self.listed[run, product]
        run, product = run[live], product[live]
        if run.size:
            self.ports.shop.unpublish(run, product)
            self.listed[run, product] = False
            self.retired[run, product] = True

    def _reprice(self, run: np.ndarray, product: np.ndarray) -> None:
        if run.size == 0:
            return
        price = self._price(run, product)
        self.ports.shop.set_prices(run, product, price)
        self.last_priced[run, product] = self.day

    def _price(self, run: np.ndarray, product: np.ndarray) -> np.ndarray:
        s = self.strategy
        cost = self.landed_cost[run, product]
        by_markup = cost * s.markup[run]
        competitor = self.follows("pricing", "competitor")[run]
        by_competitor = np.zeros(run.size)
        if competitor.any():
            by_competitor[competitor] = self.ports.competitor.prices(run[competitor], product[competitor]) \
                * (1.0 + s.competitor_delta[run[competitor]])
        target = np.maximum(np.where(competitor, by_competitor, by_markup), cost * FLOOR_OVER_COST)
        # The smallest price ending in .99 at or above the target: $23.00 → $23.99, $23.99 → $23.99.
        return (np.ceil((target - 99) / 100.0) * 100 + 99).astype(np.int64)
