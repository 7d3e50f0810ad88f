"""Store: prices pages by markup or competitors, never below landed cost × 1.15, and retires killed products."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from ds1ray.agents.store import FLOOR_OVER_COST, Store
from ds1ray.cohort import Cohort
from ds1ray.events.batch import EventBatch
from ds1ray.events.contracts import CAMPAIGN_STATUS_CODES
from ds1ray.runspec import RunSpec

from .conftest import published

KILLED = CAMPAIGN_STATUS_CODES.index("killed")


def _sourced(run: np.ndarray, product: np.ndarray, cost: np.ndarray) -> EventBatch:
    return EventBatch.of("SUPPLIER_ORDER_PLACED", run, kind=0, product=product, supplier=0, order_id=-1,
                         unit_cost_cents=cost, promised_days=20)


def _every_slot(cohort: Cohort) -> tuple[np.ndarray, np.ndarray]:
    runs, slots = cohort.world.runs, cohort.world.catalog.slots
    return np.repeat(np.arange(runs), slots), np.tile(np.arange(slots), runs)


@pytest.mark.parametrize("markup", [1.0, 1.6, 2.5, 4.0])
def test_markup_prices_end_in_99_cents_at_the_first_such_price_near_cost_times_markup(
        markup: float, cohort_on_day_zero: Callable[..., Cohort]) -> None:
    cohort = cohort_on_day_zero([RunSpec("store", s, "m", {"store.markup": markup}) for s in range(8)])
    run, product = _every_slot(cohort)
    cost = np.random.default_rng(int(markup * 10)).integers(50, 20_000, run.size)
    pages = published(cohort.agents["store"].handle(_sourced(run, product, cost)), "PAGE_PUBLISHED")
    assert pages is not None and len(pages) == run.size
    price = pages["price_cents"]
    target = np.maximum(cost * markup, cost * FLOOR_OVER_COST)
    assert (price % 100 == 99).all()
    assert (price >= target - 1).all() and (price < target + 100).all()
    world = cohort.world
    np.testing.assert_array_equal(world.price[run, product], price)
    assert world.listed[run, product].all()
    np.testing.assert_array_equal(world.promised_days[run, product], 28)  # the strategy's promise, not the quote


def test_prices_never_fall_below_landed_cost_times_1_15(cohort_on_day_zero: Callable[..., Cohort]) -> None:
    cohort = cohort_on_day_zero([RunSpec("store", 0, "thin", {"store.markup": 1.0})])
    cost = np.array([2000, 4000, 20_000, 1999])
    pages = published(cohort.agents["store"].handle(_sourced(np.zeros(4, np.int64), np.arange(4), cost)),
                      "PAGE_PUBLISHED")
    assert pages is not None
    assert (pages["price_cents"] >= cost * FLOOR_OVER_COST).all(), pages["price_cents"]


def test_competitor_pricing_follows_the_competitor_price_and_respects_the_floor(
        cohort_on_day_zero: Callable[..., Cohort]) -> None:
    delta = -0.1
    cohort = cohort_on_day_zero([RunSpec("store", s, "comp", {"store.pricing": "competitor",
                                                               "store.competitor_delta": delta}) for s in range(4)])
    run, product = _every_slot(cohort)
    competitor = cohort.ports["competitor"].prices(run, product)
    # Half the products cost little (the competitor rule decides), half cost more than competitors charge.
    cost = np.where(product % 2 == 0, competitor // 4, competitor)
    pages = published(cohort.agents["store"].handle(_sourced(run, product, cost)), "PAGE_PUBLISHED")
    assert pages is not None
    target = np.maximum(competitor * (1 + delta), cost * FLOOR_OVER_COST)
    price = pages["price_cents"]
    assert (price >= target - 1).all() and (price < target + 100).all()
    cheap = product % 2 == 0
    assert (price[cheap] < competitor[cheap]).all()  # undercuts competitors where the margin allows
    assert (price[~cheap] >= competitor[~cheap] * FLOOR_OVER_COST - 1).all()  # never sells at a loss to match


def test_competitor_pricing_reprices_on_its_schedule_as_the_market_price_erodes(
        cohort_on_day_zero: Callable[..., Cohort]) -> None:
    cohort = cohort_on_day_zero([RunSpec("store", 5, "comp", {"store.pricing": "competitor",
                                                               "store.reprice_every_days": 7})], days=200)
    store, world = cohort.agents["store"], cohort.world
    launched = np.nonzero(world.catalog.launch[0] < -20)[0][:2]  # products already eroding
    run = np.zeros(launched.size, np.int64)
    store.handle(_sourced(run, launched, np.full(launched.size, 100)))
    first = world.price[0, launched].copy()
    for day in (3, 120):
        world.begin_day(day)
        store.handle(EventBatch.of("DAILY_TICK", [0], day=day))
        if day == 3:
            np.testing.assert_array_equal(world.price[0, launched], first)  # not due yet
    assert (world.price[0, launched] < first).all()  # competitors cut prices; so did the store


def test_a_killed_campaign_takes_its_page_down_for_good(cohort_on_day_zero: Callable[..., Cohort]) -> None:
    cohort = cohort_on_day_zero([RunSpec("store", 0)])
    store, world = cohort.agents["store"], cohort.world
    store.handle(_sourced(np.zeros(2, np.int64), np.arange(2), np.array([500, 700])))
    store.handle(EventBatch.of("CAMPAIGN_OPTIMIZED", [0], product=[1], daily_budget_cents=0, status=KILLED))
    assert world.listed[0, 0] and not world.listed[0, 1]
    again = store.handle(_sourced(np.zeros(1, np.int64), np.array([1]), np.array([700])))
    assert published(again, "PAGE_PUBLISHED") is None and not world.listed[0, 1]


def test_only_sourcing_orders_list_products_and_set_their_landed_cost(
        cohort_on_day_zero: Callable[..., Cohort]) -> None:
    cohort = cohort_on_day_zero([RunSpec("store", s, "m", {}) for s in range(2)])
    store = cohort.agents["store"]
    assert isinstance(store, Store)
    fulfilment = EventBatch.of("SUPPLIER_ORDER_PLACED", [0, 1], kind=1, product=[2, 3], supplier=0, order_id=[7, 8],
                               unit_cost_cents=[500, 600], promised_days=20)
    assert published(store.handle(fulfilment), "PAGE_PUBLISHED") is None
    assert not store.listed.any() and not store.landed_cost.any()
    mixed = EventBatch.concat([fulfilment, _sourced(np.array([1]), np.array([4]), np.array([900]))])
    pages = published(store.handle(mixed), "PAGE_PUBLISHED")
    assert pages is not None
    assert pages.run.tolist() == [1] and pages["product"].tolist() == [4]
    assert store.landed_cost[1, 4] == 900 and store.landed_cost.sum() == 900
