"""The `tune:` section: parameters must be strategy parameters inside their declared bounds."""

from __future__ import annotations

import pytest

from ds1ray.sweep import ExperimentError
from ds1ray.tune import load_tune, parse_param
from ds1ray.tune.spec import bounds_problem

HEAD = """
name: t
strategies:
  baseline: {}
  bold: {ceo.daily_ad_budget: 120.0}
replicates: {seeds: 2}
days: 10
"""


def test_a_valid_section_loads_with_its_defaults(write_yaml) -> None:
    path = write_yaml(HEAD + "tune:\n  params:\n    marketing.kill_roas: {low: 0.5, high: 3.0}\n")
    experiment, spec = load_tune(path)
    assert experiment.name == "t"
    assert spec.objective == "lcb"
    assert spec.trials == 20
    assert spec.params["marketing.kill_roas"].high == 3.0


def test_a_range_beyond_the_declared_bound_names_file_line_and_bound(write_yaml) -> None:
    path = write_yaml(HEAD + "tune:\n  params:\n    marketing.kill_roas: {low: 0.5, high: 20.0}\n")
    with pytest.raises(ExperimentError) as caught:
        load_tune(path)
    message = str(caught.value)
    assert f"{path}:9: tune.params.marketing.kill_roas: 20.0 is outside" in message
    assert "≤ 10" in message


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("market.traffic.cpm: {low: 8, high: 20}", "not a strategy parameter"),
        ("marketing.allocation: {low: 1, high: 2}", "search it with choices"),
        ("marketing.allocation: {choices: [equal, psychic]}", "'psychic' is outside"),
        ("store.reprice_every_days: {low: 0, high: 30, integer: true}", "0.0 is outside"),
    ],
)
def test_parameters_outside_the_strategy_models_are_refused(write_yaml, line: str, problem: str) -> None:
    path = write_yaml(HEAD + f"tune:\n  params:\n    {line}\n")
    with pytest.raises(ExperimentError, match=problem):
        load_tune(path)


def test_nothing_to_search_is_an_error(write_yaml) -> None:
    with pytest.raises(ExperimentError, match="nothing to search"):
        load_tune(write_yaml(HEAD))


def test_an_unknown_base_strategy_names_the_strategies(write_yaml) -> None:
    path = write_yaml(HEAD + "tune:\n  base: timid\n  params:\n    marketing.kill_roas: {low: 1, high: 2}\n")
    with pytest.raises(ExperimentError, match="no strategy 'timid'; strategies: baseline, bold"):
        load_tune(path)


def test_unknown_keys_in_the_section_are_refused(write_yaml) -> None:
    path = write_yaml(HEAD + "tune:\n  trails: 4\n")
    with pytest.raises(ExperimentError, match=r"tune\.trails: unknown key"):
        load_tune(path)


def test_command_line_params_add_to_the_file(write_yaml) -> None:
    path = write_yaml(HEAD)
    _, spec = load_tune(path, dict([parse_param("ceo.daily_ad_budget=10:200:log")]))
    budget = spec.params["ceo.daily_ad_budget"]
    assert (budget.low, budget.high, budget.log) == (10.0, 200.0, True)


def test_param_flags_read_ranges_integers_and_choices() -> None:
    assert parse_param("research.products_to_test=1:4:int")[1].integer
    assert parse_param("marketing.allocation=equal,bandit")[1].choices == ["equal", "bandit"]
    assert parse_param("support.use_ai_replies=true,false")[1].choices == [True, False]
    with pytest.raises(ExperimentError, match="expected PATH=LOW:HIGH"):
        parse_param("marketing.kill_roas")
    with pytest.raises(ExperimentError, match="low"):
        parse_param("marketing.kill_roas=3:1")


def test_bounds_are_read_from_the_strategy_models() -> None:
    from ds1ray.sweep.space import Distribution

    assert bounds_problem("store.markup", Distribution(low=1.0, high=6.0)) is None
    assert "outside" in str(bounds_problem("store.markup", Distribution(low=0.5, high=6.0)))
