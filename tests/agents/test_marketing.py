"""Marketing: the kill rule and the three budget allocation rules."""

from __future__ import annotations

import numpy as np
import pytest

from ds1ray.agents import Agent
from ds1ray.agents.marketing import KILLED, PAID, Marketing
from ds1ray.cohort import Cohort
from ds1ray.config import Config
from ds1ray.events.batch import EventBatch
from ds1ray.runspec import RunSpec

from .conftest import MakeAgent, RecordingAds, published

BUDGET = 9000  # cents per day over all campaigns


def _start(agent: Agent, runs: int, products: int = 3) -> list[EventBatch]:
    """The CEO sets the budget, then the store publishes `products` pages in every run."""
    run = np.arange(runs)
    out = agent.handle(EventBatch.of("STRATEGY_UPDATED", run, risk_mode=0, daily_ad_budget_cents=BUDGET,
                                     max_active_products=3))
    page_run, page_product = np.repeat(run, products), np.tile(np.arange(products), runs)
    return out + agent.handle(EventBatch.of("PAGE_PUBLISHED", page_run, product=page_product,
                                            price_cents=2999))


def _sales(agent: Agent, run: int, revenue_by_product: list[int]) -> None:
    """Paid orders bringing these revenues (cents) to products 0, 1, 2 …; one organic order that must not count."""
    product = np.arange(len(revenue_by_product))
    agent.handle(EventBatch.of("ORDER_PAID", np.full(product.size, run), order_id=product, product=product,
                               amount_cents=revenue_by_product, channel=PAID, customer_ref=1))
    agent.handle(EventBatch.of("ORDER_PAID", [run], order_id=[99], product=[0], amount_cents=[10**7],
                               channel=0, customer_ref=1))


def test_new_campaigns_start_with_equal_shares_under_every_rule(make_agent: MakeAgent) -> None:
    for rule in ("equal", "roas_greedy"):
        ads = RecordingAds(1, 4)
        agent = make_agent("marketing", [RunSpec("mk", 0, rule, {"marketing.allocation": rule})], {"ads": ads})
        created = published(_start(agent, 1), "CAMPAIGN_CREATED")
        assert created is not None
        np.testing.assert_array_equal(created["product"], [0, 1, 2])
        np.testing.assert_array_equal(created["daily_budget_cents"], [3000, 3000, 3000])
        np.testing.assert_array_equal(ads.budget[0], [3000, 3000, 3000, 0])


def test_the_kill_rule_stops_a_campaign_that_spent_enough_with_too_low_a_roas(make_agent: MakeAgent) -> None:
    ads = RecordingAds(1, 4)
    agent = make_agent("marketing", [RunSpec("mk", 0, "k", {"marketing.kill_after_spend": 150.0,
                                                           "marketing.kill_roas": 1.0})], {"ads": ads})
    _start(agent, 1)
    ads.spend[0, :3] = [20_000, 20_000, 10_000]  # $200, $200, $100
    _sales(agent, 0, [15_000, 25_000, 0])  # ROAS 0.75 (judged, losing), 1.25 (winning), 0 (not yet judged)
    out = agent.handle(EventBatch.of("OPTIMIZATION_TICK", [0], day=1))
    changes = published(out, "CAMPAIGN_OPTIMIZED")
    assert changes is not None
    killed = changes.take(changes["status"] == KILLED)
    np.testing.assert_array_equal(killed["product"], [0])
    np.testing.assert_array_equal(killed["daily_budget_cents"], [0])
    assert ads.budget[0, 0] == 0
    # The survivors share the whole budget, and the killed campaign stays dead.
    assert ads.budget[0, 1] + ads.budget[0, 2] == pytest.approx(BUDGET, abs=2)
    ads.spend[0, :3] += 20_000
    agent.handle(EventBatch.of("OPTIMIZATION_TICK", [0], day=2))
    assert ads.budget[0, 0] == 0


def test_equal_allocation_splits_the_budget_evenly_whatever_the_returns(make_agent: MakeAgent) -> None:
    ads = RecordingAds(1, 4)
    agent = make_agent("marketing", [RunSpec("mk", 0, "eq", {"marketing.allocation": "equal",
                                                            "marketing.kill_roas": 0.0})], {"ads": ads})
    _start(agent, 1)
    ads.spend[0, :3] = 20_000
    _sales(agent, 0, [10_000, 30_000, 60_000])
    agent.handle(EventBatch.of("OPTIMIZATION_TICK", [0], day=1))
    np.testing.assert_array_equal(ads.budget[0, :3], [3000, 3000, 3000])


def test_roas_greedy_allocation_gives_budget_in_proportion_to_roas_to_the_power_k(make_agent: MakeAgent) -> None:
    ads = RecordingAds(1, 4)
    agent = make_agent("marketing", [RunSpec("mk", 0, "greedy", {"marketing.allocation": "roas_greedy",
                                                                "marketing.greedy_exponent": 2.0,
                                                                "marketing.kill_roas": 0.0})], {"ads": ads})
    _start(agent, 1)
    ads.spend[0, :3] = 20_000  # $200 each: all past kill_after_spend, so judged on their own ROAS
    _sales(agent, 0, [10_000, 30_000, 60_000])  # ROAS 0.5, 1.5, 3.0
    agent.handle(EventBatch.of("OPTIMIZATION_TICK", [0], day=1))
    weights = np.array([0.5, 1.5, 3.0]) ** 2
    np.testing.assert_array_equal(ads.budget[0, :3], np.floor(weights / weights.sum() * BUDGET).astype(np.int64))
    assert ads.budget[0, 2] > ads.budget[0, 1] > ads.budget[0, 0]


def test_bandit_draws_differ_between_runs_but_are_reproducible(make_agent: MakeAgent) -> None:
    runs = [RunSpec("mk", 0, f"bandit{i}", {"marketing.allocation": "bandit", "marketing.kill_roas": 0.0})
            for i in range(2)]

    def budgets_after_two_days() -> np.ndarray:
        ads = RecordingAds(2, 4)
        agent = make_agent("marketing", runs, {"ads": ads})
        _start(agent, 2)
        ads.spend[:, :3] = 20_000
        for run in (0, 1):
            _sales(agent, run, [10_000, 30_000, 60_000])
        history = []
        for day in (1, 2):
            agent.handle(EventBatch.of("OPTIMIZATION_TICK", [0, 1], day=day))
            history.append(ads.budget.copy())
        return np.stack(history)

    first, second = budgets_after_two_days(), budgets_after_two_days()
    np.testing.assert_array_equal(first, second)
    assert not np.array_equal(first[:, 0], first[:, 1])  # same evidence, different runs: different draws
    assert not np.array_equal(first[0], first[1])  # a new day, new draws
    assert (first.sum(axis=2) <= BUDGET).all() and (first.sum(axis=2) >= BUDGET - 3).all()


def test_in_a_cohort_killed_campaigns_had_spent_past_the_threshold_with_roas_below_target(
        config: Config) -> None:
    threshold, target = 40.0, 3.0
    strict = {"marketing.kill_after_spend": threshold, "marketing.kill_roas": target,
              "ops.escalation_ticket_rate": 1.0}  # no escalations: every kill comes from the rule
    cohort = Cohort(config, [RunSpec("mk", s, "strict", strict) for s in range(6)], 60)
    marketing, world = cohort.agents["marketing"], cohort.world
    assert isinstance(marketing, Marketing)
    kills: list[tuple[int, int, int, int]] = []

    def on_batch(batch: EventBatch) -> None:
        if batch.type == "CAMPAIGN_OPTIMIZED":
            for run, product in zip(batch.run[batch["status"] == KILLED], batch["product"][batch["status"] == KILLED],
                                    strict=True):
                kills.append((run, product, world.spend_total[run, product], marketing.revenue[run, product]))

    cohort.bus.observers.append(on_batch)
    cohort.run()
    assert kills, "a ROAS target of 3 should kill some campaigns"
    for run, product, spend, revenue in kills:
        assert spend >= threshold * 100, (run, product)
        assert revenue < target * spend, (run, product)
    killed = marketing.status == KILLED
    assert (world.budget[killed] == 0).all() and not world.listed[killed].any()


def test_a_handler_that_kills_and_reallocates_publishes_one_campaign_optimized_batch(make_agent: MakeAgent) -> None:
    ads = RecordingAds(1, 4)
    agent = make_agent("marketing", [RunSpec("mk", 0, "k", {"marketing.kill_after_spend": 150.0,
                                                           "marketing.kill_roas": 1.0,
                                                           "marketing.allocation": "equal"})], {"ads": ads})
    _start(agent, 1)
    ads.spend[0, :3] = [20_000, 20_000, 10_000]
    _sales(agent, 0, [15_000, 25_000, 0])
    out = agent.handle(EventBatch.of("OPTIMIZATION_TICK", [0], day=1))
    optimized = [b for b in out if b.type == "CAMPAIGN_OPTIMIZED"]
    assert len(optimized) == 1
    # The kill comes first, then the survivors' new shares, as they were emitted.
    batch = optimized[0]
    assert batch["status"][0] == KILLED and batch["product"][0] == 0 and batch["daily_budget_cents"][0] == 0
    np.testing.assert_array_equal(batch["product"][1:], [1, 2])  # the survivors share the budget
    np.testing.assert_array_equal(batch["daily_budget_cents"][1:], [BUDGET // 2, BUDGET // 2])


def test_in_a_cohort_mixing_the_rules_each_run_allocates_as_it_would_alone(make_agent: MakeAgent) -> None:
    rules = ("bandit", "equal", "roas_greedy", "equal")
    specs = [RunSpec("mk", 0, f"{rule}{i}", {"marketing.allocation": rule, "marketing.kill_roas": 0.0})
             for i, rule in enumerate(rules)]

    def budgets(chosen: list[int]) -> np.ndarray:
        ads = RecordingAds(len(chosen), 4)
        agent = make_agent("marketing", [specs[i] for i in chosen], {"ads": ads})
        _start(agent, len(chosen))
        ads.spend[:, :3] = 20_000
        for row in range(len(chosen)):
            _sales(agent, row, [10_000, 30_000, 60_000])
        agent.handle(EventBatch.of("OPTIMIZATION_TICK", np.arange(len(chosen)), day=1))
        assert not {"_rule", "_rules_used"} & set(agent.snapshot())  # derived from the strategy, not learnt
        return ads.budget.copy()

    together = budgets(list(range(len(rules))))
    for i in range(len(rules)):
        np.testing.assert_array_equal(together[i], budgets([i])[0])
    assert not np.array_equal(together[0], together[1])  # the bandit's draws are not an equal split
    assert not np.array_equal(together[2], together[1])  # nor are the greedy's ROAS-weighted shares


class _CountingAds(RecordingAds):
    def __init__(self, runs: int, products: int) -> None:
        super().__init__(runs, products)
        self.reads = 0

    def insights(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        self.reads += 1
        return super().insights()


def test_an_optimization_tick_reads_the_ads_spend_once_for_the_kill_rule_and_the_allocation(
        make_agent: MakeAgent) -> None:
    ads = _CountingAds(2, 4)
    runs = [RunSpec("mk", 0, "greedy", {"marketing.allocation": "roas_greedy", "marketing.kill_roas": 0.0}),
            RunSpec("mk", 1, "greedy", {"marketing.allocation": "roas_greedy", "marketing.kill_roas": 0.0})]
    agent = make_agent("marketing", runs, {"ads": ads})
    _start(agent, 2)
    ads.spend[:, :3] = 20_000
    _sales(agent, 1, [10_000, 30_000, 60_000])
    ads.reads = 0
    agent.handle(EventBatch.of("OPTIMIZATION_TICK", [0, 1], day=1))
    assert ads.reads == 1
    # and what was read is what the allocation used: run 1's budgets follow its ROAS (0.5, 1.5, 3.0)
    assert ads.budget[1, 2] > ads.budget[1, 1] > ads.budget[1, 0]
