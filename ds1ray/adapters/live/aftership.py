"""AfterShip tracking client: register shipments and read their status tags.

AfterShip reports a shipment's state as one of nine tags (`Pending`,
`InfoReceived`, `InTransit`, `OutForDelivery`, `AttemptFail`, `Delivered`,
`AvailableForPickup`, `Exception`, `Expired`) with a subtag such as
`Exception_004` (customs delay). Registering a number twice is answered with
meta code 4003 ("Tracking already exists"); this client then returns the
existing tracking, so registration is idempotent.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

import httpx

from ds1ray.adapters.live.platform_http import DEFAULT_TIMEOUT, PlatformHttp, default_resilience
from ds1ray.live.resilience import (
    Assessment,
    PlatformUnavailable,
    Resilience,
    Verdict,
)

PLATFORM = "aftership"
DEFAULT_BASE_URL = "https://api.aftership.com/tracking/2024-04"
ALREADY_EXISTS = 4003


class TrackingTag(enum.StrEnum):
    PENDING = "Pending"
    INFO_RECEIVED = "InfoReceived"
    IN_TRANSIT = "InTransit"
    OUT_FOR_DELIVERY = "OutForDelivery"
    ATTEMPT_FAIL = "AttemptFail"
    DELIVERED = "Delivered"
    AVAILABLE_FOR_PICKUP = "AvailableForPickup"
    EXCEPTION = "Exception"
    EXPIRED = "Expired"


@dataclass(frozen=True)
class Tracking:
    id: str
    tracking_number: str
    slug: str | None
    tag: TrackingTag
    subtag: str | None
    order_id: str | None

    @property
    def is_final(self) -> bool:
        return self.tag in (TrackingTag.DELIVERED, TrackingTag.EXPIRED)


def _tracking(raw: dict[str, Any]) -> Tracking:
    return Tracking(
        id=str(raw["id"]), tracking_number=str(raw["tracking_number"]), slug=raw.get("slug"),
        tag=TrackingTag(raw.get("tag") or "Pending"), subtag=raw.get("subtag"),
        order_id=raw.get("order_id"),
    )


def _meta_code(response: httpx.Response) -> int | None:
    try:
        return int(response.json()["meta"]["code"])
    except (ValueError, KeyError, TypeError):
        return None


class AfterShip:
    """The AfterShip Tracking API (default 10 requests/s, AfterShip's account limit)."""

    def __init__(
        self,
        api_key: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        requests_per_second: float = 10.0,
        resilience: Resilience | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.http = PlatformHttp(
            PLATFORM, base_url.rstrip("/"),
            resilience=resilience or default_resilience(PLATFORM, requests_per_second),
            headers={"as-api-key": api_key}, timeout=timeout, transport=transport,
        )

    def _assess_create(self, response: httpx.Response) -> Assessment:
        if response.status_code in (400, 409) and _meta_code(response) == ALREADY_EXISTS:
            return Assessment(Verdict.OK)  # the first attempt (or an earlier call) made it
        return self.http.assess_status(response)

    def create_tracking(
        self,
        tracking_number: str,
        *,
        slug: str | None = None,
        order_id: str | None = None,
        title: str | None = None,
    ) -> Tracking:
        """Register a shipment (idempotent: an existing one is returned)."""
        body: dict[str, Any] = {"tracking_number": tracking_number}
        for name, value in (("slug", slug), ("order_id", order_id), ("title", title)):
            if value is not None:
                body[name] = value
        response = self.http.request("POST", "/trackings", json_body=body,
                                     assess=self._assess_create)
        if _meta_code(response) == ALREADY_EXISTS:
            existing = self.find_tracking(tracking_number, slug=slug)
            if existing is None:
                raise PlatformUnavailable(PLATFORM, "tracking exists but cannot be found")
            return existing
        return _tracking(self._data(response))

    def get_tracking(self, tracking_id: str) -> Tracking:
        return _tracking(self._data(self.http.request("GET", f"/trackings/{tracking_id}")))

    def find_tracking(self, tracking_number: str, *, slug: str | None = None) -> Tracking | None:
        params = {"tracking_numbers": tracking_number}
        if slug:
            params["slug"] = slug
        data = self._data(self.http.request("GET", "/trackings", params=params))
        found = [_tracking(raw) for raw in data.get("trackings", [])]
        return found[0] if found else None

    def list_trackings(self, *, cursor: str | None = None, limit: int = 100
                       ) -> tuple[list[Tracking], str | None]:
        """One page of the account's trackings (AfterShip lists those created in the last 30
        days unless told otherwise) and the cursor of the next page (None on the last)."""
        params: dict[str, str] = {"limit": str(limit)}
        if cursor:
            params["cursor"] = cursor
        data = self._data(self.http.request("GET", "/trackings", params=params))
        pagination = data.get("pagination") or {}
        following = pagination.get("next_cursor") if pagination.get("has_next_page") else None
        return [_tracking(raw) for raw in data.get("trackings", [])], following

    def _data(self, response: httpx.Response) -> dict[str, Any]:
        body = self.http.json(response)
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, dict):
            raise PlatformUnavailable(PLATFORM, "answer has no data")
        return data

    def close(self) -> None:
        self.http.close()

