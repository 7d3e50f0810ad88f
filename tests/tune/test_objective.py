"""A trial: one cohort over all replicate seeds, scored by mean and the lower 95 % bound."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from scipy import stats

import ds1ray.cohort
from ds1ray.config import load_config
from ds1ray.tune import TrialSetup, evaluate, score


@pytest.fixture(scope="module")
def setup() -> TrialSetup:
    points = ({"market.traffic.cpm": 10.0}, {"market.traffic.cpm": 20.0})
    return TrialSetup(load_config(), "objective-test", (1, 2, 3), points, 15, {"ceo.daily_ad_budget": 30.0})


def test_lcb_is_the_lower_end_of_the_t_interval_over_seeds() -> None:
    values = np.array([100.0, 140.0, 90.0, 130.0])
    result = score(values)
    half = stats.t.ppf(0.975, 3) * values.std(ddof=1) / 2
    assert result["mean"] == pytest.approx(115.0)
    assert result["lcb"] == pytest.approx(115.0 - half)
    assert result["ucb"] == pytest.approx(115.0 + half)
    assert np.isnan(score(np.array([5.0]))["lcb"])


def test_a_trial_simulates_all_its_seeds_and_points_in_one_cohort(
    setup: TrialSetup, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    real = ds1ray.cohort.simulate

    def counting(config: Any, runs: Any, days: int) -> Any:
        calls.append(len(runs))
        return real(config, runs, days)

    monkeypatch.setattr(ds1ray.cohort, "simulate", counting)
    result = evaluate(setup, {"marketing.allocation": "bandit"})
    assert calls == [6]  # 3 seeds × 2 points, one call
    assert result["runs"] == 6
    assert result["seeds"] == 3


def test_every_trial_meets_the_same_markets(setup: TrialSetup) -> None:
    one = setup.run_specs({"marketing.kill_roas": 0.5})
    other = setup.run_specs({"marketing.kill_roas": 2.5})
    assert [r.market_key for r in one] == [r.market_key for r in other]
    assert [r.run_id for r in one] != [r.run_id for r in other]
    assert all(r.overrides["ceo.daily_ad_budget"] == 30.0 for r in one)


def test_the_score_is_the_mean_over_seeds_of_each_seeds_mean_over_points(setup: TrialSetup) -> None:
    runs = ds1ray.cohort.simulate(setup.config, setup.run_specs({}), setup.days).runs
    per_seed = runs.groupby("seed")["net_profit"].mean()
    result = evaluate(setup, {})
    assert result["mean"] == pytest.approx(per_seed.mean())
    assert result["sd"] == pytest.approx(per_seed.std(ddof=1))
