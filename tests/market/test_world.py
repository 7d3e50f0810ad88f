"""The world's demand mechanics measured directly, with fixed listings and no agents deciding.

Each test lists products itself and advances the world's clock, so a price,
a budget or a parameter is the only thing that differs between paired runs
(same replicate seed: common random numbers).
"""

from __future__ import annotations

import numpy as np
import pytest

from ds1ray.cohort import build_world, resolve_runs
from ds1ray.config import Config
from ds1ray.market.world import World
from ds1ray.runspec import RunSpec

from .conftest import MakeWorld

CALM = {"market.shocks.random": False}


def _list_everything(world: World, price_cents: np.ndarray) -> None:
    n, m = price_cents.shape
    run, product = np.divmod(np.arange(n * m), m)
    world.publish(run, product, price_cents[run, product], np.full(run.size, 28), np.ones(run.size, bool))


def _run_days(world: World, days: int, budgets: np.ndarray | None = None) -> None:
    for day in range(days):
        world.begin_day(day)
        if budgets is not None:
            n, m = budgets.shape
            run, product = np.divmod(np.arange(n * m), m)
            world.set_budgets(run, product, budgets[run, product])
        world.customers()
        world.end_day(day)


def _paired(seeds: int, a: dict, b: dict) -> list[RunSpec]:
    """Runs 0..seeds−1 with overrides a, then the same seeds with overrides b."""
    return [RunSpec("world", s, "a", {**CALM, **a}) for s in range(seeds)] + \
        [RunSpec("world", s, "b", {**CALM, **b}) for s in range(seeds)]


def test_a_higher_price_sells_fewer_orders_as_the_constant_elasticity_says(make_world: MakeWorld) -> None:
    seeds, days = 32, 120
    fixed = {"market.catalog.elasticity_sd": 0.0}  # every product has the mean elasticity
    world = make_world(_paired(seeds, fixed, fixed), days)
    base = 4 * np.rint(world.catalog.ref_price[:seeds] * 25).astype(np.int64)  # divisible by 4: ×1.25 is exact
    _list_everything(world, np.concatenate([base, base * 5 // 4]))
    _run_days(world, days)
    orders = world.totals["orders"]
    low, high = orders[:seeds].sum(), orders[seeds:].sum()
    assert low > 2000  # enough orders for the ratio to mean something
    measured = np.log(high / low) / np.log(1.25)
    assert measured == pytest.approx(-2.62, abs=0.15)
    # Sessions do not depend on the price: only conversion does.
    np.testing.assert_array_equal(world.totals["sessions"][:seeds], world.totals["sessions"][seeds:])


def test_a_price_above_the_choke_price_sells_nothing(make_world: MakeWorld) -> None:
    world = make_world([RunSpec("world", s, "a", CALM) for s in range(4)], 60)
    choke = np.ceil(world.catalog.choke_multiple[:, None] * world.catalog.ref_price * 100).astype(np.int64) + 1
    _list_everything(world, choke)
    _run_days(world, 60)
    assert world.totals["sessions"].sum() > 0
    assert world.totals["checkouts"].sum() == 0 and world.totals["orders"].sum() == 0
    assert world.ledger.totals["revenue"].sum() == 0


def test_higher_cart_abandonment_means_fewer_orders_per_checkout(make_world: MakeWorld) -> None:
    seeds, days = 16, 90
    world = make_world(_paired(seeds, {"market.conversion.cart_abandonment": 0.5},
                               {"market.conversion.cart_abandonment": 0.85}), days)
    prices = np.rint(world.catalog.ref_price * 100).astype(np.int64)
    _list_everything(world, prices)
    _run_days(world, days)
    orders, checkouts = world.totals["orders"], world.totals["checkouts"]
    low = orders[:seeds].sum() / checkouts[:seeds].sum()
    high = orders[seeds:].sum() / checkouts[seeds:].sum()
    assert low == pytest.approx(0.5, abs=0.03)
    assert high == pytest.approx(0.15, abs=0.03)


def _impressions_and_clicks(world: World) -> tuple[np.ndarray, np.ndarray]:
    return world.impressions_total.sum(axis=1), world.clicks_total.sum(axis=1)


def test_hill_saturation_doubling_a_large_budget_less_than_doubles_clicks(make_world: MakeWorld) -> None:
    seeds, days = 8, 30
    rich = {"market.money.starting_cash": 10_000_000.0}  # nobody goes bankrupt and stops advertising
    world = make_world(_paired(seeds, rich, rich), days)
    _list_everything(world, np.rint(world.catalog.ref_price * 100).astype(np.int64))
    budgets = np.zeros(world.price.shape, np.int64)
    budgets[:seeds] = 100_000  # $1,000/day per product, twice the half-saturation point
    budgets[seeds:] = 200_000
    _run_days(world, days, budgets)
    impressions, clicks = _impressions_and_clicks(world)
    # Hill with slope 1 and ec = $500: h(1000) = 2/3, h(2000) = 4/5, so twice the money buys 1.2× the reach
    # (a little more while the adstock ramps up over the first days).
    assert world.alive.all()
    assert impressions[seeds:].sum() / impressions[:seeds].sum() == pytest.approx(1.2, rel=0.015)
    assert 1.1 < clicks[seeds:].sum() / clicks[:seeds].sum() < 1.3
    np.testing.assert_array_equal(world.ledger.totals["ad_spend"][seeds:], 2 * world.ledger.totals["ad_spend"][:seeds])


def test_a_small_budget_is_far_from_saturation_so_doubling_it_nearly_doubles_reach(make_world: MakeWorld) -> None:
    seeds, days = 8, 30
    world = make_world(_paired(seeds, {}, {}), days)
    _list_everything(world, np.rint(world.catalog.ref_price * 100).astype(np.int64))
    budgets = np.zeros(world.price.shape, np.int64)
    budgets[:seeds], budgets[seeds:] = 500, 1000  # $5 and $10 a day
    _run_days(world, days, budgets)
    impressions, _ = _impressions_and_clicks(world)
    assert impressions[seeds:].sum() / impressions[:seeds].sum() == pytest.approx(2 * 505 / 510, rel=0.01)


def test_adstock_spend_today_raises_reach_and_clicks_tomorrow(make_world: MakeWorld) -> None:
    seeds = 8
    world = make_world(_paired(seeds, {}, {}), 10)
    _list_everything(world, np.rint(world.catalog.ref_price * 100).astype(np.int64))
    budgets = np.zeros(world.price.shape, np.int64)
    budgets[:seeds] = 30_000  # runs 0..7 spend $300 per product on day 0 only; the others never do
    _run_days(world, 1, budgets)
    day0 = world.impressions_total.copy()
    _run_days_from(world, 1, 2, np.zeros_like(budgets))
    day1 = world.impressions_total - day0
    # Tomorrow's reach follows the normalised geometric adstock: effective = (1 − α)·α·x0, then Hill.
    traffic = world.market.traffic
    alpha, half, cpm = traffic.adstock_decay[0], traffic.hill_half_saturation[0], traffic.cpm[0]
    effective = (1 - alpha) * alpha * 300.0
    expected_day1 = 1000.0 * half / cpm / (1 + (effective / half) ** -traffic.hill_slope[0])
    np.testing.assert_allclose(day1[:seeds], expected_day1, atol=1.0)
    clicks_after_day0 = world.clicks_total.copy()
    _run_days_from(world, 2, 6, np.zeros_like(budgets))
    assert world.ledger.totals["ad_spend"][:seeds].tolist() == [30_000 * world.catalog.slots] * seeds
    assert world.clicks_total[:seeds].sum() > clicks_after_day0[:seeds].sum() > 0
    assert world.impressions_total[seeds:].sum() == 0 and world.clicks_total[seeds:].sum() == 0


def _run_days_from(world: World, first: int, last: int, budgets: np.ndarray) -> None:
    for day in range(first, last):
        world.begin_day(day)
        n, m = budgets.shape
        run, product = np.divmod(np.arange(n * m), m)
        world.set_budgets(run, product, budgets[run, product])
        world.customers()
        world.end_day(day)


def test_no_ad_budget_means_no_impressions_no_clicks_and_no_paid_orders(make_world: MakeWorld) -> None:
    world = make_world([RunSpec("world", s, "a", CALM) for s in range(8)], 60)
    _list_everything(world, np.rint(world.catalog.ref_price * 100).astype(np.int64))
    paid = 0
    organic = 0
    for day in range(60):
        world.begin_day(day)
        _, orders = world.customers()
        paid += int((orders["channel"] == 1).sum())
        organic += int((orders["channel"] == 0).sum())
        world.end_day(day)
    assert world.impressions_total.sum() == 0 and world.clicks_total.sum() == 0
    assert world.ledger.totals["ad_spend"].sum() == 0
    assert paid == 0 and organic > 0


def test_revenue_and_fees_are_posted_per_order_in_integer_cents(make_world: MakeWorld) -> None:
    world = make_world([RunSpec("world", s, "a", CALM) for s in range(4)], 40)
    _list_everything(world, np.full(world.price.shape, 2499, np.int64))
    revenue = np.zeros(4, np.int64)
    count = np.zeros(4, np.int64)
    for day in range(40):
        world.begin_day(day)
        _, orders = world.customers()
        np.add.at(revenue, orders.run, orders["amount_cents"])
        np.add.at(count, orders.run, 1)
        world.end_day(day)
    np.testing.assert_array_equal(world.ledger.totals["revenue"], revenue)
    np.testing.assert_array_equal(revenue, count * 2499)
    fee_per_order = round(2499 * 0.029) + 30  # Stripe: 2.9 % + 30¢
    np.testing.assert_array_equal(world.ledger.totals["payment_fees"], count * fee_per_order)
    world.ledger.check()


def test_ai_calls_are_served_within_the_monthly_token_budget_and_charged_in_cents(make_world: MakeWorld) -> None:
    world = make_world([RunSpec("world", 0, "a", {"market.ai.monthly_token_budget": 6000})], 40)
    task = world.ai_tasks["product_copy"]  # 420 + 180 tokens: ten calls fit in 6,000
    tokens = task.prompt_tokens + task.completion_tokens
    world.begin_day(0)
    served = world.ai_complete("product_copy", np.zeros(12, np.int64))
    assert served.sum() == 6000 // tokens and not served[6000 // tokens:].any()
    assert world.ai_refused[0] == 12 - 6000 // tokens
    world.end_day(0)
    # 10 × (420 × $0.15 + 180 × $0.60) per million tokens = $0.00171: posted as whole cents, the rest carried.
    nanodollars = 10 * (task.prompt_tokens * 150 + task.completion_tokens * 600)
    assert world.ledger.totals["ai_cost"][0] == nanodollars // 10_000_000
    assert world.ai_nanodollars[0] == nanodollars % 10_000_000
    world.begin_day(30)  # a new month: a fresh budget
    assert world.ai_complete("product_copy", np.zeros(1, np.int64)).all()
    with pytest.raises(KeyError, match="no AI fixture for task 'poem'"):
        world.ai_complete("poem", np.zeros(1, np.int64))


def test_ai_calls_of_interleaved_runs_spend_each_run_budget_in_row_order(make_world: MakeWorld) -> None:
    specs = [RunSpec("world", seed, "a", {"market.ai.monthly_token_budget": 1300}) for seed in range(3)]
    world = make_world(specs, 40)  # 600 tokens a call: two calls per run fit in 1,300
    world.begin_day(0)
    served = world.ai_complete("product_copy", np.array([2, 0, 2, 1, 0, 2, 0, 1]))
    assert served.tolist() == [True, True, True, True, True, False, False, True]
    assert world.ai_calls.tolist() == [2, 2, 2] and world.ai_refused.tolist() == [1, 0, 1]


def test_a_dispute_is_charged_back_with_its_fee_unless_the_order_was_refunded_first(make_world: MakeWorld) -> None:
    world = make_world([RunSpec("world", 0, "a", {**CALM, "market.aftercare.base_chargeback_rate": 1.0,
                                                   "market.suppliers.tiers.cheap.failure_rate": 0.0})], 80)
    world.begin_day(0)
    n = 6
    run, product, supplier = np.zeros(n, np.int64), np.zeros(n, np.int64), np.zeros(n, np.int64)
    order_id, amount = np.arange(n), np.full(n, 2000)
    placed = world.place_orders(run, product, supplier, order_id, amount)
    assert placed.accepted.all()
    world.refund(run[:2], order_id[:2], product[:2], amount[:2], np.zeros(2, np.int64))
    for day in range(1, 80):
        world.begin_day(day)
        world.refund_confirmations()
        world.end_day(day)
    # Every buyer disputes; the two refunded orders cannot be charged back; the rest cost amount + $15.
    charged = world.totals["chargeback_orders"][0]
    assert charged == n - 2
    assert world.ledger.totals["chargebacks"][0] == charged * (2000 + 1500)
    assert world.ledger.totals["refunds"][0] == 2 * 2000
    # And a charged-back order cannot be refunded afterwards.
    assert not world.refund(run[2:3], order_id[2:3], product[2:3], amount[2:3], np.zeros(1, np.int64)).any()
    world.ledger.check()


def test_an_idempotent_world_answers_a_repeated_fulfilment_order_once(config: Config) -> None:
    runs = [RunSpec("world", 0, "a", {"market.suppliers.tiers.cheap.failure_rate": 0.3})]
    world = build_world(config, resolve_runs(config, runs), runs, 30, idempotent_orders=True)
    world.begin_day(0)
    args = (np.zeros(8, np.int64), np.zeros(8, np.int64), np.zeros(8, np.int64), np.arange(8), np.full(8, 2500))
    first = world.place_orders(*args)
    cogs = world.ledger.totals["cogs"][0]
    again = world.place_orders(*args)  # a webhook delivered twice
    np.testing.assert_array_equal(again.accepted, first.accepted)
    np.testing.assert_array_equal(again.cost_cents, first.cost_cents)
    assert world.ledger.totals["cogs"][0] == cogs  # charged once
    assert 0 < first.accepted.sum() < 8
    shipped: list[int] = []
    for day in range(1, 30):
        world.begin_day(day)
        batch = world.shipped_today()
        shipped += [] if batch is None else batch["order_id"].tolist()
    assert sorted(shipped) == np.nonzero(first.accepted)[0].tolist()  # each accepted order ships once


def test_a_quote_is_the_same_asked_alone_or_with_others_and_its_errors_are_drawn_apart(make_world: MakeWorld) -> None:
    world = make_world([RunSpec("world", s, "a", CALM) for s in range(3)], 30)
    run, product = np.array([0, 1, 2, 2]), np.array([3, 3, 0, 5])
    together = world.quotes(run, product)
    for row in range(run.size):
        alone = world.quotes(run[row:row + 1], product[row:row + 1])
        for quoted, single in zip(together, alone, strict=True):
            np.testing.assert_array_equal(quoted[row], single[0])
    # The delivery days' error and the rating's come from different counters: a perfect supplier's
    # rating would otherwise be a function of its days.
    cat = world.catalog
    days_error = together[1] / (cat.processing_days[run, product] + cat.shipping_days[run, product])
    trouble = cat.defect_rate[run, product] + cat.failure_rate[run, product] \
        + cat.stockout_rate[run, product] * cat.stockout_days[run, product] / 30.0
    rating_error = (1.0 - together[2]) / np.maximum(trouble, 1e-12)
    assert not np.allclose(days_error, rating_error)
