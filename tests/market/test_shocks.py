"""Market shocks: scripted, random and holiday; their windows, multipliers and announcements."""

from __future__ import annotations

import numpy as np
import pytest

from ds1ray.config import Config
from ds1ray.market.params import ScriptedShock, ShockParams
from ds1ray.market.shocks import HOLIDAY, ShockPlan, plan_shocks
from ds1ray.market.stack import Stacked
from ds1ray.seeding import Stream, market_key


def _plan(params: ShockParams, runs: int, days: int, first_seed: int = 0) -> ShockPlan:
    keys = np.array([market_key(first_seed + i) for i in range(runs)], np.uint64)
    return plan_shocks(Stacked([params] * runs), Stream(keys, "shocks"), days)


def _scripted(config: Config, *entries: tuple[int, str], **changes: object) -> ShockParams:
    base = config.bootstrap.market.shocks
    script = [ScriptedShock(day=day, kind=kind) for day, kind in entries]
    return base.model_copy(update={"random": False, "script": script, **changes})


def test_a_scripted_crash_multiplies_traffic_conversion_and_cpm_for_exactly_its_days(config: Config) -> None:
    plan = _plan(_scripted(config, (10, "market_crash")), runs=3, days=60)
    window = np.zeros(60, bool)
    window[10:31] = True  # 21 days from day 10
    for name, factor in (("traffic", 0.5), ("conversion", 0.8), ("cpm", 0.9)):
        values = getattr(plan, name)
        np.testing.assert_array_equal(values[:, window], factor)
        np.testing.assert_array_equal(values[:, ~window], 1.0)


def test_a_scripted_crash_is_announced_once_as_market_crash_on_its_day_for_every_run(config: Config) -> None:
    plan = _plan(_scripted(config, (10, "market_crash")), runs=3, days=60)
    assert list(plan.announcements) == [10]
    (batch,) = plan.announcements[10]
    assert batch.type == "MARKET_CRASH"
    np.testing.assert_array_equal(batch.run, [0, 1, 2])
    assert set(batch["kind"]) == {"market_crash"}
    np.testing.assert_array_equal(batch["days"], 21)
    np.testing.assert_array_equal(batch["traffic"], 0.5)


def test_shocks_that_are_not_crashes_are_announced_as_market_shift(config: Config) -> None:
    plan = _plan(_scripted(config, (3, "viral_trend")), runs=1, days=20)
    assert [b.type for b in plan.announcements[3]] == ["MARKET_SHIFT"]
    assert plan.traffic[0, 3:10].tolist() == [2.5] * 7 and plan.traffic[0, 10] == 1.0


def test_overlapping_shocks_multiply(config: Config) -> None:
    plan = _plan(_scripted(config, (5, "market_crash"), (10, "price_war")), runs=1, days=40)
    assert plan.conversion[0, 12] == pytest.approx(0.8 * 0.7)
    assert plan.cpm[0, 12] == pytest.approx(0.9 * 1.2)
    assert plan.conversion[0, 7] == pytest.approx(0.8)
    assert plan.conversion[0, 30] == pytest.approx(1.0)  # crash over on day 26, price war on day 24


def test_a_scripted_shock_after_the_horizon_does_nothing(config: Config) -> None:
    plan = _plan(_scripted(config, (90, "market_crash")), runs=2, days=30)
    assert (plan.traffic == 1.0).all() and plan.announcements == {}


def test_an_unknown_scripted_kind_is_refused_naming_the_known_ones(config: Config) -> None:
    with pytest.raises(ValueError, match=r"unknown shock kind 'meteor'.*market_crash"):
        _plan(_scripted(config, (1, "meteor")), runs=1, days=10)


def test_the_holiday_season_applies_its_multipliers_and_is_announced(config: Config) -> None:
    plan = _plan(_scripted(config, holiday_start_day=20, holiday_days=45), runs=2, days=100)
    assert plan.traffic[0, 19] == 1.0 and plan.traffic[0, 20] == 1.5 and plan.traffic[0, 64] == 1.5
    assert plan.traffic[0, 65] == 1.0
    assert plan.cpm[1, 30] == pytest.approx(1.4) and plan.conversion[1, 30] == pytest.approx(1.3)
    (batch,) = plan.announcements[20]
    assert batch.type == "MARKET_SHIFT" and set(batch["kind"]) == {HOLIDAY}


def test_random_shocks_start_as_often_as_their_daily_probabilities_say(config: Config) -> None:
    params = config.bootstrap.market.shocks
    runs, days = 400, 365
    plan = _plan(params, runs, days)
    starts: dict[str, int] = {}
    for batches in plan.announcements.values():
        for batch in batches:
            for kind in batch["kind"]:
                starts[kind] = starts.get(kind, 0) + 1
    for shock in params.catalogue:
        expected = shock.probability_per_day * runs * days
        assert abs(starts.get(shock.kind, 0) - expected) < 4 * np.sqrt(expected) + 1, shock.kind


def test_random_shocks_are_off_when_random_is_false(config: Config) -> None:
    plan = _plan(config.bootstrap.market.shocks.model_copy(update={"random": False}), runs=200, days=365)
    assert plan.announcements == {} and (plan.traffic == 1.0).all()


def test_a_runs_shocks_depend_on_its_seed_alone(config: Config) -> None:
    params = config.bootstrap.market.shocks
    together = _plan(params, runs=50, days=365)
    alone = _plan(params, runs=1, days=365, first_seed=17)
    np.testing.assert_array_equal(together.traffic[17], alone.traffic[0])
    np.testing.assert_array_equal(together.cpm[17], alone.cpm[0])
    assert not all(np.array_equal(together.traffic[0], together.traffic[i]) for i in range(1, 50))


def test_shocks_starting_the_same_day_are_announced_as_one_batch_per_event_type(config: Config) -> None:
    plan = _plan(_scripted(config, (5, "viral_trend"), (5, "price_war"), (5, "market_crash")), runs=2, days=30)
    batches = plan.announcements[5]
    assert sorted(b.type for b in batches) == ["MARKET_CRASH", "MARKET_SHIFT"]
    (shift,) = [b for b in batches if b.type == "MARKET_SHIFT"]
    # Rows keep the order the shocks were planned in: one row per run and shock kind.
    assert sorted(shift["kind"].tolist()) == ["price_war", "price_war", "viral_trend", "viral_trend"]
    assert sorted(shift.run.tolist()) == [0, 0, 1, 1]
