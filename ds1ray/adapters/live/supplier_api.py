"""A supplier/fulfilment HTTP API: place an order, read its status, cancel it.

The contract (what DS1 expects of a supplier integration, modelled on Stripe's
idempotency rules): `POST /orders` with an `Idempotency-Key` header; the first
answer for a key is stored and replayed for retries with the same key; the same
key with different parameters is refused (422, `idempotency_error`).
`GET /orders/{id}` reads the status; `POST /orders/{id}/cancel` (also keyed)
undoes an order, the compensating action when payment fails afterwards.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from ds1ray.adapters.live.platform_http import DEFAULT_TIMEOUT, PlatformHttp, default_resilience
from ds1ray.live.resilience import PlatformUnavailable, Resilience

PLATFORM = "supplier"


class SupplierOrderStatus(enum.StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"
    FAILED = "failed"


@dataclass(frozen=True)
class OrderLine:
    sku: str
    quantity: int


@dataclass(frozen=True)
class SupplierOrder:
    id: str
    reference: str
    status: SupplierOrderStatus
    total_cents: int
    currency: str
    tracking_number: str | None
    carrier: str | None
    replayed: bool = False


def _order(raw: dict[str, Any], *, replayed: bool = False) -> SupplierOrder:
    return SupplierOrder(
        id=str(raw["id"]), reference=str(raw.get("reference", "")),
        status=SupplierOrderStatus(raw["status"]), total_cents=int(raw.get("total_cents", 0)),
        currency=str(raw.get("currency", "USD")), tracking_number=raw.get("tracking_number"),
        carrier=raw.get("carrier"), replayed=replayed,
    )


class SupplierApi:
    """A supplier's order API.

    Args:
        base_url: the supplier's API root.
        api_key: sent as a bearer token.
        requests_per_second: the supplier's published limit (default 5).
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        requests_per_second: float = 5.0,
        resilience: Resilience | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.http = PlatformHttp(
            PLATFORM, base_url.rstrip("/"),
            resilience=resilience or default_resilience(PLATFORM, requests_per_second),
            headers={"Authorization": f"Bearer {api_key}"}, timeout=timeout, transport=transport,
        )

    def place_order(
        self,
        *,
        key: str,
        reference: str,
        lines: Sequence[OrderLine],
        ship_to: Mapping[str, Any],
    ) -> SupplierOrder:
        """Place an order once per `key` (retries and redeliveries reuse the key)."""
        if not lines:
            raise ValueError("a supplier order needs at least one line")
        body = {
            "reference": reference,
            "items": [{"sku": line.sku, "quantity": line.quantity} for line in lines],
            "ship_to": dict(ship_to),
        }
        response = self.http.request(
            "POST", "/orders", json_body=body, headers={"Idempotency-Key": key}
        )
        return self._parse(response)

    def get_order(self, order_id: str) -> SupplierOrder:
        return self._parse(self.http.request("GET", f"/orders/{order_id}"))

    def cancel_order(self, order_id: str, *, key: str) -> SupplierOrder:
        """Cancel an order (the compensation for a sale that fell through)."""
        response = self.http.request(
            "POST", f"/orders/{order_id}/cancel", headers={"Idempotency-Key": key}
        )
        return self._parse(response)

    def _parse(self, response: httpx.Response) -> SupplierOrder:
        replayed = response.headers.get("Idempotent-Replayed", "").lower() == "true"
        try:
            return _order(self.http.json(response), replayed=replayed)
        except (KeyError, TypeError, ValueError):
            raise PlatformUnavailable(PLATFORM, "answer is not an order") from None

    def close(self) -> None:
        self.http.close()
