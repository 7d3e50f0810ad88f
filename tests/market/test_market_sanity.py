"""Market sanity through whole cohorts (agents deciding): the market answers the way its model says.

Runs are paired by replicate seed (common random numbers), so a difference in
one parameter shows up without being buried in market noise.
"""

from __future__ import annotations

import numpy as np

from ds1ray.events.contracts import CHANNEL_CODES, TICKET_REASON_CODES
from ds1ray.runspec import RunSpec

from .conftest import ObservedCohort

PAID = CHANNEL_CODES.index("paid")
LATE = TICKET_REASON_CODES.index("late")
CALM = {"market.shocks.random": False}


def test_no_ad_budget_means_no_clicks_and_no_paid_orders_while_organic_orders_still_come(
        observed_cohort: ObservedCohort) -> None:
    seeds = 8
    runs = [RunSpec("sanity", s, "no_ads", {"ceo.daily_ad_budget": 0.0}) for s in range(seeds)] + \
        [RunSpec("sanity", s, "ads") for s in range(seeds)]
    observed = observed_cohort(runs, 90, ["ORDER_PAID", "CAMPAIGN_CREATED"])
    world, orders = observed.cohort.world, observed.rows("ORDER_PAID")
    no_ads = orders["run"] < seeds
    assert world.clicks_total[:seeds].sum() == 0 and world.impressions_total[:seeds].sum() == 0
    assert world.ledger.totals["ad_spend"][:seeds].sum() == 0
    assert not (orders["channel"][no_ads] == PAID).any()
    assert no_ads.sum() > 0  # organic shoppers still buy
    # The same runs with a budget do buy paid traffic: the check above can fail.
    assert (orders["channel"][~no_ads] == PAID).sum() > 0 and world.clicks_total[seeds:].sum() > 0
    campaigns = observed.rows("CAMPAIGN_CREATED")
    assert (campaigns["daily_budget_cents"][campaigns["run"] < seeds] == 0).all()


def test_longer_shipping_brings_more_late_tickets_per_order(observed_cohort: ObservedCohort) -> None:
    seeds, path = 16, "market.suppliers.tiers.cheap.shipping_days"
    runs = [RunSpec("sanity", s, "quick", {**CALM, path: 15.0}) for s in range(seeds)] + \
        [RunSpec("sanity", s, "slow", {**CALM, path: 35.0}) for s in range(seeds)]
    observed = observed_cohort(runs, 120, ["TICKET_CREATED"])
    tickets = observed.rows("TICKET_CREATED")
    late = np.bincount(tickets["run"][tickets["reason"] == LATE], minlength=2 * seeds)
    orders = observed.result.runs["orders"].to_numpy()
    quick, slow = late[:seeds].sum() / orders[:seeds].sum(), late[seeds:].sum() / orders[seeds:].sum()
    assert orders[:seeds].sum() > 500
    assert slow > 2 * quick
    assert slow > 0.2  # most of a 40-day delivery misses a 28-day promise


def test_a_scripted_crash_lowers_sessions_from_its_day_and_is_announced_that_day(
        observed_cohort: ObservedCohort) -> None:
    seeds, crash_day, days = 12, 30, 60
    script = {**CALM, "market.shocks.script": [{"day": crash_day, "kind": "market_crash"}]}
    calm = observed_cohort([RunSpec("sanity", s, "calm", CALM) for s in range(seeds)], days, [])
    crash = observed_cohort([RunSpec("sanity", s, "crash", script) for s in range(seeds)], days, ["MARKET_CRASH"])
    announced = crash.rows("MARKET_CRASH")
    assert set(announced["day"]) == {crash_day}
    np.testing.assert_array_equal(np.sort(announced["run"]), np.arange(seeds))
    sessions_calm = calm.cohort.world.daily["sessions"]
    sessions_crash = crash.cohort.world.daily["sessions"]
    # Same seeds, same market: identical until the crash, fewer shoppers while it lasts.
    np.testing.assert_array_equal(sessions_calm[:crash_day], sessions_crash[:crash_day])
    window = slice(crash_day, crash_day + 21)
    assert sessions_crash[window].sum() < 0.75 * sessions_calm[window].sum()
