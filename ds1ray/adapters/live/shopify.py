"""Shopify Admin GraphQL client: products, orders, refunds, within Shopify's cost budget.

Shopify limits GraphQL by query cost: a bucket of points (`maximumAvailable`)
refilled at `restoreRate` points per second. Every answer reports the bucket in
`extensions.cost.throttleStatus`; a query the bucket cannot pay for is answered
HTTP 200 with `errors: [{message: "Throttled"}]`. This client remembers the
last status, waits before a query the bucket cannot pay for, and treats a
Throttled answer as retryable after the time the bucket needs to refill.

Writes are idempotent: `refundCreate` carries Shopify's `@idempotent(key:)`
directive (API 2026-01); `productCreate` uses a handle derived from the
caller's key and looks the handle up before each attempt, so a repeat returns
the product created the first time.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from ds1ray.adapters.live.platform_http import DEFAULT_TIMEOUT, PlatformHttp, default_resilience, deterministic_key
from ds1ray.live.payloads import minor_units
from ds1ray.live.resilience import (
    OK,
    Assessment,
    PlatformRejected,
    PlatformUnavailable,
    Resilience,
    Verdict,
)

PLATFORM = "shopify"
DEFAULT_API_VERSION = "2026-01"
# A typical mutation costs 10 points; used before the first answer reports real costs.
DEFAULT_QUERY_COST = 10.0


@dataclass(frozen=True)
class ThrottleStatus:
    maximum_available: float
    currently_available: float
    restore_rate: float


class CostBudget:
    """The client's view of Shopify's point bucket, from the last `throttleStatus` seen.

    Waits cover `margin_points` more than the query needs: the client's clock and
    Shopify's do not tick together, and a wait cut to the exact refill can come
    back throttled.
    """

    def __init__(self, margin_points: float = 1.0) -> None:
        self.margin_points = margin_points
        self._status: ThrottleStatus | None = None
        self._seen_at = 0.0
        self._lock = threading.Lock()

    def observe(self, status: ThrottleStatus, at: float) -> None:
        with self._lock:
            self._status, self._seen_at = status, at

    @property
    def last(self) -> ThrottleStatus | None:
        return self._status

    def wait_for(self, cost: float, now: float) -> float:
        """Seconds until the bucket holds `cost` points (0 if unknown or enough)."""
        with self._lock:
            status = self._status
            if status is None or status.restore_rate <= 0:
                return 0.0
            available = min(
                status.maximum_available,
                status.currently_available + (now - self._seen_at) * status.restore_rate,
            )
            needed = min(cost, status.maximum_available) - available
            if needed <= 0:
                return 0.0
            return (needed + self.margin_points) / status.restore_rate


def _throttle_status(body: Any) -> tuple[ThrottleStatus | None, float | None]:
    try:
        cost = body["extensions"]["cost"]
        raw = cost["throttleStatus"]
        status = ThrottleStatus(
            float(raw["maximumAvailable"]), float(raw["currentlyAvailable"]),
            float(raw["restoreRate"]),
        )
        requested = cost.get("requestedQueryCost")
        return status, None if requested is None else float(requested)
    except (KeyError, TypeError, ValueError):
        return None, None


@dataclass(frozen=True)
class ShopifyProduct:
    gid: str
    title: str
    handle: str
    status: str
    variant_gids: tuple[str, ...] = ()


@dataclass(frozen=True)
class ShopifyOrderSummary:
    gid: str
    name: str
    created_at: str
    financial_status: str | None
    total_cents: int
    currency: str


@dataclass(frozen=True)
class OrdersPage:
    orders: list[ShopifyOrderSummary]
    has_next_page: bool
    end_cursor: str | None


@dataclass(frozen=True)
class ShopifyTransaction:
    gid: str
    kind: str  # SALE, CAPTURE, AUTHORIZATION, REFUND, …
    status: str  # SUCCESS, PENDING, FAILURE, …
    gateway: str
    amount_cents: int
    currency: str


@dataclass(frozen=True)
class ShopifyRefund:
    gid: str
    amount_cents: int
    currency: str


PRODUCT_FIELDS = "id title handle status variants(first: 10) { edges { node { id } } }"



def _product_mutation(name: str, input_type: str) -> str:
    return f"""
mutation {name}($product: {input_type}!) {{
  {name}(product: $product) {{
    product {{ {PRODUCT_FIELDS} }}
    userErrors {{ field message }}
  }}
}}"""


PRODUCT_CREATE = _product_mutation("productCreate", "ProductCreateInput")
PRODUCT_UPDATE = _product_mutation("productUpdate", "ProductUpdateInput")

PRODUCT_BY_HANDLE = f"""
query productByHandle($handle: String!) {{
  productByIdentifier(identifier: {{handle: $handle}}) {{ {PRODUCT_FIELDS} }}
}}"""

VARIANT_PRICE = """
mutation productVariantsBulkUpdate($productId: ID!, $variants: [ProductVariantsBulkInput!]!) {
  productVariantsBulkUpdate(productId: $productId, variants: $variants) {
    productVariants { id price }
    userErrors { field message }
  }
}"""

PRODUCT_BY_ID = f"""
query product($id: ID!) {{
  product(id: $id) {{ {PRODUCT_FIELDS} }}
}}"""

ORDER_TRANSACTIONS = """
query orderTransactions($id: ID!) {
  order(id: $id) {
    id
    transactions(first: 20) {
      id kind status gateway amountSet { shopMoney { amount currencyCode } }
    }
  }
}"""

ORDERS = """
query orders($first: Int!, $after: String, $query: String) {
  orders(first: $first, after: $after, query: $query, sortKey: CREATED_AT) {
    edges { node {
      id name createdAt displayFinancialStatus
      totalPriceSet { shopMoney { amount currencyCode } }
    } }
    pageInfo { hasNextPage endCursor }
  }
}"""

REFUND_CREATE = """
mutation refundCreate($input: RefundInput!, $idempotencyKey: String!) {
  refundCreate(input: $input) @idempotent(key: $idempotencyKey) {
    refund { id totalRefundedSet { shopMoney { amount currencyCode } } }
    userErrors { field message }
  }
}"""


def handle_for(title: str, key: str) -> str:
    """A product handle unique to the caller's key: `<slug of title>-<8 hex>`."""
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:60] or "product"
    return f"{slug}-{deterministic_key('handle', key)[-8:]}"


def _cents_of(money: dict[str, Any]) -> tuple[int, str]:
    currency = str(money["currencyCode"])
    return minor_units(str(money["amount"]), currency), currency


def _product(node: dict[str, Any]) -> ShopifyProduct:
    variants = tuple(edge["node"]["id"] for edge in node.get("variants", {}).get("edges", []))
    return ShopifyProduct(node["id"], node["title"], node["handle"], node["status"], variants)


class ShopifyAdmin:
    """The Shopify Admin GraphQL API of one shop.

    Args:
        shop_url: `https://<shop>.myshopify.com` (or a test server's URL).
        access_token: the Admin API access token (`X-Shopify-Access-Token`).
        api_version: the dated API version in the path.
        resilience: the guard; default 3 attempts, breaker 5/60 s, 2 requests/s.
    """

    def __init__(
        self,
        shop_url: str,
        access_token: str,
        *,
        api_version: str = DEFAULT_API_VERSION,
        resilience: Resilience | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.http = PlatformHttp(
            PLATFORM, shop_url.rstrip("/"),
            resilience=resilience or default_resilience(PLATFORM, 2.0, 4.0),
            headers={"X-Shopify-Access-Token": access_token, "Content-Type": "application/json"},
            timeout=timeout, transport=transport,
        )
        self.path = f"/admin/api/{api_version}/graphql.json"
        self.budget = CostBudget()

    # ------------------------------------------------------------------ transport

    def _assess(self, response: httpx.Response) -> Assessment:
        status = self.http.assess_status(response)
        if status.verdict is not Verdict.OK:
            return status
        try:
            body = response.json()
        except ValueError:
            return Assessment(Verdict.FAIL, "answer is not JSON", status_code=response.status_code)
        clock = self.http.resilience.clock
        throttle, requested = _throttle_status(body)
        if throttle is not None:
            self.budget.observe(throttle, clock.monotonic())
        errors = body.get("errors") or []
        if any(_is_throttled(error) for error in errors):
            # Without a throttleStatus to compute the refill from, backoff decides the wait.
            wait = (
                None if throttle is None
                else self.budget.wait_for(requested or DEFAULT_QUERY_COST, clock.monotonic())
            )
            return Assessment(Verdict.RETRY, "throttled", status_code=200, retry_after=wait)
        if errors:
            messages = "; ".join(str(error.get("message", error)) for error in errors)[:300]
            return Assessment(Verdict.REJECT, "graphql errors", status_code=200, detail=messages)
        return OK

    def _send(self, query: str, variables: dict[str, Any]) -> httpx.Response:
        """One unguarded GraphQL request, after waiting for the bucket if it is short."""
        clock = self.http.resilience.clock
        wait = self.budget.wait_for(DEFAULT_QUERY_COST, clock.monotonic())
        if wait > 0:
            clock.sleep(wait)
        return self.http.send(
            "POST", self.path, json_body={"query": query, "variables": variables}
        )

    def _data(self, response: httpx.Response) -> dict[str, Any]:
        data = self.http.json(response).get("data")
        if not isinstance(data, dict):
            raise PlatformUnavailable(PLATFORM, "answer has no data", status_code=200)
        return data

    def graphql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """Run a query or mutation with retries; return its `data`."""
        response = self.http.resilience.call(
            lambda: self._send(query, variables or {}), self._assess
        )
        return self._data(response)

    @staticmethod
    def _payload(data: dict[str, Any], mutation: str) -> dict[str, Any]:
        payload = data.get(mutation)
        if not isinstance(payload, dict):
            raise PlatformUnavailable(PLATFORM, f"answer lacks {mutation}", status_code=200)
        return payload

    @staticmethod
    def _raise_user_errors(payload: dict[str, Any], mutation: str) -> None:
        errors = payload.get("userErrors") or []
        if errors:
            detail = "; ".join(
                f"{'.'.join(error.get('field') or [])}: {error.get('message')}" for error in errors
            )
            raise PlatformRejected(PLATFORM, f"{mutation} user errors", detail=detail)

    # ------------------------------------------------------------------ products

    def create_product(
        self,
        title: str,
        *,
        key: str,
        description_html: str = "",
        vendor: str | None = None,
        product_type: str | None = None,
        tags: list[str] | None = None,
        status: str = "DRAFT",
    ) -> ShopifyProduct:
        """Create a product once per `key`: a repeat returns the product made the first time."""
        handle = handle_for(title, key)
        product: dict[str, Any] = {
            "title": title, "handle": handle, "descriptionHtml": description_html,
            "status": status, "tags": tags or [],
        }
        if vendor:
            product["vendor"] = vendor
        if product_type:
            product["productType"] = product_type

        def attempt() -> httpx.Response | ShopifyProduct:
            # Look before creating: an earlier attempt (or call) whose answer was lost
            # may have made the product already.
            lookup = self._send(PRODUCT_BY_HANDLE, {"handle": handle})
            if self._assess(lookup).verdict is not Verdict.OK:
                return lookup  # judged by `assess` like any failed answer
            node = self._data(lookup).get("productByIdentifier")
            if node is not None:
                return _product(node)
            return self._send(PRODUCT_CREATE, {"product": product})

        def assess(result: httpx.Response | ShopifyProduct) -> Assessment:
            return OK if isinstance(result, ShopifyProduct) else self._assess(result)

        result = self.http.resilience.call(attempt, assess)
        if isinstance(result, ShopifyProduct):
            return result
        payload = self._payload(self._data(result), "productCreate")
        self._raise_user_errors(payload, "productCreate")
        return _product(payload["product"])

    def product_by_handle(self, handle: str) -> ShopifyProduct | None:
        node = self.graphql(PRODUCT_BY_HANDLE, {"handle": handle}).get("productByIdentifier")
        return None if node is None else _product(node)

    def product(self, product_gid: str) -> ShopifyProduct | None:
        node = self.graphql(PRODUCT_BY_ID, {"id": product_gid}).get("product")
        return None if node is None else _product(node)

    def update_product(
        self,
        product_gid: str,
        *,
        title: str | None = None,
        status: str | None = None,
        description_html: str | None = None,
        tags: list[str] | None = None,
    ) -> ShopifyProduct:
        """Change a product's fields (an update is idempotent by nature)."""
        product: dict[str, Any] = {"id": product_gid}
        for name, value in (("title", title), ("status", status),
                            ("descriptionHtml", description_html), ("tags", tags)):
            if value is not None:
                product[name] = value
        payload = self._payload(self.graphql(PRODUCT_UPDATE, {"product": product}), "productUpdate")
        self._raise_user_errors(payload, "productUpdate")
        return _product(payload["product"])

    def set_variant_price(self, product_gid: str, variant_gid: str, price_cents: int) -> None:
        """Set a variant's price (Shopify takes a decimal string in the shop currency)."""
        price = f"{price_cents // 100}.{price_cents % 100:02d}"
        data = self.graphql(
            VARIANT_PRICE,
            {"productId": product_gid, "variants": [{"id": variant_gid, "price": price}]},
        )
        self._raise_user_errors(
            self._payload(data, "productVariantsBulkUpdate"), "productVariantsBulkUpdate"
        )

    # ------------------------------------------------------------------ orders

    def orders(
        self, *, first: int = 50, after: str | None = None, query: str | None = None
    ) -> OrdersPage:
        """One page of orders, newest last; `query` uses Shopify's search syntax."""
        data = self.graphql(ORDERS, {"first": first, "after": after, "query": query})
        connection = data["orders"]
        orders = []
        for edge in connection["edges"]:
            node = edge["node"]
            total, currency = _cents_of(node["totalPriceSet"]["shopMoney"])
            orders.append(ShopifyOrderSummary(
                node["id"], node["name"], node["createdAt"], node.get("displayFinancialStatus"),
                total, currency,
            ))
        info = connection["pageInfo"]
        return OrdersPage(orders, bool(info["hasNextPage"]), info.get("endCursor"))

    def order_transactions(self, order_gid: str) -> list[ShopifyTransaction] | None:
        """An order's payment transactions (a refund names its parent); None if no such order."""
        node = self.graphql(ORDER_TRANSACTIONS, {"id": order_gid}).get("order")
        if node is None:
            return None
        transactions = []
        for raw in node.get("transactions") or []:
            amount, currency = _cents_of(raw["amountSet"]["shopMoney"])
            transactions.append(ShopifyTransaction(
                raw["id"], str(raw["kind"]), str(raw["status"]), str(raw.get("gateway") or ""),
                amount, currency))
        return transactions

    # ------------------------------------------------------------------ refunds

    def create_refund(
        self,
        order_gid: str,
        *,
        key: str,
        amount_cents: int | None = None,
        parent_transaction_gid: str | None = None,
        gateway: str | None = None,
        line_items: Sequence[tuple[str, int]] = (),
        note: str | None = None,
        notify: bool = True,
    ) -> ShopifyRefund:
        """Refund an order once per `key` (Shopify's `@idempotent` directive).

        `line_items` are `(line_item_gid, quantity)` pairs; `amount_cents` with the
        parent transaction and gateway returns money.
        """
        refund_input: dict[str, Any] = {"orderId": order_gid, "notify": notify}
        if note:
            refund_input["note"] = note
        if line_items:
            refund_input["refundLineItems"] = [
                {"lineItemId": gid, "quantity": quantity, "restockType": "NO_RESTOCK"}
                for gid, quantity in line_items
            ]
        if amount_cents is not None:
            refund_input["transactions"] = [{
                "orderId": order_gid, "kind": "REFUND", "parentId": parent_transaction_gid,
                "gateway": gateway, "amount": f"{amount_cents // 100}.{amount_cents % 100:02d}",
            }]
        data = self.graphql(REFUND_CREATE, {"input": refund_input, "idempotencyKey": key})
        payload = self._payload(data, "refundCreate")
        self._raise_user_errors(payload, "refundCreate")
        refund = payload["refund"]
        amount, currency = _cents_of(refund["totalRefundedSet"]["shopMoney"])
        return ShopifyRefund(refund["id"], amount, currency)

    def close(self) -> None:
        self.http.close()


def _is_throttled(error: Any) -> bool:
    if not isinstance(error, dict):
        return False
    code = (error.get("extensions") or {}).get("code")
    return error.get("message") == "Throttled" or code == "THROTTLED"
