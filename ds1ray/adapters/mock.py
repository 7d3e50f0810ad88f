"""Mock adapters: the eight ports answered by the simulated market.

A product feature of simulation mode, not a test double: each adapter is a
facade over the cohort's `World`, so the shop, the ad platform and the supplier
network agree with each other the way real platforms do.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ds1ray.adapters.ports import F64, I64, B
from ds1ray.events.batch import EventBatch
from ds1ray.market.world import World
from ds1ray.seeding import counter


def _read_only(array: I64) -> I64:
    view = array.view()
    view.flags.writeable = False
    return view


class _OnWorld:
    def __init__(self, world: World) -> None:
        self.world = world


class MockAi(_OnWorld):
    """Answers from local fixtures and charges their tokens against the budget."""

    def complete(self, task: str, run: I64) -> B:
        return self.world.ai_complete(task, run)


class MockTrends(_OnWorld):
    """Trend search over the catalog, with measurement noise; also the market-news feed."""

    # Below this the product is not visible as trending at all.
    VISIBLE_FROM = 0.15

    def candidates(self, run: I64) -> tuple[I64, I64, F64]:
        world = self.world
        cat = world.catalog
        heat = cat.heat(world.day)[run]
        # Search interest: heat scaled by how big the product is (organic pull), noisy.
        size = cat.organic_peak[run] / (cat.organic_peak[run] + 40.0)
        u = world.streams["trend_search"].uniform(counter(world.day, np.arange(cat.slots)[None, :], bits=(32, 24)),
                                                  rows=run)
        score = np.clip(heat * size * np.exp(0.25 * (u - 0.5) * 2), 0.0, 1.0)
        rows, product = np.nonzero(heat >= self.VISIBLE_FROM)
        return run[rows], product.astype(np.int64), score[rows, product]

    def poll(self) -> list[EventBatch]:
        return list(self.world.shocks.announcements.get(self.world.day, []))


class MockCompetitor(_OnWorld):
    def prices(self, run: I64, product: I64) -> I64:
        price = self.world.catalog.market_price(self.world.day)[run, product]
        return np.asarray(np.rint(price * 100), dtype=np.int64)


class MockSupplier(_OnWorld):
    def quotes(self, run: I64, product: I64) -> tuple[I64, F64, F64]:
        return self.world.quotes(run, product)

    def buy_sample(self, run: I64, product: I64, supplier: I64) -> I64:
        return self.world.buy_sample(run, product, supplier)

    def in_stock(self, run: I64, product: I64) -> B:
        return self.world.in_stock(run, product)

    def place_orders(self, run: I64, product: I64, supplier: I64, order_id: I64, amount_cents: I64
                     ) -> tuple[B, I64, I64]:
        placed = self.world.place_orders(run, product, supplier, order_id, amount_cents)
        return placed.accepted, placed.backorder_days, placed.cost_cents


class MockShop(_OnWorld):
    """The store platform and its payment processor; its ingress is the customers."""

    def publish(self, run: I64, product: I64, price_cents: I64, promised_days: I64, ai_copy: B) -> None:
        self.world.publish(run, product, price_cents, promised_days, ai_copy)

    def set_prices(self, run: I64, product: I64, price_cents: I64) -> None:
        self.world.set_prices(run, product, price_cents)

    def unpublish(self, run: I64, product: I64) -> None:
        self.world.unpublish(run, product)

    def refund(self, run: I64, order_id: I64, product: I64, amount_cents: I64, reason: I64) -> B:
        return self.world.refund(run, order_id, product, amount_cents, reason)

    def balance(self) -> I64:
        return self.world.cash()

    def poll(self) -> list[EventBatch]:
        batches = self.world.customers()
        refunds = self.world.refund_confirmations()
        return batches + ([refunds] if refunds is not None else [])


class MockAds(_OnWorld):
    def set_budgets(self, run: I64, product: I64, daily_budget_cents: I64) -> None:
        self.world.set_budgets(run, product, daily_budget_cents)

    def insights(self) -> tuple[I64, I64, I64]:
        # Read-only views, not copies: the world replaces its totals rather than changing them, so a view
        # keeps the values it was read with. Copying three runs × slots arrays cost every caller (marketing
        # reads its spend several times a day) time in proportion to the cohort, whatever runs it asked about.
        w = self.world
        return _read_only(w.spend_total), _read_only(w.impressions_total), _read_only(w.clicks_total)


class MockEmail(_OnWorld):
    """The support inbox: customers' tickets in, replies out (counted)."""

    def __init__(self, world: World) -> None:
        super().__init__(world)
        self.sent = np.zeros(world.runs, np.int64)

    def send(self, run: I64, ticket_id: I64, template: str) -> None:
        self.sent += np.bincount(run, minlength=self.world.runs)

    def poll(self) -> list[EventBatch]:
        batch = self.world.tickets_today()
        return [batch] if batch is not None else []


class MockShipping(_OnWorld):
    def track(self, run: I64, order_id: I64) -> I64:
        return self.world.track(run, order_id)

    def poll(self) -> list[EventBatch]:
        batch = self.world.shipped_today()
        return [batch] if batch is not None else []


def mock_ports(world: World) -> dict[str, Any]:
    """The eight mock adapters over one world, by port name."""
    return {
        "ai": MockAi(world), "trends": MockTrends(world), "competitor": MockCompetitor(world),
        "supplier": MockSupplier(world), "shop": MockShop(world), "ads": MockAds(world),
        "email": MockEmail(world), "shipping": MockShipping(world),
    }
