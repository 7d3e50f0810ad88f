"""The live shop port: `ShopPort` over the Shopify Admin GraphQL API.

Product slots map to Shopify products in `live_platform_ids` (kind
`shop_product`): the platform id is the product's numeric id, the one order
webhooks carry in `line_items[].product_id` (the coordinator maps orders to
slots through it), with the product and variant gids, handle and last
price as attributes.

Idempotency: Shopify's `refundCreate` takes an idempotency key (the
`@idempotent` directive), so refunds carry the causing event's key.
`productCreate` has none: the client derives the product's handle from the
key and looks the handle up before creating, and this port looks the slot up
in `live_platform_ids` before that, so a slot published again (by a
redelivered event or a new one) is updated, never duplicated. Price and status
updates are idempotent by nature and carry no key.

Orders arrive by webhook (`orders/paid` → ORDER_PAID in the event log), so
`poll()` returns nothing. Our order id is Shopify's numeric order id; a refund
finds the order's gid in the ORDER_PAID the webhook intake recorded.

Balance: Shopify holds no record of the business's cash (Shopify Payments
balances are only the part not yet paid out), so cash is the opening cash the
overlay gives (`adapters.shop.options.opening_cash_cents`) plus the money
recorded since: paid orders less refunds (the webhooks in the event log), less
supplier costs (SUPPLIER_ORDER_PLACED events), less ad spend as Meta last
reported it to the ads port. Payment fees are not in any record and are left out.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import partial
from typing import Any

import httpx
import numpy as np

from ds1ray.adapters.live.ads_port import ADS_CAMPAIGN
from ds1ray.adapters.live.ports import SHOP_PRODUCT, KeyedPort, PlatformId, PlatformIds, PortContext
from ds1ray.adapters.live.shopify import DEFAULT_API_VERSION, ShopifyAdmin, ShopifyTransaction
from ds1ray.adapters.ports import I64, B
from ds1ray.errors import UserError
from ds1ray.events.batch import EventBatch
from ds1ray.live.resilience import PlatformRejected
from ds1ray.store.store import Store
from ds1ray.store.transaction import Transaction

OPENING_CASH = "opening_cash_cents"
LISTED, HIDDEN = "ACTIVE", "DRAFT"  # a draft product is off the storefront and can come back
_PAID_BY = ("SALE", "CAPTURE")
_ADMIN_PATH = re.compile(r"^(?P<shop>.*?)/admin/api/(?P<version>[^/]+)")


def product_gid(numeric_id: str) -> str:
    return f"gid://shopify/Product/{numeric_id}"


def numeric_id(gid: str) -> str:
    """`gid://shopify/Product/1001` → `1001` (the id webhooks carry)."""
    return gid.rsplit("/", 1)[-1]


def describe(slot: int, promised_days: int) -> str:
    return f"<p>Ships to you in {promised_days} days.</p><!-- ds1 slot {slot} -->"


class LiveShop(KeyedPort):
    """`ShopPort` over one Shopify shop; see the module docstring."""

    def __init__(self, client: ShopifyAdmin, ids: PlatformIds, store: Store, slots: int,
                 opening_cash_cents: int) -> None:
        super().__init__()
        self.client = client
        self.ids = ids
        self.store = store
        self.slots = slots
        self.opening_cash_cents = opening_cash_cents

    # ------------------------------------------------------------------ catalogue

    def _record(self, slot: int, platform_id: str, previous: PlatformId | None, **facts: Any) -> None:
        self.ids.update(SHOP_PRODUCT, slot, platform_id, previous, **facts)

    def _variant_of(self, listing: PlatformId) -> tuple[str, str]:
        """(product gid, variant gid) of a listing; a mapping made by hand may lack the gids."""
        gid = str(listing.attributes.get("product_gid") or product_gid(listing.platform_id))
        variant = listing.attributes.get("variant_gid")
        if variant:
            return gid, str(variant)
        product = self.client.product(gid)
        if product is None or not product.variant_gids:
            raise PlatformRejected("shopify", f"product slot {listing.slot} maps to {gid}, "
                                   "which Shopify does not have (or has no variant)")
        return gid, product.variant_gids[0]

    def publish(self, run: I64, product: I64, price_cents: I64, promised_days: I64, ai_copy: B) -> None:
        listings = self.ids.by_slot(SHOP_PRODUCT)
        for row, slot in enumerate(product.tolist()):
            price, days = int(price_cents[row]), int(promised_days[row])
            listing = listings.get(slot)
            if listing is not None:
                gid, variant = self._variant_of(listing)
                self.client.update_product(gid, status=LISTED, description_html=describe(slot, days))
            else:
                title = f"Product {slot}"
                created = self.client.create_product(
                    title, key=self.write_key(row), description_html=describe(slot, days),
                    tags=[f"ds1-slot-{slot}"], status=LISTED)
                gid, variant = created.gid, created.variant_gids[0]
                # Recorded before the price is set: a failure after this point re-runs as an update.
                self._record(slot, numeric_id(gid), None, product_gid=gid, variant_gid=variant,
                             handle=created.handle, title=title)
                listing = self.ids.by_slot(SHOP_PRODUCT)[slot]
            self.client.set_variant_price(gid, variant, max(price, 1))
            self._record(slot, listing.platform_id, listing, product_gid=gid, variant_gid=variant,
                         status=LISTED, price_cents=max(price, 1), promised_days=days,
                         ai_copy=bool(ai_copy[row]))

    def set_prices(self, run: I64, product: I64, price_cents: I64) -> None:
        listings = self.ids.by_slot(SHOP_PRODUCT)
        for row, slot in enumerate(product.tolist()):
            listing = listings.get(slot)
            if listing is None:
                raise ValueError(f"set_prices: product slot {slot} is not on Shopify; publish it first")
            gid, variant = self._variant_of(listing)
            price = max(int(price_cents[row]), 1)
            self.client.set_variant_price(gid, variant, price)
            self._record(slot, listing.platform_id, listing, product_gid=gid, variant_gid=variant,
                         price_cents=price)

    def unpublish(self, run: I64, product: I64) -> None:
        listings = self.ids.by_slot(SHOP_PRODUCT)
        for slot in product.tolist():
            listing = listings.get(slot)
            if listing is None:
                continue  # never published: nothing is on the storefront
            gid = str(listing.attributes.get("product_gid") or product_gid(listing.platform_id))
            self.client.update_product(gid, status=HIDDEN)
            self._record(slot, listing.platform_id, listing, status=HIDDEN)

    # ------------------------------------------------------------------ money

    def refund(self, run: I64, order_id: I64, product: I64, amount_cents: I64, reason: I64) -> B:
        """Refund orders; False where Shopify refused (already refunded) or the order is not Shopify's."""
        refunded = np.zeros(order_id.size, bool)
        for row, order in enumerate(order_id.tolist()):
            gid = self.store.run(partial(order_gid, order_id=order)) if order >= 0 else None
            if gid is None:
                continue  # no ORDER_PAID of this order came from Shopify: nothing to refund there
            transactions = self.client.order_transactions(gid)
            parent = _paid_by(transactions or [])
            if parent is None:
                continue  # unknown to Shopify, or never paid: nothing to return
            try:
                self.client.create_refund(
                    gid, key=self.write_key(row), amount_cents=int(amount_cents[row]),
                    parent_transaction_gid=parent.gid, gateway=parent.gateway,
                    note=f"ds1 refund, reason {int(reason[row])}")
            except PlatformRejected:
                continue  # Shopify's answer: more than is refundable (already refunded)
            refunded[row] = True
        return refunded

    def balance(self) -> I64:
        """Cash per run (one run), in cents: opening cash plus the recorded money flows."""
        flows = self.store.run(recorded_flows)
        spend = sum(int(c.attributes.get("spend_cents", 0)) for c in self.ids.of_kind(ADS_CAMPAIGN))
        return np.array([self.opening_cash_cents + flows - spend], np.int64)

    def poll(self) -> list[EventBatch]:
        """Nothing: orders and refunds arrive as Shopify webhooks through the HTTP ingress."""
        return []

    def status(self) -> dict[str, Any]:
        return self.client.http.resilience.status()


def _paid_by(transactions: list[ShopifyTransaction]) -> ShopifyTransaction | None:
    return next((t for t in transactions if t.kind in _PAID_BY and t.status == "SUCCESS"), None)


def order_gid(tx: Transaction, order_id: int) -> str | None:
    """The Shopify gid of our order `order_id`, from the ORDER_PAID its webhook recorded."""
    payload = tx.scalar("SELECT payload FROM event_log WHERE type = 'ORDER_PAID' AND correlation_id = %s "
                        "ORDER BY created_at LIMIT 1", [f"shopify:order:{order_id}"])
    if payload is None:
        return None
    gid = tx.dialect.load_json(payload).get("order_gid")
    return None if gid is None else str(gid)


def recorded_flows(tx: Transaction) -> int:
    """Cents in less cents out, by the event log: each order paid once, less refunds and supplier costs."""
    rows = tx.execute("SELECT event_id, type, payload FROM event_log WHERE type IN "
                      "('ORDER_PAID', 'ORDER_REFUNDED', 'SUPPLIER_ORDER_PLACED')").fetchall()
    paid: dict[Any, int] = {}
    out = 0
    for event_id, kind, raw in rows:
        payload = tx.dialect.load_json(raw)
        amount = int(payload.get("unit_cost_cents" if kind == "SUPPLIER_ORDER_PLACED" else "amount_cents", 0))
        if kind == "ORDER_PAID":
            paid[payload.get("order_id", event_id)] = amount  # two deliveries of one order: one sale
        else:
            out += amount
    return sum(paid.values()) - out


def shopify_location(base_url: str) -> tuple[str, str]:
    """(shop URL, API version) from `https://<shop>.myshopify.com[/admin/api/<version>]`."""
    match = _ADMIN_PATH.match(base_url.rstrip("/"))
    if match is None:
        return base_url.rstrip("/"), DEFAULT_API_VERSION
    return match["shop"], match["version"]


def opening_cash(options: Mapping[str, str]) -> int:
    raw = options.get(OPENING_CASH)
    if raw is None:
        raise UserError(f"adapters.shop.options.{OPENING_CASH} is not set: the business's cash in "
                        "cents when it went live (the shop port's balance starts from it)")
    try:
        return int(raw)
    except ValueError:
        raise UserError(f"adapters.shop.options.{OPENING_CASH} must be whole cents, got {raw!r}") from None


def build_shop(context: PortContext) -> LiveShop:
    """The live shop port over the Shopify Admin GraphQL API of `context.base_url`."""
    shop, version = shopify_location(context.base_url)
    client = ShopifyAdmin(shop, context.secret, api_version=version,
                          resilience=context.guard.resilience("shopify"),
                          timeout=httpx.Timeout(context.timeout_s, connect=min(3.0, context.timeout_s)))
    return LiveShop(client, PlatformIds(context.store), context.store, context.slots,
                    opening_cash(context.options))
