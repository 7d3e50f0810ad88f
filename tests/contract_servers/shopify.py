"""A Shopify Admin GraphQL API: products, orders and refunds behind a cost-based bucket.

The bucket holds `maximum_available` points and refills at `restore_rate`
points per second on the server's clock; a query it cannot pay for gets
Shopify's throttled answer (HTTP 200, `errors: [{message: "Throttled"}]`),
and every answer reports `extensions.cost.throttleStatus`.
"""

from __future__ import annotations

import itertools
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from ds1ray.live.clock import SYSTEM_CLOCK, Clock

from .base import PlatformServer

MUTATION_COST = 10.0


class ShopifyServer(PlatformServer):
    def __init__(
        self,
        clock: Clock = SYSTEM_CLOCK,
        *,
        access_token: str = "shpat_test",
        maximum_available: float = 2000.0,
        restore_rate: float = 100.0,
    ) -> None:
        self.access_token = access_token
        self.maximum_available = maximum_available
        self.restore_rate = restore_rate
        super().__init__(clock)
        self.reset()

    def reset(self) -> None:
        super().reset()
        self.available = self.maximum_available
        self._refilled_at = self.clock.monotonic()
        self.products: dict[str, dict[str, Any]] = {}
        self.orders: list[dict[str, Any]] = []
        self.refunds: dict[str, dict[str, Any]] = {}
        self.refund_keys: dict[str, dict[str, Any]] = {}
        self._ids = itertools.count(1001)

    def set_bucket(self, available: float) -> None:
        self._refill()
        self.available = available

    def _refill(self) -> None:
        now = self.clock.monotonic()
        self.available = min(
            self.maximum_available, self.available + (now - self._refilled_at) * self.restore_rate
        )
        self._refilled_at = now

    def _throttle_status(self) -> dict[str, float]:
        return {
            "maximumAvailable": self.maximum_available,
            "currentlyAvailable": self.available,
            "restoreRate": self.restore_rate,
        }

    def add_routes(self, app: FastAPI) -> None:
        @app.post("/admin/api/{version}/graphql.json")
        async def graphql(version: str, request: Request) -> JSONResponse:
            if request.headers.get("x-shopify-access-token") != self.access_token:
                return JSONResponse(
                    {"errors": "[API] Invalid API key or access token (unrecognized login or "
                               "wrong password)"}, status_code=401,
                )
            document = await request.json()
            query, variables = document.get("query", ""), document.get("variables") or {}
            cost = self._cost(query, variables)
            self._refill()
            if self.available < cost:
                return JSONResponse({
                    "errors": [{"message": "Throttled", "extensions": {
                        "code": "THROTTLED",
                        "documentation": "https://shopify.dev/api/usage/limits#rate-limits",
                    }}],
                    "extensions": {"cost": {
                        "requestedQueryCost": cost, "actualQueryCost": None,
                        "throttleStatus": self._throttle_status(),
                    }},
                })
            self.available -= cost
            try:
                data = self._execute(query, variables)
            except ValueError as exc:
                return JSONResponse({"errors": [{"message": str(exc)}]})
            return JSONResponse({"data": data, "extensions": {"cost": {
                "requestedQueryCost": cost, "actualQueryCost": cost,
                "throttleStatus": self._throttle_status(),
            }}})

    @staticmethod
    def _cost(query: str, variables: dict[str, Any]) -> float:
        if query.lstrip().startswith("mutation"):
            return MUTATION_COST
        if "orders(" in query:
            return 2.0 + float(variables.get("first", 50))
        return 1.0

    def _execute(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        if "productCreate(" in query:
            return {"productCreate": self._product_create(variables["product"])}
        if "productUpdate(" in query:
            return {"productUpdate": self._product_update(variables["product"])}
        if "productByIdentifier(" in query:
            handle = variables["handle"]
            found = [p for p in self.products.values() if p["handle"] == handle]
            return {"productByIdentifier": self._product_node(found[0]) if found else None}
        if "product(id:" in query:
            found = self.products.get(variables["id"])
            return {"product": self._product_node(found) if found else None}
        if "productVariantsBulkUpdate(" in query:
            return {"productVariantsBulkUpdate": self._variant_prices(variables)}
        if "orders(" in query:
            return {"orders": self._orders(variables)}
        if "order(id:" in query:
            order = self._order(variables["id"])
            return {"order": None if order is None else {
                "id": order["id"], "transactions": order["transactions"]}}
        if "refundCreate(" in query:
            return {"refundCreate": self._refund_create(query, variables)}
        raise ValueError("Field is not defined on QueryRoot")

    # ------------------------------------------------------------- products

    def _product_node(self, product: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": product["id"], "title": product["title"], "handle": product["handle"],
            "status": product["status"],
            "variants": {"edges": [{"node": {"id": v["id"]}} for v in product["variants"]]},
        }

    def _product_create(self, given: dict[str, Any]) -> dict[str, Any]:
        title = given.get("title") or ""
        if not title.strip():
            return {"product": None, "userErrors": [
                {"field": ["title"], "message": "Title can't be blank"}]}
        handle = given.get("handle") or re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
        if any(p["handle"] == handle for p in self.products.values()):
            return {"product": None, "userErrors": [
                {"field": ["product", "handle"],
                 "message": f"Handle '{handle}' already in use. Please provide a new handle."}]}
        number = next(self._ids)
        product = {
            "id": f"gid://shopify/Product/{number}", "title": title, "handle": handle,
            "status": given.get("status", "ACTIVE"), "tags": given.get("tags", []),
            "variants": [{"id": f"gid://shopify/ProductVariant/{number}", "price": "0.00"}],
        }
        self.products[product["id"]] = product
        return {"product": self._product_node(product), "userErrors": []}

    def _product_update(self, given: dict[str, Any]) -> dict[str, Any]:
        product = self.products.get(given.get("id", ""))
        if product is None:
            return {"product": None, "userErrors": [
                {"field": ["id"], "message": "Product does not exist"}]}
        for name in ("title", "status", "tags", "descriptionHtml"):
            if name in given:
                product[name] = given[name]
        return {"product": self._product_node(product), "userErrors": []}

    def _variant_prices(self, variables: dict[str, Any]) -> dict[str, Any]:
        product = self.products.get(variables["productId"])
        if product is None:
            return {"productVariants": None, "userErrors": [
                {"field": ["productId"], "message": "Product does not exist"}]}
        by_id = {v["id"]: v for v in product["variants"]}
        changed = []
        for update in variables["variants"]:
            variant = by_id.get(update["id"])
            if variant is None:
                return {"productVariants": None, "userErrors": [
                    {"field": ["variants", "0", "id"], "message": "Variant does not exist"}]}
            if not re.fullmatch(r"\d+(\.\d{1,2})?", str(update["price"])):
                return {"productVariants": None, "userErrors": [
                    {"field": ["variants", "0", "price"], "message": "Price is invalid"}]}
            variant["price"] = update["price"]
            changed.append({"id": variant["id"], "price": variant["price"]})
        return {"productVariants": changed, "userErrors": []}

    # ------------------------------------------------------------- orders

    def add_order(self, name: str, total: str, currency: str = "USD",
                  financial_status: str = "PAID", *, number: int | None = None) -> str:
        """An order paid in full by one SALE transaction; `number` fixes its numeric id."""
        number = next(self._ids) if number is None else number
        gid = f"gid://shopify/Order/{number}"
        sale = {"id": f"gid://shopify/OrderTransaction/{next(self._ids)}", "kind": "SALE",
                "status": "SUCCESS", "gateway": "shopify_payments",
                "amountSet": {"shopMoney": {"amount": total, "currencyCode": currency}}}
        self.orders.append({
            "id": gid, "name": name, "createdAt": f"2026-01-05T10:{len(self.orders):02d}:00Z",
            "displayFinancialStatus": financial_status,
            "totalPriceSet": {"shopMoney": {"amount": total, "currencyCode": currency}},
            "transactions": [sale],
        })
        return gid

    def _order(self, gid: str) -> dict[str, Any] | None:
        return next((order for order in self.orders if order["id"] == gid), None)

    @staticmethod
    def _refundable(order: dict[str, Any]) -> float:
        """Money received less money refunded: what a refund may still return."""
        paid = sum(float(t["amountSet"]["shopMoney"]["amount"]) for t in order["transactions"]
                   if t["kind"] in ("SALE", "CAPTURE") and t["status"] == "SUCCESS")
        refunded = sum(float(t["amountSet"]["shopMoney"]["amount"]) for t in order["transactions"]
                       if t["kind"] == "REFUND" and t["status"] == "SUCCESS")
        return round(paid - refunded, 2)

    def _orders(self, variables: dict[str, Any]) -> dict[str, Any]:
        first = int(variables.get("first", 50))
        start = int(variables["after"]) if variables.get("after") else 0
        page = [{k: v for k, v in order.items() if k != "transactions"}
                for order in self.orders[start:start + first]]
        end = start + len(page)
        return {
            "edges": [{"cursor": str(start + i + 1), "node": node} for i, node in enumerate(page)],
            "pageInfo": {"hasNextPage": end < len(self.orders),
                         "endCursor": str(end) if page else None},
        }

    # ------------------------------------------------------------- refunds

    def _refund_create(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        match = re.search(r"@idempotent\(key:\s*\$(\w+)\)", query)
        key = variables.get(match.group(1)) if match else None
        if key is not None and key in self.refund_keys:
            return self.refund_keys[key]
        refund_input = variables["input"]
        order = self._order(refund_input.get("orderId", ""))
        if order is None:
            return {"refund": None, "userErrors": [
                {"field": ["orderId"], "message": "Order does not exist"}]}
        amount = round(sum(float(t["amount"]) for t in refund_input.get("transactions", [])), 2)
        refundable = self._refundable(order)
        if amount > refundable:
            return {"refund": None, "userErrors": [
                {"field": ["transactions", "0", "amount"],
                 "message": f"Amount can't be greater than the refundable amount "
                            f"({refundable:.2f})"}]}
        if amount > 0:
            order["transactions"].append({
                "id": f"gid://shopify/OrderTransaction/{next(self._ids)}", "kind": "REFUND",
                "status": "SUCCESS", "gateway": "shopify_payments",
                "amountSet": {"shopMoney": {"amount": f"{amount:.2f}", "currencyCode": "USD"}}})
            order["displayFinancialStatus"] = (
                "REFUNDED" if self._refundable(order) <= 0 else "PARTIALLY_REFUNDED")
        refund_id = f"gid://shopify/Refund/{next(self._ids)}"
        refund = {"id": refund_id, "totalRefundedSet": {
            "shopMoney": {"amount": f"{amount:.2f}", "currencyCode": "USD"}}}
        self.refunds[refund_id] = {"input": refund_input, "key": key}
        result = {"refund": refund, "userErrors": []}
        if key is not None:
            self.refund_keys[key] = result
        return result
