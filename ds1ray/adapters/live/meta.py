"""Meta Marketing API client: campaigns (budgets in cents) and their insights.

Meta answers errors as `{"error": {"message", "type", "code", "error_subcode"}}`.
Codes 17 (user request limit), 613 (calls within one hour), 4 and 32
(application and page limits), 80000–80014 (business use case limits), 1 and 2
(unknown or temporary) are transient: retried, after the wait Meta announces in
`X-Business-Use-Case-Usage` (`estimated_time_to_regain_access`, minutes) when it
gives one. Every other error (bad parameter, expired token) is a business
error.

The Graph API has no idempotency key, so `create_campaign`, `create_adset` and
`create_ad` tag the object's name with a key derived from the caller's key and,
before each retry, look the object up by that name: a create whose answer was
lost is not made twice.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx

from ds1ray.adapters.live.platform_http import DEFAULT_TIMEOUT, PlatformHttp, default_resilience, deterministic_key
from ds1ray.live.payloads import minor_units
from ds1ray.live.resilience import (
    Assessment,
    PlatformUnavailable,
    Resilience,
    Verdict,
)

PLATFORM = "meta"
DEFAULT_API_VERSION = "v23.0"
THROTTLE_CODES = frozenset({4, 17, 32, 613, *range(80000, 80015)})
TRANSIENT_CODES = frozenset({1, 2})
INSIGHT_FIELDS = (
    "campaign_id", "spend", "impressions", "clicks", "ctr", "cpc", "cpm",
    "actions", "action_values", "purchase_roas",
)


@dataclass(frozen=True)
class CampaignInsights:
    """One insights row; money in the ad account's minor units, counts as ints."""

    object_id: str
    date_start: str
    date_stop: str
    spend_cents: int
    impressions: int
    clicks: int
    ctr: float
    cpc: Decimal | None
    cpm: Decimal | None
    actions: dict[str, int] = field(default_factory=dict)
    action_values_cents: dict[str, int] = field(default_factory=dict)
    purchase_roas: float | None = None

    @property
    def purchases(self) -> int:
        return self.actions.get("purchase", self.actions.get("omni_purchase", 0))


def regain_access_seconds(response: httpx.Response) -> float | None:
    """The longest `estimated_time_to_regain_access` (minutes) in the usage headers, in s."""
    raw = response.headers.get("X-Business-Use-Case-Usage")
    if not raw:
        return None
    try:
        usage = json.loads(raw)
        minutes = [
            float(entry.get("estimated_time_to_regain_access", 0))
            for entries in usage.values() for entry in entries
        ]
    except (ValueError, AttributeError, TypeError):
        return None
    longest = max(minutes, default=0.0)
    return longest * 60.0 if longest > 0 else None


def assess_meta(response: httpx.Response, fallback: Assessment) -> Assessment:
    """Classify a Meta answer by its error code; `fallback` is the status-code verdict."""
    if response.status_code < 400:
        return fallback
    try:
        error = response.json()["error"]
        code = int(error["code"])
    except (ValueError, KeyError, TypeError):
        return fallback  # not Meta's error shape (a proxy's 502 page): the status decides
    subcode = error.get("error_subcode")
    reason = f"meta error {code}" + (f"/{subcode}" if subcode else "")
    detail = str(error.get("message", ""))[:300]
    if code in THROTTLE_CODES:
        return Assessment(
            Verdict.RETRY, reason, status_code=response.status_code,
            retry_after=regain_access_seconds(response), detail=detail,
        )
    if code in TRANSIENT_CODES or response.status_code >= 500:
        return Assessment(Verdict.RETRY, reason, status_code=response.status_code, detail=detail)
    return Assessment(Verdict.REJECT, reason, status_code=response.status_code, detail=detail)


def _count(value: Any) -> int:
    return int(Decimal(str(value))) if value not in (None, "") else 0


def _decimal(value: Any) -> Decimal | None:
    return Decimal(str(value)) if value not in (None, "") else None


def parse_insights(row: dict[str, Any], currency: str) -> CampaignInsights:
    """An insights row: numbers arrive as strings; lists as `{action_type, value}` items."""
    actions = {item["action_type"]: _count(item["value"]) for item in row.get("actions", [])}
    values = {
        item["action_type"]: minor_units(Decimal(str(item["value"])).quantize(Decimal("0.01")),
                                         currency)
        for item in row.get("action_values", [])
    }
    roas_items = row.get("purchase_roas", [])
    roas = float(roas_items[0]["value"]) if roas_items else None
    spend = Decimal(str(row.get("spend", "0"))).quantize(Decimal("0.01"))
    return CampaignInsights(
        object_id=str(row.get("campaign_id") or row.get("adset_id") or row.get("ad_id") or ""),
        date_start=str(row.get("date_start", "")),
        date_stop=str(row.get("date_stop", "")),
        spend_cents=minor_units(spend, currency),
        impressions=_count(row.get("impressions")),
        clicks=_count(row.get("clicks")),
        ctr=float(row.get("ctr") or 0.0),
        cpc=_decimal(row.get("cpc")),
        cpm=_decimal(row.get("cpm")),
        actions=actions,
        action_values_cents=values,
        purchase_roas=roas,
    )


class MetaAds:
    """One Meta ad account through the Marketing API.

    Args:
        access_token: a system-user token with `ads_management`.
        ad_account_id: digits only or `act_<digits>`.
        currency: the ad account's currency (budgets and spend are in its minor units).
        base_url: `https://graph.facebook.com` (or a test server).
        resilience: default 3 attempts, breaker 5/60 s, 5 calls/s.
    """

    def __init__(
        self,
        access_token: str,
        ad_account_id: str,
        *,
        currency: str = "USD",
        base_url: str = "https://graph.facebook.com",
        api_version: str = DEFAULT_API_VERSION,
        resilience: Resilience | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.account = ad_account_id if ad_account_id.startswith("act_") else f"act_{ad_account_id}"
        self.currency = currency
        self.version = api_version
        self.http = PlatformHttp(
            PLATFORM, base_url.rstrip("/"),
            resilience=resilience or default_resilience(PLATFORM, 5.0, 10.0),
            headers={"Authorization": f"Bearer {access_token}"},
            timeout=timeout, transport=transport,
        )

    def _assess(self, response: httpx.Response) -> Assessment:
        return assess_meta(response, self.http.assess_status(response))

    def _path(self, node: str) -> str:
        return f"/{self.version}/{node}"

    def _post(self, node: str, form: dict[str, str]) -> dict[str, Any]:
        response = self.http.request("POST", self._path(node), form=form, assess=self._assess)
        body = self.http.json(response)
        if not isinstance(body, dict):
            raise PlatformUnavailable(PLATFORM, "answer is not an object")
        return body

    # ------------------------------------------------------------------ campaigns

    @staticmethod
    def tagged_name(name: str, key: str) -> str:
        """The object name carrying the idempotency tag the lookup searches for."""
        return f"{name} [ds1:{deterministic_key('campaign', key)[-12:]}]"

    def _lookup(self, edge: str, exact_name: str) -> httpx.Response:
        filtering = json.dumps([{"field": "name", "operator": "EQUAL", "value": exact_name}])
        return self.http.send(
            "GET", self._path(f"{self.account}/{edge}"),
            params={"fields": "id,name", "filtering": filtering},
        )

    @staticmethod
    def _named(response: httpx.Response, exact_name: str) -> str | None:
        for node in response.json().get("data", []):
            if node.get("name") == exact_name:
                return str(node["id"])
        return None

    def find_campaign(self, exact_name: str) -> str | None:
        """The id of the campaign with exactly this name, if one exists."""
        response = self.http.resilience.call(
            lambda: self._lookup("campaigns", exact_name), self._assess
        )
        return self._named(response, exact_name)

    def _create_once(self, edge: str, tagged: str, form: dict[str, str]) -> str:
        """POST `form` to the ad account's `edge`; a retry first looks for `tagged` by name."""
        attempts = 0

        def attempt() -> httpx.Response | str:
            nonlocal attempts
            attempts += 1
            # A retry may follow a create whose answer was lost: look before creating again.
            if attempts > 1:
                lookup = self._lookup(edge, tagged)
                if self._assess(lookup).verdict is not Verdict.OK:
                    return lookup  # judged by `assess` like any failed answer
                if (existing := self._named(lookup, tagged)) is not None:
                    return existing
            return self.http.send("POST", self._path(f"{self.account}/{edge}"), form=form)

        def assess(result: httpx.Response | str) -> Assessment:
            return Assessment(Verdict.OK) if isinstance(result, str) else self._assess(result)

        result = self.http.resilience.call(attempt, assess)
        if isinstance(result, str):
            return result
        return str(self.http.json(result)["id"])

    def create_campaign(
        self,
        name: str,
        *,
        key: str,
        objective: str = "OUTCOME_SALES",
        daily_budget_cents: int | None = None,
        lifetime_budget_cents: int | None = None,
        status: str = "PAUSED",
        special_ad_categories: Sequence[str] = (),
    ) -> str:
        """Create a campaign once per `key`; returns its id. Budgets are integer cents."""
        if (daily_budget_cents is None) == (lifetime_budget_cents is None):
            raise ValueError("give exactly one of daily_budget_cents and lifetime_budget_cents")
        tagged = self.tagged_name(name, key)
        form = {
            "name": tagged, "objective": objective, "status": status,
            "special_ad_categories": json.dumps(list(special_ad_categories)),
        }
        if daily_budget_cents is not None:
            form["daily_budget"] = str(_positive_cents(daily_budget_cents))
        if lifetime_budget_cents is not None:
            form["lifetime_budget"] = str(_positive_cents(lifetime_budget_cents))
        return self._create_once("campaigns", tagged, form)

    def create_adset(
        self,
        campaign_id: str,
        name: str,
        *,
        key: str,
        targeting: dict[str, Any],
        optimization_goal: str = "OFFSITE_CONVERSIONS",
        billing_event: str = "IMPRESSIONS",
        promoted_object: dict[str, Any] | None = None,
        status: str = "PAUSED",
    ) -> str:
        """Create an ad set in a campaign once per `key` (its budget is the campaign's)."""
        tagged = self.tagged_name(name, key)
        form = {
            "name": tagged, "campaign_id": campaign_id, "status": status,
            "optimization_goal": optimization_goal, "billing_event": billing_event,
            "bid_strategy": "LOWEST_COST_WITHOUT_CAP", "targeting": json.dumps(targeting),
        }
        if promoted_object is not None:
            form["promoted_object"] = json.dumps(promoted_object)
        return self._create_once("adsets", tagged, form)

    def create_ad(
        self, adset_id: str, name: str, *, key: str, creative: dict[str, Any], status: str = "PAUSED"
    ) -> str:
        """Create an ad once per `key`; `creative` is `{"creative_id": …}` or a creative spec."""
        tagged = self.tagged_name(name, key)
        form = {"name": tagged, "adset_id": adset_id, "status": status,
                "creative": json.dumps(creative)}
        return self._create_once("ads", tagged, form)

    def update_campaign(
        self,
        campaign_id: str,
        *,
        daily_budget_cents: int | None = None,
        lifetime_budget_cents: int | None = None,
        status: str | None = None,
    ) -> None:
        """Change a campaign's budget (cents) or status (`ACTIVE`, `PAUSED`); also an ad set's
        or ad's status (the same `POST /{id}`)."""
        form: dict[str, str] = {}
        if daily_budget_cents is not None:
            form["daily_budget"] = str(_positive_cents(daily_budget_cents))
        if lifetime_budget_cents is not None:
            form["lifetime_budget"] = str(_positive_cents(lifetime_budget_cents))
        if status is not None:
            form["status"] = status
        if not form:
            raise ValueError("nothing to update: give a budget or a status")
        body = self._post(campaign_id, form)
        if body.get("success") is not True:
            raise PlatformUnavailable(PLATFORM, "update not confirmed", detail=str(body)[:200])

    # ------------------------------------------------------------------ insights

    def insights(
        self,
        object_id: str,
        *,
        date_preset: str = "yesterday",
        fields: Sequence[str] = INSIGHT_FIELDS,
        page_size: int = 100,
    ) -> list[CampaignInsights]:
        """`GET /{object-id}/insights`, all pages, parsed."""
        rows: list[CampaignInsights] = []
        params: dict[str, Any] = {
            "fields": ",".join(fields), "date_preset": date_preset, "limit": page_size,
        }
        while True:
            response = self.http.request(
                "GET", self._path(f"{object_id}/insights"), params=params, assess=self._assess
            )
            body = self.http.json(response)
            rows.extend(parse_insights(row, self.currency) for row in body.get("data", []))
            cursor = (body.get("paging") or {}).get("cursors", {}).get("after")
            if not (body.get("paging") or {}).get("next") or not cursor:
                return rows
            params = {**params, "after": cursor}

    def close(self) -> None:
        self.http.close()


def _positive_cents(cents: int) -> int:
    if not isinstance(cents, int) or cents <= 0:
        raise ValueError(f"a budget must be a positive whole number of cents, got {cents!r}")
    return cents
