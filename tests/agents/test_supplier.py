"""Supplier: picks the cheapest, fastest or most reliable quote, pays for a sample, re-sources on stock-outs."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from ds1ray.agents.supplier import Supplier
from ds1ray.cohort import Cohort
from ds1ray.events.batch import EventBatch
from ds1ray.runspec import RunSpec

from .conftest import published

RULES = ("cheapest", "fastest", "most_reliable")


def _ideas(runs: int, products: int) -> EventBatch:
    run, product = np.repeat(np.arange(runs), products), np.tile(np.arange(products), runs)
    return EventBatch.of("PRODUCT_IDEAS", run, product=product, score=0.5, competitor_price_cents=2999)


def test_selection_picks_the_best_quote_by_its_rule(cohort_on_day_zero: Callable[..., Cohort]) -> None:
    cohort = cohort_on_day_zero([RunSpec("sup", 3, rule, {"supplier.selection": rule}) for rule in RULES])
    world, products = cohort.world, cohort.world.catalog.slots
    ideas = _ideas(len(RULES), products)
    placed = published(cohort.agents["supplier"].handle(ideas), "SUPPLIER_ORDER_PLACED")
    assert placed is not None and len(placed) == len(ideas)
    cost, days, rating = world.quotes(ideas.run, ideas["product"])
    best = {"cheapest": np.argmin(cost, axis=1), "fastest": np.argmin(days, axis=1),
            "most_reliable": np.argmax(rating, axis=1)}
    for run, rule in enumerate(RULES):
        mine = placed.run == run
        np.testing.assert_array_equal(placed["supplier"][mine], best[rule][ideas.run == run], err_msg=rule)
    # The choices really differ between rules on this catalog: the test can tell them apart.
    assert len({tuple(placed["supplier"][placed.run == run]) for run in range(len(RULES))}) == 3
    rows = np.arange(len(ideas))
    np.testing.assert_array_equal(placed["unit_cost_cents"], cost[rows, placed["supplier"]])
    np.testing.assert_array_equal(placed["promised_days"], np.ceil(days[rows, placed["supplier"]]))


def test_sourcing_buys_one_sample_per_product_at_its_landed_cost(cohort_on_day_zero: Callable[..., Cohort]) -> None:
    cohort = cohort_on_day_zero([RunSpec("sup", 1)])
    placed = published(cohort.agents["supplier"].handle(_ideas(1, 3)), "SUPPLIER_ORDER_PLACED")
    assert placed is not None
    assert cohort.world.ledger.totals["cogs"][0] == placed["unit_cost_cents"].sum()
    cohort.world.ledger.check()


@pytest.mark.parametrize(("on_stockout", "switches"), [("switch", True), ("keep", False)])
def test_a_stock_out_at_the_current_supplier_switches_or_waits(
        on_stockout: str, switches: bool, cohort_on_day_zero: Callable[..., Cohort]) -> None:
    cohort = cohort_on_day_zero([RunSpec("sup", 2, on_stockout, {"supplier.on_stockout": on_stockout})])
    supplier, world = cohort.agents["supplier"], cohort.world
    assert isinstance(supplier, Supplier)
    supplier.handle(_ideas(1, 2))
    current = supplier.current[0, :2].copy()
    world.stockout_until[0, 0, current[0]] = 10  # product 0's supplier is out of stock for ten days
    low = EventBatch.of("INVENTORY_LOW", [0, 0], product=[0, 0], supplier=[current[0], current[0]], backorder_days=0)
    placed = published(supplier.handle(low), "SUPPLIER_ORDER_PLACED")
    if switches:
        assert placed is not None and len(placed) == 1  # one switch even if two orders reported it
        assert placed["product"][0] == 0 and placed["supplier"][0] != current[0]
        assert supplier.current[0, 0] == placed["supplier"][0]
    else:
        assert placed is None and supplier.current[0, 0] == current[0]
    assert supplier.current[0, 1] == current[1]
