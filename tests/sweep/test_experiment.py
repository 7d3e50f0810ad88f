"""Experiment files: what they expand to, and the one clear error for each kind of mistake."""

from __future__ import annotations

import pytest

from ds1ray.sweep.experiment import SCRIPT_PATH, ExperimentError, experiment_hash, load_experiment
from tests.sweep.conftest import WriteExperiment

MINIMAL = """
name: demo
strategies:
  baseline: {}
  equal: {marketing.allocation: equal}
space:
  grid:
    market.traffic.cpm: [10.0, 20.0]
replicates: {seeds: 3, first_seed: 100}
days: 30
"""


def test_every_point_and_strategy_runs_with_the_same_replicate_seeds(
    write_experiment: WriteExperiment,
) -> None:
    experiment = load_experiment(write_experiment(MINIMAL))
    runs = experiment.run_specs()
    assert len(runs) == 2 * 2 * 3
    by_cell: dict[tuple, list[int]] = {}
    for run in runs:
        by_cell.setdefault((run.strategy, run.overrides["market.traffic.cpm"]), []).append(run.seed)
    assert set(map(tuple, by_cell.values())) == {(100, 101, 102)}


def test_runs_carry_strategy_overrides_and_the_space_point(
    write_experiment: WriteExperiment,
) -> None:
    runs = load_experiment(write_experiment(MINIMAL)).run_specs()
    equal = [r for r in runs if r.strategy == "equal"]
    assert all(r.overrides["marketing.allocation"] == "equal" for r in equal)
    assert {r.overrides["market.traffic.cpm"] for r in equal} == {10.0, 20.0}


def test_run_ids_are_unique_and_stable_across_loads(write_experiment: WriteExperiment) -> None:
    path = write_experiment(MINIMAL)
    first = [r.run_id for r in load_experiment(path).run_specs()]
    assert len(set(first)) == len(first)
    assert first == [r.run_id for r in load_experiment(path).run_specs()]


def test_a_scenario_script_becomes_a_fixed_override(write_experiment: WriteExperiment) -> None:
    path = write_experiment(MINIMAL + "scenario:\n  script:\n    - {day: 40, kind: market_crash}\n")
    assert load_experiment(path).scenario_overrides() == {SCRIPT_PATH: [{"day": 40, "kind": "market_crash"}]}


def test_a_scenario_script_may_live_in_its_own_file(write_experiment: WriteExperiment) -> None:
    write_experiment("- {day: 5, kind: price_war}\n", name="shocks.yaml")
    path = write_experiment(MINIMAL + "scenario:\n  script: shocks.yaml\n")
    assert load_experiment(path).scenario_overrides()[SCRIPT_PATH] == [{"day": 5, "kind": "price_war"}]


def test_the_hash_changes_with_what_decides_results_but_not_with_the_description(
    write_experiment: WriteExperiment,
) -> None:
    base = experiment_hash(load_experiment(write_experiment(MINIMAL)), {"k": 1})
    described = load_experiment(write_experiment(MINIMAL + "description: words\n"))
    more_days = load_experiment(write_experiment(MINIMAL.replace("days: 30", "days: 31")))
    assert experiment_hash(described, {"k": 1}) == base
    assert experiment_hash(more_days, {"k": 1}) != base
    assert experiment_hash(described, {"k": 2}) != base


@pytest.mark.parametrize(
    "text, where, problem",
    [
        (MINIMAL + "dayz: 3\n", ":10: dayz", "unknown key"),
        (MINIMAL.replace("days: 30\n", ""), "experiment.yaml", "days: required key is missing"),
        (
            MINIMAL.replace("seeds: 3", "seeds: 0"),
            ":8: replicates.seeds",
            "greater than or equal to 1",
        ),
        (MINIMAL.replace("name: demo", "name: ../up"), ":1: name", "should match pattern"),
        (
            MINIMAL.replace("equal: {marketing.allocation: equal}", "equal: {allocation: equal}"),
            ":4: strategies.equal.allocation",
            "not a dotted parameter path",
        ),
        (
            MINIMAL.replace("equal: {marketing.allocation: equal}", "equal: {market.traffic.cpm: 3}"),
            ":4: strategies.equal.market.traffic.cpm",
            "also swept by the space",
        ),
        (
            MINIMAL.replace("space:\n", "space:\n  lhs: {n: 4, params: {store.markup: {low: 1}}}\n"),
            ":6: space.lhs.params.store.markup",
            "a range needs both low and high",
        ),
        (
            MINIMAL.replace(
                "strategies:\n  baseline: {}\n  equal: {marketing.allocation: equal}\n",
                "strategies: {}\n",
            ),
            ":2: strategies",
            "at least 1 item",
        ),
        (MINIMAL + "scenario: {script: missing.yaml}\n", "scenario.script", "does not exist"),
        (
            MINIMAL + "scenario:\n  script:\n    - {day: soon, kind: price_war}\n",
            ":12: scenario.script.0.day",
            "valid integer",
        ),
        (MINIMAL + "  bad: [\n", "experiment.yaml", "invalid YAML"),
    ],
)
def test_each_kind_of_bad_experiment_gets_one_error_naming_file_line_and_key(
    write_experiment: WriteExperiment, text: str, where: str, problem: str
) -> None:
    path = write_experiment(text)
    with pytest.raises(Exception) as caught:
        load_experiment(path)
    message = str(caught.value)
    assert isinstance(caught.value, ExperimentError) or "invalid YAML" in message
    assert where in message and problem in message
    assert "\n" not in message


def test_a_missing_experiment_file_is_named(tmp_path) -> None:
    with pytest.raises(Exception, match=r"nope\.yaml: file not found"):
        load_experiment(tmp_path / "nope.yaml")
