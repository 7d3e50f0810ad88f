"""A supplier/fulfilment API with Stripe-style idempotency keys.

The first answer for an `Idempotency-Key` (status and body, errors included)
is stored and replayed with `Idempotent-Replayed: true`; the same key with a
different body is refused with 422 `idempotency_error`.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from ds1ray.live.clock import SYSTEM_CLOCK, Clock

from .base import PlatformServer


class SupplierServer(PlatformServer):
    def __init__(self, clock: Clock = SYSTEM_CLOCK, *, api_key: str = "sup-key",
                 prices: dict[str, int] | None = None) -> None:
        self.api_key = api_key
        self.prices = prices or {"SKU-CAT-TREE": 2150, "SKU-LAMP": 890}
        super().__init__(clock)
        self.reset()

    def reset(self) -> None:
        super().reset()
        self.orders: dict[str, dict[str, Any]] = {}
        self.keys: dict[str, tuple[str, int, dict[str, Any]]] = {}
        self._ids = itertools.count(1)

    def add_routes(self, app: FastAPI) -> None:
        async def keyed(request: Request, produce: Any) -> JSONResponse:
            if request.headers.get("authorization") != f"Bearer {self.api_key}":
                return JSONResponse({"error": {"type": "authentication_error"}}, 401)
            raw = await request.body()
            key = request.headers.get("idempotency-key")
            fingerprint = hashlib.sha256(request.url.path.encode() + raw).hexdigest()
            if key is not None and key in self.keys:
                stored_print, status, body = self.keys[key]
                if stored_print != fingerprint:
                    return JSONResponse({"error": {
                        "type": "idempotency_error",
                        "message": "Keys for idempotent requests can only be used with the same "
                                   "parameters they were first used with."}}, 422)
                return JSONResponse(body, status, headers={"Idempotent-Replayed": "true"})
            status, body = produce(json.loads(raw) if raw else {})
            if key is not None:
                self.keys[key] = (fingerprint, status, body)
            return JSONResponse(body, status)

        @app.post("/orders")
        async def place(request: Request) -> JSONResponse:
            return await keyed(request, self._place)

        @app.post("/orders/{order_id}/cancel")
        async def cancel(order_id: str, request: Request) -> JSONResponse:
            return await keyed(request, lambda _body: self._cancel(order_id))

        @app.get("/orders/{order_id}")
        async def show(order_id: str, request: Request) -> JSONResponse:
            if request.headers.get("authorization") != f"Bearer {self.api_key}":
                return JSONResponse({"error": {"type": "authentication_error"}}, 401)
            order = self.orders.get(order_id)
            if order is None:
                return JSONResponse({"error": {"type": "invalid_request_error",
                                               "message": "No such order"}}, 404)
            return JSONResponse(order)

    def _place(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        items = body.get("items") or []
        unknown = [item.get("sku") for item in items if item.get("sku") not in self.prices]
        if not items or unknown or not body.get("ship_to"):
            return 400, {"error": {"type": "invalid_request_error",
                                   "message": f"unknown or missing items: {unknown}"}}
        order_id = f"po_{next(self._ids):05d}"
        order = {
            "id": order_id, "reference": body.get("reference", ""), "status": "accepted",
            "items": items, "currency": "USD",
            "total_cents": sum(self.prices[i["sku"]] * int(i["quantity"]) for i in items),
            "tracking_number": None, "carrier": None,
        }
        self.orders[order_id] = order
        return 201, order

    def _cancel(self, order_id: str) -> tuple[int, dict[str, Any]]:
        order = self.orders.get(order_id)
        if order is None:
            return 404, {"error": {"type": "invalid_request_error", "message": "No such order"}}
        if order["status"] in ("shipped", "delivered"):
            return 409, {"error": {"type": "invalid_request_error",
                                   "message": "Order already shipped"}}
        order["status"] = "cancelled"
        return 200, order

    def ship(self, order_id: str, tracking_number: str, carrier: str = "usps") -> None:
        self.orders[order_id].update(status="shipped", tracking_number=tracking_number,
                                     carrier=carrier)
