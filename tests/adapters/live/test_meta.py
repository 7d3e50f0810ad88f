"""MetaAds against the Meta Marketing API contract server."""

from __future__ import annotations

import pytest
from contract_servers.meta import MetaServer, meta_error, throttled_error, usage_header

from ds1ray.adapters.live.meta import MetaAds
from ds1ray.live.clock import ManualClock
from ds1ray.live.resilience import BreakerState, PlatformRejected, PlatformUnavailable

from .conftest import MakeGuard


def ads(server: MetaServer, make_guard: MakeGuard, **guard: object) -> MetaAds:
    return MetaAds("meta-token", "1234567890", base_url=server.url,
                   resilience=make_guard("meta", **guard))


def test_create_campaign_posts_budget_in_cents_and_required_fields(
    meta_server: MetaServer, make_guard: MakeGuard
) -> None:
    campaign_id = ads(meta_server, make_guard).create_campaign(
        "Cat Tree", key="launch-17", daily_budget_cents=2500
    )
    form = meta_server.requests_to("/v23.0/act_1234567890/campaigns", "POST")[0].form()
    assert form["daily_budget"] == "2500"
    assert form["objective"] == "OUTCOME_SALES"
    assert form["status"] == "PAUSED"
    assert form["special_ad_categories"] == "[]"
    assert meta_server.campaigns[campaign_id]["daily_budget"] == 2500


def test_throttling_code_17_is_retried_after_the_announced_regain_time(
    meta_server: MetaServer, make_guard: MakeGuard, clock: ManualClock
) -> None:
    meta_server.faults.fail_next(1, 400, body=throttled_error(17),
                                 headers=usage_header("1234567890", regain_minutes=1))
    campaign_id = ads(meta_server, make_guard).create_campaign(
        "Lamp", key="launch-2", lifetime_budget_cents=10_000
    )
    assert clock.sleeps == [60.0]
    assert meta_server.campaigns[campaign_id]["lifetime_budget"] == 10_000


def test_throttling_code_613_without_usage_header_backs_off(
    meta_server: MetaServer, make_guard: MakeGuard, clock: ManualClock
) -> None:
    meta_server.faults.fail_next(2, 400, body=throttled_error(613))
    ads(meta_server, make_guard).create_campaign("Fan", key="launch-3", daily_budget_cents=500)
    assert len(clock.sleeps) == 2
    assert len(meta_server.campaigns) == 1


def test_a_create_whose_answer_was_lost_is_found_by_its_tag_not_made_twice(
    meta_server: MetaServer, make_guard: MakeGuard, clock: ManualClock
) -> None:
    client = ads(meta_server, make_guard)
    first = client.create_campaign("Mat", key="launch-4", daily_budget_cents=700)
    meta_server.faults.fail_next(1, 502, path_prefix="/v23.0/act_1234567890/campaigns")
    # The same key again after a lost answer: the retry looks the campaign up first.
    again = client.create_campaign("Mat", key="launch-4", daily_budget_cents=700)
    assert again == first
    assert len(meta_server.campaigns) == 1


def test_invalid_parameter_is_a_business_error_and_does_not_trip_the_breaker(
    meta_server: MetaServer, make_guard: MakeGuard, clock: ManualClock
) -> None:
    client = ads(meta_server, make_guard, failure_threshold=1)
    with pytest.raises(PlatformRejected, match="meta error 100"):
        client.create_campaign("Tiny", key="launch-5", daily_budget_cents=50)
    assert client.http.resilience.breaker.state is BreakerState.CLOSED
    assert clock.sleeps == []


def test_an_expired_token_is_rejected(meta_server: MetaServer, make_guard: MakeGuard) -> None:
    client = MetaAds("stale", "1234567890", base_url=meta_server.url,
                     resilience=make_guard("meta"))
    with pytest.raises(PlatformRejected, match="meta error 190"):
        client.update_campaign("1", status="PAUSED")


def test_update_budget_and_status(meta_server: MetaServer, make_guard: MakeGuard) -> None:
    client = ads(meta_server, make_guard)
    campaign_id = client.create_campaign("Desk", key="launch-6", daily_budget_cents=1000)
    client.update_campaign(campaign_id, daily_budget_cents=1500, status="ACTIVE")
    assert meta_server.campaigns[campaign_id]["daily_budget"] == 1500
    assert meta_server.campaigns[campaign_id]["status"] == "ACTIVE"


def test_budgets_must_be_positive_whole_cents(
    meta_server: MetaServer, make_guard: MakeGuard
) -> None:
    client = ads(meta_server, make_guard)
    with pytest.raises(ValueError, match="whole number of cents"):
        client.update_campaign("1", daily_budget_cents=12.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="exactly one"):
        client.create_campaign("X", key="k", daily_budget_cents=100, lifetime_budget_cents=100)
    assert meta_server.requests == []


def test_insights_parse_string_numbers_actions_and_roas_across_pages(
    meta_server: MetaServer, make_guard: MakeGuard
) -> None:
    meta_server.insight_rows["555"] = [
        {"campaign_id": "555", "date_start": "2026-01-04", "date_stop": "2026-01-04",
         "spend": "42.17", "impressions": "10234", "clicks": "311", "ctr": "3.038889",
         "cpc": "0.135595", "cpm": "4.120578",
         "actions": [{"action_type": "link_click", "value": "311"},
                     {"action_type": "purchase", "value": "3"}],
         "action_values": [{"action_type": "purchase", "value": "179.97"}],
         "purchase_roas": [{"action_type": "omni_purchase", "value": "4.267726"}]},
        {"campaign_id": "555", "date_start": "2026-01-05", "date_stop": "2026-01-05",
         "spend": "0", "impressions": "0", "clicks": "0"},
    ]
    rows = ads(meta_server, make_guard).insights("555", date_preset="last_7d", page_size=1)
    assert len(rows) == 2
    first = rows[0]
    assert first.spend_cents == 4217
    assert (first.impressions, first.clicks, first.purchases) == (10234, 311, 3)
    assert first.action_values_cents == {"purchase": 17997}
    assert first.purchase_roas == pytest.approx(4.267726)
    assert rows[1].spend_cents == 0 and rows[1].purchase_roas is None
    assert len(meta_server.requests_to("/v23.0/555/insights")) == 2


def test_service_errors_that_persist_raise_unavailable(
    meta_server: MetaServer, make_guard: MakeGuard
) -> None:
    meta_server.faults.fail_next(3, 500, body=meta_error(2, "Service temporarily unavailable",
                                                         error_type="OAuthException"))
    with pytest.raises(PlatformUnavailable, match="meta error 2"):
        ads(meta_server, make_guard).insights("555")
