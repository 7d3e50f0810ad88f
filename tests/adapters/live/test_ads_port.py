"""The live ads port over the Meta contract server: one campaign → ad set → ad per slot, budgets, insights."""

from __future__ import annotations

import json

import numpy as np
import pytest
from contract_servers.meta import MetaServer, throttled_error, usage_header

from ds1ray.adapters.live.ads_port import ADS_CAMPAIGN, LiveAds, build_ads
from ds1ray.adapters.live.meta import MetaAds
from ds1ray.adapters.live.ports import SHOP_PRODUCT, GuardSettings, PlatformIds, PortContext
from ds1ray.errors import UserError
from ds1ray.live.clock import ManualClock
from ds1ray.live.resilience import PlatformUnavailable
from ds1ray.store import Store

from .conftest import MakeGuard
from .live_fixtures import mock_port, store_fixture  # noqa: F401  (the `store` fixture)
from .twins import RUN, same_form

SLOTS = 24
OPTIONS = {"ad_account_id": "1234567890", "page_id": "108000000000001", "pixel_id": "900000000000001",
           "store_url": "https://shop.example.com"}


@pytest.fixture(autouse=True)
def published(store: Store) -> None:
    """Slots the shop port published: the ads link to their product pages."""
    ids = PlatformIds(store)
    ids.put(SHOP_PRODUCT, 4, "1001", handle="cat-tree-1a2b3c4d", title="Cat Tree")
    ids.put(SHOP_PRODUCT, 9, "1002", handle="lamp-5e6f7a8b", title="Lamp")


@pytest.fixture
def port(store: Store, meta_server: MetaServer, make_guard: MakeGuard) -> LiveAds:
    client = MetaAds("meta-token", OPTIONS["ad_account_id"], base_url=meta_server.url,
                     resilience=make_guard("meta"))
    return LiveAds(client, PlatformIds(store), SLOTS, page_id=OPTIONS["page_id"], pixel_id=OPTIONS["pixel_id"],
                   store_url=OPTIONS["store_url"], countries=["US", "CA"])


def budgets(port: LiveAds, key: str, slots: list[int], cents: list[int]) -> None:
    with port.causation(key):
        port.set_budgets(RUN.repeat(len(slots)), np.array(slots), np.array(cents))


def campaign_of(store: Store, slot: int) -> dict[str, object]:
    [found] = [c for c in PlatformIds(store).of_kind(ADS_CAMPAIGN) if c.slot == slot]
    return {"id": found.platform_id, **found.attributes}


def test_a_first_budget_builds_campaign_adset_and_ad_and_runs_it(
        port: LiveAds, store: Store, meta_server: MetaServer) -> None:
    budgets(port, "marketing:evt-1:0", [4], [2500])
    recorded = campaign_of(store, 4)
    campaign = meta_server.campaigns[str(recorded["id"])]
    assert campaign["daily_budget"] == 2500 and campaign["status"] == "ACTIVE"
    [adset] = meta_server.adsets.values()
    [ad] = meta_server.ads.values()
    assert adset["campaign_id"] == campaign["id"] and ad["adset_id"] == adset["id"]
    assert json.loads(adset["targeting"])["geo_locations"] == {"countries": ["US", "CA"]}
    assert json.loads(adset["promoted_object"])["pixel_id"] == OPTIONS["pixel_id"]
    link = json.loads(ad["creative"])["object_story_spec"]["link_data"]["link"]
    assert link == "https://shop.example.com/products/cat-tree-1a2b3c4d"
    assert (recorded["adset_id"], recorded["ad_id"]) == (adset["id"], ad["id"])
    # Made paused, activated only once the ad existed: nothing spends half-built.
    first = meta_server.requests_to("/v23.0/act_1234567890/campaigns", "POST")[0].form()
    assert first["status"] == "PAUSED"


def test_later_budgets_update_the_campaign_and_zero_pauses_it(
        port: LiveAds, store: Store, meta_server: MetaServer) -> None:
    budgets(port, "marketing:evt-2:0", [4], [2500])
    budgets(port, "marketing:evt-3:0", [4], [4000])
    budgets(port, "marketing:evt-4:0", [4, 9], [0, 0])  # slot 9 never ran: nothing to pause
    [campaign] = meta_server.campaigns.values()
    assert (campaign["daily_budget"], campaign["status"]) == (4000, "PAUSED")
    assert campaign_of(store, 4)["status"] == "PAUSED"
    budgets(port, "marketing:evt-5:0", [4], [4000])
    assert campaign["status"] == "ACTIVE" and len(meta_server.campaigns) == 1


def test_a_handler_rerun_builds_nothing_twice(port: LiveAds, store: Store, meta_server: MetaServer) -> None:
    budgets(port, "marketing:evt-6:0", [4], [2500])
    calls = len(meta_server.requests)
    budgets(port, "marketing:evt-6:0", [4], [2500])  # same key, same budget: already so
    assert len(meta_server.requests) == calls
    assert (len(meta_server.campaigns), len(meta_server.adsets), len(meta_server.ads)) == (1, 1, 1)


def test_a_hierarchy_left_half_built_is_finished_not_started_again(
        port: LiveAds, store: Store, meta_server: MetaServer) -> None:
    meta_server.faults.fail_next(3, 503, path_prefix="/v23.0/act_1234567890/adsets")
    with pytest.raises(PlatformUnavailable):
        budgets(port, "marketing:evt-7:0", [9], [1500])
    assert (len(meta_server.campaigns), len(meta_server.adsets), len(meta_server.ads)) == (1, 0, 0)
    budgets(port, "marketing:evt-7:0", [9], [1500])  # the redelivered event
    assert (len(meta_server.campaigns), len(meta_server.adsets), len(meta_server.ads)) == (1, 1, 1)
    assert next(iter(meta_server.campaigns.values()))["status"] == "ACTIVE"


def test_meta_throttling_is_waited_out_then_the_budget_is_set(
        port: LiveAds, meta_server: MetaServer, clock: ManualClock) -> None:
    meta_server.faults.fail_next(1, 400, body=throttled_error(17),
                                 headers=usage_header("1234567890", regain_minutes=1))
    meta_server.faults.fail_next(1, 500)
    budgets(port, "marketing:evt-8:0", [4], [2500])
    assert clock.sleeps[0] == 60.0
    assert [c["daily_budget"] for c in meta_server.campaigns.values()] == [2500]


def test_a_budget_meta_refuses_leaves_the_product_without_a_campaign(
        port: LiveAds, store: Store, meta_server: MetaServer) -> None:
    budgets(port, "marketing:evt-9:0", [4, 9], [50, 2000])  # 50 cents: under Meta's minimum
    assert [c.slot for c in PlatformIds(store).of_kind(ADS_CAMPAIGN)] == [9]
    assert [c["daily_budget"] for c in meta_server.campaigns.values()] == [2000]


def test_an_unpublished_slot_cannot_be_advertised(port: LiveAds, meta_server: MetaServer) -> None:
    with pytest.raises(ValueError, match="product slot 5 has no Shopify product page"):
        budgets(port, "marketing:evt-10:0", [5], [2000])
    assert meta_server.campaigns == {}


def test_insights_are_lifetime_totals_per_slot_recorded_for_the_balance(
        port: LiveAds, store: Store, meta_server: MetaServer) -> None:
    budgets(port, "marketing:evt-11:0", [4, 9], [2500, 1500])
    cat_tree, lamp = campaign_of(store, 4)["id"], campaign_of(store, 9)["id"]
    meta_server.insight_rows[str(cat_tree)] = [{"campaign_id": cat_tree, "spend": "41.27", "impressions": "3012",
                                                "clicks": "48", "date_start": "2026-01-01",
                                                "date_stop": "2026-01-09"}]
    meta_server.insight_rows[str(lamp)] = []  # no delivery yet
    spend, impressions, clicks = port.insights()
    assert spend[0, 4] == 4127 and impressions[0, 4] == 3012 and clicks[0, 4] == 48
    assert spend.sum() == 4127 and clicks[0, 9] == 0
    assert campaign_of(store, 4)["spend_cents"] == 4127
    assert meta_server.requests_to(f"/v23.0/{cat_tree}/insights")[-1].query["date_preset"] == "maximum"
    assert same_form((spend, impressions, clicks), mock_port("ads").insights())


def test_build_needs_the_ad_account_and_reads_the_version_from_the_base_url(
        store: Store, meta_server: MetaServer) -> None:
    context = PortContext(base_url=f"{meta_server.url}/v21.0", secret="meta-token", store=store, slots=SLOTS,
                          guard=GuardSettings(), options=OPTIONS)
    built = build_ads(context)
    assert built.client.version == "v21.0" and built.client.account == "act_1234567890"
    assert built.status()["platform"] == "meta"
    spend, _, _ = built.insights()
    assert spend.shape == (1, SLOTS)
    with pytest.raises(UserError, match=r"adapters\.ads\.options\.ad_account_id"):
        build_ads(PortContext(base_url=meta_server.url, secret="x", store=store, slots=SLOTS,
                              guard=GuardSettings(), options={**OPTIONS, "ad_account_id": ""}))
