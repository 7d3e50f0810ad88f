"""The live ads port: `AdsPort` over the Meta Marketing API.

Each product slot gets one campaign → ad set → ad, made on its first positive
budget and mapped in `live_platform_ids` (kind `ads_campaign`: the platform id
is the campaign id; the ad set and ad ids, the daily budget, the status and
the lifetime spend, impressions and clicks last reported are attributes). The
budget lives on the campaign (Advantage campaign budget); a budget of 0 pauses
the campaign, a positive one sets it and makes it active.

The campaign is made paused and activated only once its ad exists, so a
half-built hierarchy spends nothing. Meta has no idempotency key: every create
carries the causing event's key in the object's name and a retry looks the name
up first (`MetaAds`); a hierarchy left half-built by a crash is finished, not
started again, because each id is recorded as soon as Meta returns it.

The ad links to the slot's Shopify product page
(`<store_url>/products/<handle>`, the handle the shop port recorded), so a slot
must be published before it is advertised. Settings, in the overlay's
`adapters.ads.options`: `ad_account_id`, `page_id` (the Facebook Page the ads
run as), `pixel_id` (the purchases they optimise for), `store_url`; optional
`countries` (comma-separated, default US) and `currency` (default USD).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

import httpx
import numpy as np

from ds1ray.adapters.live.meta import DEFAULT_API_VERSION, MetaAds
from ds1ray.adapters.live.ports import SHOP_PRODUCT, KeyedPort, PlatformId, PlatformIds, PortContext
from ds1ray.adapters.ports import I64
from ds1ray.errors import UserError
from ds1ray.live.resilience import PlatformRejected

log = logging.getLogger(__name__)

ADS_CAMPAIGN = "ads_campaign"
ACTIVE, PAUSED = "ACTIVE", "PAUSED"
REQUIRED_OPTIONS = ("ad_account_id", "page_id", "pixel_id", "store_url")
_VERSIONED = re.compile(r"^(?P<root>.*?)/(?P<version>v\d+\.\d+)$")


class LiveAds(KeyedPort):
    """`AdsPort` over one Meta ad account; see the module docstring."""

    def __init__(self, client: MetaAds, ids: PlatformIds, slots: int, *, page_id: str, pixel_id: str,
                 store_url: str, countries: list[str]) -> None:
        super().__init__()
        self.client = client
        self.ids = ids
        self.slots = slots
        self.page_id = page_id
        self.pixel_id = pixel_id
        self.store_url = store_url.rstrip("/")
        self.countries = countries

    def _record(self, slot: int, campaign_id: str, previous: PlatformId | None, **facts: Any) -> PlatformId:
        return self.ids.update(ADS_CAMPAIGN, slot, campaign_id, previous, **facts)

    def set_budgets(self, run: I64, product: I64, daily_budget_cents: I64) -> None:
        campaigns = self.ids.by_slot(ADS_CAMPAIGN)
        for row, slot in enumerate(product.tolist()):
            budget = int(daily_budget_cents[row])
            campaign = campaigns.get(slot)
            try:
                if budget > 0:
                    self._run(row, slot, budget, campaign)
                elif campaign is not None and campaign.attributes.get("status") != PAUSED:
                    self.client.update_campaign(campaign.platform_id, status=PAUSED)
                    self._record(slot, campaign.platform_id, campaign, status=PAUSED)
            except PlatformRejected as refused:
                # Meta's answer (a budget under its minimum, a disapproved ad): the campaign keeps
                # what it had; logged for the operator, the other products go on.
                log.warning("ads: Meta refused product slot %d's budget of %d cents: %s %s",
                            slot, budget, refused.reason, refused.detail)

    def _run(self, row: int, slot: int, budget: int, campaign: PlatformId | None) -> None:
        """Give the slot's campaign `budget` a day and make it active, building it if needed."""
        if campaign is None or not campaign.attributes.get("ad_id"):
            campaign = self._build(row, slot, budget, campaign)
        elif campaign.attributes.get("daily_budget_cents") == budget and \
                campaign.attributes.get("status") == ACTIVE:
            return
        self.client.update_campaign(campaign.platform_id, daily_budget_cents=budget, status=ACTIVE)
        self._record(slot, campaign.platform_id, campaign, daily_budget_cents=budget, status=ACTIVE)

    def _build(self, row: int, slot: int, budget: int, campaign: PlatformId | None) -> PlatformId:
        """Campaign (paused), ad set, ad: each made once and recorded as soon as it exists."""
        link, title = self._landing(slot)
        name = f"ds1 {title}"
        key = self.write_key(row)
        if campaign is None:
            campaign_id = self.client.create_campaign(name, key=key, daily_budget_cents=budget,
                                                      status=PAUSED)
            campaign = self._record(slot, campaign_id, None, daily_budget_cents=budget, status=PAUSED)
        if not campaign.attributes.get("adset_id"):
            adset_id = self.client.create_adset(
                campaign.platform_id, name, key=key, status=ACTIVE,
                targeting={"geo_locations": {"countries": self.countries}, "age_min": 18},
                promoted_object={"pixel_id": self.pixel_id, "custom_event_type": "PURCHASE"})
            campaign = self._record(slot, campaign.platform_id, campaign, adset_id=adset_id)
        ad_id = self.client.create_ad(
            str(campaign.attributes["adset_id"]), name, key=key, status=ACTIVE,
            creative={"object_story_spec": {"page_id": self.page_id, "link_data": {
                "link": link, "name": title, "call_to_action": {"type": "SHOP_NOW"}}}})
        return self._record(slot, campaign.platform_id, campaign, ad_id=ad_id)

    def _landing(self, slot: int) -> tuple[str, str]:
        listing = self.ids.by_slot(SHOP_PRODUCT).get(slot)
        handle = None if listing is None else listing.attributes.get("handle")
        if not handle:
            raise ValueError(f"ads: product slot {slot} has no Shopify product page to link to; "
                             "publish it on the shop before giving it a budget")
        title = str(listing.attributes.get("title") or f"Product {slot}") if listing else ""
        return f"{self.store_url}/products/{handle}", title

    def insights(self) -> tuple[I64, I64, I64]:
        """Lifetime (spend cents, impressions, clicks) of each slot's campaign, shape (1, slots)."""
        totals = np.zeros((3, 1, self.slots), np.int64)
        for slot, campaign in self.ids.by_slot(ADS_CAMPAIGN).items():
            rows = self.client.insights(campaign.platform_id, date_preset="maximum",
                                        fields=("campaign_id", "spend", "impressions", "clicks"))
            seen = (sum(r.spend_cents for r in rows), sum(r.impressions for r in rows),
                    sum(r.clicks for r in rows))
            totals[:, 0, slot] = seen
            recorded = tuple(int(campaign.attributes.get(k, 0)) for k in ("spend_cents", "impressions", "clicks"))
            if seen != recorded:  # the shop port's balance reads the spend recorded here
                self._record(slot, campaign.platform_id, campaign, spend_cents=seen[0],
                             impressions=seen[1], clicks=seen[2])
        return totals[0], totals[1], totals[2]

    def status(self) -> dict[str, Any]:
        return self.client.http.resilience.status()


def meta_location(base_url: str) -> tuple[str, str]:
    """(Graph API root, version) from `https://graph.facebook.com[/v23.0]`."""
    match = _VERSIONED.match(base_url.rstrip("/"))
    if match is None:
        return base_url.rstrip("/"), DEFAULT_API_VERSION
    return match["root"], match["version"]


def required_options(options: Mapping[str, str]) -> dict[str, str]:
    missing = [name for name in REQUIRED_OPTIONS if not options.get(name)]
    if missing:
        raise UserError("the live ads port needs " + ", ".join(f"adapters.ads.options.{m}" for m in missing)
                        + " in the overlay (the Meta ad account, the Facebook Page its ads run as, "
                          "the pixel that reports purchases, the storefront the ads link to)")
    return {name: options[name] for name in REQUIRED_OPTIONS}


def build_ads(context: PortContext) -> LiveAds:
    """The live ads port over the Meta Marketing API at `context.base_url`."""
    options = required_options(context.options)
    root, version = meta_location(context.base_url)
    client = MetaAds(context.secret, options["ad_account_id"], currency=context.options.get("currency", "USD"),
                     base_url=root, api_version=version, resilience=context.guard.resilience("meta"),
                     timeout=httpx.Timeout(context.timeout_s, connect=min(3.0, context.timeout_s)))
    countries = [c.strip().upper() for c in context.options.get("countries", "US").split(",") if c.strip()]
    return LiveAds(client, PlatformIds(context.store), context.slots, page_id=options["page_id"],
                   pixel_id=options["pixel_id"], store_url=options["store_url"], countries=countries)
