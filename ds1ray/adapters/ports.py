"""The eight adapter ports: the only way agents reach the outside world.

Each port is a Protocol over arrays: `run` names cohort rows, so one call serves
every run of a cohort (the live instance is a cohort of one). Mock adapters
(`ds1ray.adapters.mock`) answer from the simulated market; live adapters from
the real platforms. Ports that bring events in (webhooks, inbox, tracking,
market news) also have `poll()`, the ingress the clock drains each tick.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from ds1ray.events.batch import EventBatch

I64 = NDArray[np.int64]
F64 = NDArray[np.float64]
B = NDArray[np.bool_]

PORT_NAMES = ("ai", "trends", "competitor", "supplier", "shop", "ads", "email", "shipping")


@runtime_checkable
class Ingress(Protocol):
    def poll(self) -> list[EventBatch]:
        """Events that arrived since the last poll."""
        ...


class AiPort(Protocol):
    def complete(self, task: str, run: I64) -> B:
        """One AI call of kind `task` per row; True where it was served (within the token budget)."""
        ...


class TrendsPort(Ingress, Protocol):
    def candidates(self, run: I64) -> tuple[I64, I64, F64]:
        """Trending products for each run: (run, product, trend score 0..1), run-major."""
        ...


class CompetitorPort(Protocol):
    def prices(self, run: I64, product: I64) -> I64:
        """What competitors charge for each (run, product), in cents."""
        ...


class SupplierPort(Protocol):
    def quotes(self, run: I64, product: I64) -> tuple[I64, F64, F64]:
        """Per row × supplier tier: landed cost (cents), quoted delivery days, reliability (0..1)."""
        ...

    def buy_sample(self, run: I64, product: I64, supplier: I64) -> I64:
        """Buy one sample unit to source a product; returns what it cost (cents)."""
        ...

    def in_stock(self, run: I64, product: I64) -> B:
        """Per row × supplier tier: can it ship today?"""
        ...

    def place_orders(self, run: I64, product: I64, supplier: I64, order_id: I64, amount_cents: I64
                     ) -> tuple[B, I64, I64]:
        """Fulfil customer orders: (accepted, backorder days, cost in cents) per row."""
        ...


class ShopPort(Ingress, Protocol):
    def publish(self, run: I64, product: I64, price_cents: I64, promised_days: I64, ai_copy: B) -> None: ...

    def set_prices(self, run: I64, product: I64, price_cents: I64) -> None: ...

    def unpublish(self, run: I64, product: I64) -> None: ...

    def refund(self, run: I64, order_id: I64, product: I64, amount_cents: I64, reason: I64) -> B:
        """Refund orders; False where the platform refused (already refunded or disputed)."""
        ...

    def balance(self) -> I64:
        """Cash per run, in cents."""
        ...


class AdsPort(Protocol):
    def set_budgets(self, run: I64, product: I64, daily_budget_cents: I64) -> None:
        """Create or update the product's campaign; 0 pauses it."""
        ...

    def insights(self) -> tuple[I64, I64, I64]:
        """Cumulative (spend cents, impressions, clicks) per run × product slot."""
        ...


class EmailPort(Ingress, Protocol):
    def send(self, run: I64, ticket_id: I64, template: str) -> None: ...


class ShippingPort(Ingress, Protocol):
    def track(self, run: I64, order_id: I64) -> I64:
        """AfterShip tag index per order (see ds1ray.market.world.TRACKING_TAGS)."""
        ...
