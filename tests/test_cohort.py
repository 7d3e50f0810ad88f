"""The cohort's contract: determinism, cohort invariance, common random numbers, and books that close.

A run must give bit-identical outcomes twice, alone or inside any cohort at any
position; two strategies with one replicate seed must meet the same market; and
every run's books must close to the cent, bankrupt or not.
"""

from __future__ import annotations

import random
import typing
from collections.abc import Sequence
from dataclasses import fields
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import pytest

from ds1ray.agents import STRATEGIES
from ds1ray.cohort import Cohort, simulate
from ds1ray.config import Config, load_config
from ds1ray.market.ledger import CATEGORIES
from ds1ray.runspec import CohortResult, RunSpec

DAYS = 90


@pytest.fixture(scope="module")
def config() -> Config:
    return load_config()


def varied_runs(experiment: str = "varied") -> list[RunSpec]:
    """Runs that differ in strategy and scenario; some of them go bankrupt within the horizon."""
    return [
        RunSpec(experiment, 1),
        RunSpec(experiment, 2, "bandit", {"marketing.allocation": "bandit"}),
        RunSpec(experiment, 3, "equal", {"marketing.allocation": "equal", "store.markup": 3.5}),
        RunSpec(experiment, 1, "never_refund", {"support.refund_policy": "never"}),
        RunSpec(experiment, 4, "fast", {"supplier.selection": "fastest", "store.pricing": "competitor"}),
        RunSpec(experiment, 5, "dear_ads", {"market.traffic.cpm": 40.0, "ceo.daily_ad_budget": 150.0}),
        RunSpec(experiment, 6, "slow_ship", {"market.suppliers.tiers.cheap.shipping_days": 40.0,
                                             "support.refund_policy": "always"}),
        RunSpec(experiment, 2, "broke", {"market.money.starting_cash": 150.0, "ceo.daily_ad_budget": 400.0,
                                         "ceo.cash_reserve": 0.0}),
        RunSpec(experiment, 7, "broke_greedy", {"market.money.starting_cash": 100.0, "ceo.daily_ad_budget": 300.0,
                                                "ceo.cash_reserve": 0.0, "marketing.kill_after_spend": 1000.0}),
        RunSpec(experiment, 8, "reliable", {"supplier.selection": "most_reliable", "ops.on_stockout": "wait",
                                            "market.conversion.cart_abandonment": 0.8}),
    ]


class _Tables(NamedTuple):
    runs: pd.DataFrame
    daily: pd.DataFrame


def _rows(result: CohortResult | _Tables, run_id: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    runs = result.runs[result.runs["run_id"] == run_id].reset_index(drop=True)
    daily = result.daily[result.daily["run_id"] == run_id].reset_index(drop=True)
    return runs, daily


def _assert_same_runs(a: CohortResult | _Tables, b: CohortResult, run_ids: Sequence[str]) -> None:
    for run_id in run_ids:
        runs_a, daily_a = _rows(a, run_id)
        runs_b, daily_b = _rows(b, run_id)
        assert len(runs_a) == 1 and len(daily_a) > 0
        pd.testing.assert_frame_equal(runs_a, runs_b, check_exact=True)
        pd.testing.assert_frame_equal(daily_a, daily_b, check_exact=True)


@pytest.fixture(scope="module")
def varied(config: Config) -> CohortResult:
    return simulate(config, varied_runs(), DAYS)


# ------------------------------------------------------------------ determinism and invariance


def test_the_same_runs_twice_give_bit_identical_tables(config: Config, varied: CohortResult) -> None:
    again = simulate(config, varied_runs(), DAYS)
    pd.testing.assert_frame_equal(varied.runs, again.runs, check_exact=True)
    pd.testing.assert_frame_equal(varied.daily, again.daily, check_exact=True)


def test_the_varied_cohort_really_varies(varied: CohortResult) -> None:
    # Invariance below means little if the runs all did the same thing.
    assert varied.runs["final_cash"].nunique() == len(varied.runs)
    assert varied.runs["bankrupt_day"].notna().sum() >= 1
    assert varied.runs["bankrupt_day"].isna().sum() >= 5
    assert (varied.runs["orders"] > 0).sum() >= 8


def test_a_run_alone_equals_the_same_run_inside_a_varied_cohort(config: Config, varied: CohortResult) -> None:
    target = varied_runs()[1]
    alone = simulate(config, [target], DAYS)
    _assert_same_runs(alone, varied, [target.run_id])


def test_a_runs_position_in_the_cohort_does_not_matter(config: Config, varied: CohortResult) -> None:
    shuffled = varied_runs()
    random.Random(4).shuffle(shuffled)
    assert [r.run_id for r in shuffled] != [r.run_id for r in varied_runs()]
    _assert_same_runs(simulate(config, shuffled, DAYS), varied, [r.run_id for r in varied_runs()])


def test_every_run_alone_equals_itself_in_the_cohort(config: Config, varied: CohortResult) -> None:
    alone = [simulate(config, [run], DAYS) for run in varied_runs()]
    joined = _Tables(pd.concat([r.runs for r in alone], ignore_index=True),
                     pd.concat([r.daily for r in alone], ignore_index=True))
    _assert_same_runs(joined, varied, [r.run_id for r in varied_runs()])


def test_a_run_is_unchanged_by_many_other_runs_around_it(config: Config) -> None:
    target = RunSpec("crowd", 11, "greedy", {"marketing.greedy_exponent": 3.0})
    others = [RunSpec("crowd", seed, f"s{seed}", {"store.markup": 2.0 + (seed % 5) * 0.5,
                                                 "marketing.allocation": ("equal", "bandit", "roas_greedy")[seed % 3]})
              for seed in range(40)]
    crowd = [*others[:17], target, *others[17:]]
    _assert_same_runs(simulate(config, [target], 60), simulate(config, crowd, 60), [target.run_id])


# ------------------------------------------------------------------ common random numbers


def test_strategies_with_one_seed_meet_the_same_catalog_and_shocks(config: Config) -> None:
    a = Cohort(config, [RunSpec("crn", 21, "greedy")], 365)
    b = Cohort(config, [RunSpec("crn", 21, "bandit", {"marketing.allocation": "bandit", "store.markup": 4.0})], 365)
    for field in fields(a.world.catalog):
        np.testing.assert_array_equal(getattr(a.world.catalog, field.name), getattr(b.world.catalog, field.name),
                                      err_msg=field.name)
    for name in ("traffic", "conversion", "cpm"):
        np.testing.assert_array_equal(getattr(a.world.shocks, name), getattr(b.world.shocks, name))
    assert sorted(a.world.shocks.announcements) == sorted(b.world.shocks.announcements)
    for stream in ("demand", "orders", "stock", "quotes"):
        np.testing.assert_array_equal(a.world.streams[stream].keys, b.world.streams[stream].keys)
    # Their own randomness (a bandit's draws) differs: only decisions separate them.
    assert not np.array_equal(a.agents["marketing"].ctx.streams["bandit"].keys,
                              b.agents["marketing"].ctx.streams["bandit"].keys)


def test_different_seeds_meet_different_markets(config: Config) -> None:
    cohort = Cohort(config, [RunSpec("crn", 21), RunSpec("crn", 22)], 365)
    catalog = cohort.world.catalog
    assert not np.array_equal(catalog.launch[0], catalog.launch[1])
    assert not np.array_equal(catalog.ref_price[0], catalog.ref_price[1])


def test_strategies_that_differ_only_in_price_meet_the_same_shoppers_day_by_day(config: Config) -> None:
    # Without ads, sessions do not depend on price: two markups with one seed see the same visitors
    # every day, and differ only in how many of them buy.
    runs = [RunSpec("crn", s, "m2", {"store.markup": 2.0, "ceo.daily_ad_budget": 0.0}) for s in range(6)] + \
        [RunSpec("crn", s, "m4", {"store.markup": 4.0, "ceo.daily_ad_budget": 0.0}) for s in range(6)]
    result = simulate(config, runs, 60)
    sessions = result.daily["sessions"].to_numpy().reshape(12, 60)
    np.testing.assert_array_equal(sessions[:6], sessions[6:])
    revenue = result.runs["revenue"].to_numpy()
    assert not np.array_equal(revenue[:6], revenue[6:])


def test_paired_differences_vary_less_than_unpaired_ones(config: Config) -> None:
    seeds = 32
    runs = [RunSpec("crn", s, "markup_2.5") for s in range(seeds)] + \
        [RunSpec("crn", s, "markup_3.0", {"store.markup": 3.0}) for s in range(seeds)]
    profit = simulate(config, runs, 120).runs["net_profit"].to_numpy()
    a, b = profit[:seeds], profit[seeds:]
    paired = np.var(a - b, ddof=1)
    unpaired = np.var(a, ddof=1) + np.var(b, ddof=1)  # the variance of a difference of independent runs
    assert paired < 0.5 * unpaired


# ------------------------------------------------------------------ the books


def _cents(series: pd.Series) -> np.ndarray:
    return np.rint(series.to_numpy(dtype=float) * 100).astype(np.int64)


def test_every_run_closes_its_books_to_the_cent(varied: CohortResult) -> None:
    runs = varied.runs
    expected = _cents(runs["starting_cash"]) + _cents(runs["revenue"])
    for category in CATEGORIES[1:]:
        expected -= _cents(runs[category])
    np.testing.assert_array_equal(_cents(runs["final_cash"]), expected)
    profit = _cents(runs["final_cash"]) - _cents(runs["starting_cash"])
    np.testing.assert_array_equal(_cents(runs["net_profit"]), profit)
    # The last day's cash in the daily table is the final cash.
    last = varied.daily.groupby("run_id", sort=False)["cash"].last()
    np.testing.assert_array_equal(_cents(last.loc[runs["run_id"]]), _cents(runs["final_cash"]))


def test_revenue_never_exceeds_the_market_ceiling(varied: CohortResult) -> None:
    runs = varied.runs
    assert (_cents(runs["revenue"]) <= _cents(runs["market_ceiling"])).all()
    assert (runs["market_ceiling"] > 0).all()


def test_no_quantity_that_cannot_be_negative_is_negative(varied: CohortResult) -> None:
    runs, daily = varied.runs, varied.daily
    for name in (*CATEGORIES, "starting_cash", "orders", "tickets", "conversion_rate", "refund_rate",
                 "market_ceiling"):
        assert (runs[name] >= 0).all(), name
    for name in ("revenue", "ad_spend", "orders", "sessions", "checkouts", "refunds", "tickets", "active_products"):
        assert (daily[name] >= 0).all(), name
    assert (daily["checkouts"] >= daily["orders"]).all()  # an order is a checkout that was not abandoned
    assert ((runs["conversion_rate"] <= 1) & (runs["refund_rate"] <= 1)).all()


def test_after_bankruptcy_nothing_changes(config: Config) -> None:
    cohort = Cohort(config, varied_runs(), DAYS)
    frozen: dict[int, dict[str, int]] = {}
    while cohort.day < DAYS:
        cohort.step()
        world = cohort.world
        for row in np.nonzero(~world.alive)[0].tolist():
            snapshot = {c: int(world.ledger.totals[c][row]) for c in CATEGORIES}
            snapshot["cash"] = int(world.ledger.cash[row])
            snapshot.update({k: int(v[row]) for k, v in world.totals.items()})
            if row in frozen:
                assert snapshot == frozen[row], f"run {row} changed after bankruptcy on day {cohort.day - 1}"
            else:
                frozen[row] = snapshot
    assert frozen, "the varied cohort should hold at least one bankruptcy"
    result = cohort.result()
    for _, run in result.runs.iterrows():
        if pd.isna(run["bankrupt_day"]):
            continue
        day = int(run["bankrupt_day"])
        after = result.daily[(result.daily["run_id"] == run["run_id"]) & (result.daily["day"] > day)]
        assert len(after) > 0
        assert (after["cash"] == run["final_cash"]).all()
        for name in ("revenue", "ad_spend", "orders", "sessions", "checkouts", "refunds", "tickets",
                     "active_products"):
            assert (after[name] == 0).all(), (run["run_id"], name)
        # Bankruptcy means ten days in the red in a row.
        before = result.daily[(result.daily["run_id"] == run["run_id"]) & (result.daily["day"] <= day)]
        assert (before["cash"].tail(10) < 0).all()


def _random_strategy(rng: np.random.Generator) -> dict[str, Any]:
    """Every agent's every parameter drawn inside its declared bounds or choices."""
    overrides: dict[str, Any] = {}
    for agent_id, model in STRATEGIES.items():
        for name, info in model.model_fields.items():
            choices = typing.get_args(info.annotation)
            bounds = {type(m).__name__: getattr(m, type(m).__name__.lower()) for m in info.metadata}
            if info.annotation is bool:
                value: Any = bool(rng.integers(2))
            elif choices:
                value = choices[rng.integers(len(choices))]
            elif info.annotation is int:
                value = int(rng.integers(bounds.get("Ge", 0), min(bounds.get("Le", 100), 400) + 1))
            else:
                # Budgets and thresholds up to a few thousand dollars: large enough to bankrupt some runs.
                value = float(rng.uniform(bounds.get("Ge", 0.0), min(bounds.get("Le", 10.0), 2000.0)))
            overrides[f"{agent_id}.{name}"] = value
    return overrides


def test_random_strategies_inside_their_bounds_cannot_create_money(config: Config) -> None:
    rng = np.random.default_rng(2024)
    runs = [RunSpec("random", seed, f"random{seed}", _random_strategy(rng)) for seed in range(16)]
    result = simulate(config, runs, 60)  # the ledger checks the identity for every run before returning
    r = result.runs
    assert (_cents(r["revenue"]) <= _cents(r["market_ceiling"])).all()
    expected = _cents(r["starting_cash"]) + _cents(r["revenue"])
    for category in CATEGORIES[1:]:
        expected -= _cents(r[category])
    np.testing.assert_array_equal(_cents(r["final_cash"]), expected)
    # Profit needs revenue: whatever a strategy does, the only money in is what customers paid.
    assert (r["net_profit"] <= r["revenue"]).all()
    assert r["strategy"].nunique() == 16
