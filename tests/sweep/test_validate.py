"""Checking an experiment against the real configuration before anything runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from ds1ray.sweep.experiment import ExperimentError, load_experiment
from ds1ray.sweep.validate import check_overrides, scenario_config
from tests.sweep.conftest import WriteExperiment

REPO = Path(__file__).resolve().parents[2]

VALID = """
name: check
scenario:
  overrides: {market.money.starting_cash: 5000.0}
  script:
    - {day: 20, kind: market_crash}
strategies:
  baseline: {}
  bandit: {marketing.allocation: bandit}
space:
  grid:
    ceo.daily_ad_budget: [50.0, 150.0]
  lhs:
    n: 4
    params:
      market.traffic.cpm: {low: 8.0, high: 20.0}
replicates: {seeds: 2}
days: 10
"""


def _check(path: Path) -> int:
    experiment = load_experiment(path)
    return check_overrides(experiment, scenario_config(experiment), experiment.points())


def test_a_valid_experiment_checks_each_distinct_override_set_once(write_experiment: WriteExperiment) -> None:
    assert _check(write_experiment(VALID)) == 2 * 4 * 2


def test_the_scenario_overrides_and_script_reach_the_configuration(write_experiment: WriteExperiment) -> None:
    config = scenario_config(load_experiment(write_experiment(VALID))).to_dict()
    market = config["bootstrap"]["market"]
    assert market["money"]["starting_cash"] == 5000.0
    assert market["shocks"]["script"] == [{"day": 20, "kind": "market_crash"}]


@pytest.mark.parametrize(
    "old, new, where, problem",
    [
        (
            "bandit: {marketing.allocation: bandit}",
            "bandit: {marketing.allocaton: bandit}",
            ":8: strategies.bandit.marketing.allocaton",
            "unknown parameter of marketing",
        ),
        (
            "bandit: {marketing.allocation: bandit}",
            "bandit: {marketing.allocation: lottery}",
            ":8: strategies.bandit.marketing.allocation",
            "with strategy 'bandit'",
        ),
        (
            "ceo.daily_ad_budget: [50.0, 150.0]",
            "ceo.daily_ad_budget: [50.0, -1.0]",
            ":11: space.grid.ceo.daily_ad_budget",
            "greater than or equal to 0",
        ),
        (
            "market.traffic.cpm: {low: 8.0, high: 20.0}",
            "market.traffic.cpm: {low: -8.0, high: 20.0}",
            ":15: space.lhs.params.market.traffic.cpm",
            "greater than or equal to 0.5",
        ),
        (
            "overrides: {market.money.starting_cash: 5000.0}",
            "overrides: {market.money.cash: 5000.0}",
            ":3: scenario.overrides.market.money.cash",
            "market.money.cash",
        ),
        (
            "- {day: 20, kind: market_crash}",
            "- {day: 20, kind: market_crash}\n  overlay: nowhere.yaml",
            "scenario.overlay",
            "does not exist",
        ),
    ],
)
def test_a_bad_override_stops_the_sweep_with_the_file_line_and_key_where_it_was_set(
    write_experiment: WriteExperiment, old: str, new: str, where: str, problem: str
) -> None:
    assert old in VALID
    with pytest.raises(ExperimentError) as caught:
        _check(write_experiment(VALID.replace(old, new)))
    message = str(caught.value)
    assert where in message and problem in message, message
    assert "\n" not in message


@pytest.mark.parametrize("name", sorted(p.name for p in (REPO / "experiments").glob("*.yaml")))
def test_every_shipped_experiment_loads_and_its_overrides_apply(name: str) -> None:
    assert _check(REPO / "experiments" / name) >= 1
