"""`apply_overrides`: the experiments' layer, validated against the same bounds as the YAML."""

from __future__ import annotations

import numpy as np
import pytest
from annotated_types import Ge, Gt, Le, Lt
from pydantic.fields import FieldInfo

from ds1ray.agents.strategies import STRATEGIES
from ds1ray.config import ConfigError, apply_overrides, load_config, parameter_paths
from ds1ray.config.model import Config
from ds1ray.config.validation import field_at
from ds1ray.market.params import MarketParams

from .conftest import REPOSITORY


@pytest.fixture(scope="module")
def config() -> Config:
    return load_config(root=REPOSITORY)


def override_error(config: Config, overrides: dict) -> str:
    with pytest.raises(ConfigError) as caught:
        apply_overrides(config, overrides)
    return str(caught.value)


def test_strategy_and_market_paths_are_set_and_the_rest_is_kept(config: Config) -> None:
    changed = apply_overrides(
        config,
        {
            "marketing.allocation": "bandit",
            "store.markup": 3.2,
            "market.traffic.cpm": 9.5,
            "market.suppliers.tiers.cheap.shipping_days": 30,
            "market.shocks.catalogue.0.probability_per_day": 0.01,
        },
    )

    assert changed.strategy("marketing").allocation == "bandit"
    assert changed.strategy("marketing").kill_roas == config.strategy("marketing").kill_roas
    assert changed.strategy("store").markup == 3.2
    market = changed.bootstrap.market
    assert market.traffic.cpm == 9.5
    assert market.traffic.ctr == config.bootstrap.market.traffic.ctr
    assert market.suppliers.tiers["cheap"].shipping_days == 30
    assert market.suppliers.tiers["fast"] == config.bootstrap.market.suppliers.tiers["fast"]
    assert market.shocks.catalogue[0].probability_per_day == 0.01


def test_overrides_take_precedence_over_the_manifests_without_changing_the_original(config: Config) -> None:
    before = config.strategy("ceo").daily_ad_budget
    changed = apply_overrides(config, {"ceo.daily_ad_budget": before + 40})

    assert changed.strategy("ceo").daily_ad_budget == before + 40
    assert config.strategy("ceo").daily_ad_budget == before
    assert changed.to_dict()["agents"]["ceo"]["strategy"]["daily_ad_budget"] == before + 40


def test_numpy_scalars_from_a_parameter_grid_are_accepted(config: Config) -> None:
    changed = apply_overrides(config, {"research.products_to_test": np.int64(4), "store.markup": np.float64(2.0)})

    assert changed.strategy("research").products_to_test == 4
    assert type(changed.strategy("research").products_to_test) is int


def test_a_value_above_its_bound_names_the_path_and_the_bounds(config: Config) -> None:
    assert override_error(config, {"store.markup": 7}) == (
        "override: store.markup: Input should be less than or equal to 6 (allowed: float ≥ 1.0 and ≤ 6.0)"
    )


def test_a_market_value_out_of_bounds_names_the_full_path(config: Config) -> None:
    assert override_error(config, {"market.suppliers.tiers.fast.defect_rate": 1.5}) == (
        "override: market.suppliers.tiers.fast.defect_rate: Input should be less than or equal to 1 "
        "(allowed: float ≥ 0 and ≤ 1)"
    )


def test_a_choice_outside_its_options_lists_them(config: Config) -> None:
    message = override_error(config, {"supplier.selection": "random"})

    assert message.startswith("override: supplier.selection: ")
    assert "one of 'cheapest', 'fastest', 'most_reliable'" in message


def test_an_unknown_strategy_parameter_lists_the_agents_parameters(config: Config) -> None:
    assert override_error(config, {"research.threshold": 0.5}) == (
        "override: research.threshold: unknown parameter of research; "
        "its parameters: " + ", ".join(STRATEGIES["research"].model_fields)
    )


def test_an_unknown_market_path_lists_what_is_there(config: Config) -> None:
    message = override_error(config, {"market.traffic.cpc": 1.0})

    assert message.startswith("override: market.traffic.cpc: unknown parameter path; there: ")
    assert "cpm" in message


def test_an_unknown_namespace_explains_the_two_kinds_of_path(config: Config) -> None:
    message = override_error(config, {"pricing.markup": 2})

    assert message.startswith("override: pricing.markup: unknown parameter path; paths are <agent>.<parameter>")
    assert "market.<section>.<parameter>" in message


def test_a_list_index_out_of_range(config: Config) -> None:
    count = len(config.bootstrap.market.shocks.catalogue)

    assert override_error(config, {"market.shocks.catalogue.99.days": 3}).endswith(
        f"unknown parameter path; there: an index 0..{count - 1}"
    )


def test_parameter_paths_cover_every_strategy_parameter_with_its_bounds(config: Config) -> None:
    paths = parameter_paths(config)

    assert paths["store.markup"] == "float ≥ 1.0 and ≤ 6.0"
    assert paths["marketing.allocation"] == "one of 'equal', 'roas_greedy', 'bandit'"
    strategy_paths = [path for path in paths if not path.startswith("market.")]
    assert len(strategy_paths) == sum(len(type(spec.strategy).model_fields) for spec in config.agents.values())
    assert paths["market.traffic.cpm"] == "float ≥ 0.5 and ≤ 1000"
    assert "market.suppliers.tiers.reliable.defect_rate" in paths


def test_every_listed_path_accepts_its_current_value(config: Config) -> None:
    tree = config.to_dict()
    for path in parameter_paths(config):
        head, *rest = path.split(".")
        node = tree["bootstrap"]["market"] if head == "market" else tree["agents"][head]["strategy"]
        for part in rest:
            node = node[int(part)] if isinstance(node, list) else node[part]

        assert apply_overrides(config, {path: node}).to_dict() == tree, path


def bounded_fields(config: Config) -> list[tuple[str, FieldInfo]]:
    """Every parameter path whose field has a numeric bound, with its field."""
    fields = []
    for path in parameter_paths(config):
        head, *rest = path.split(".")
        model = MarketParams if head == "market" else STRATEGIES[head]
        info = field_at(model, tuple(rest))
        if info is not None and any(isinstance(c, Ge | Gt | Le | Lt) for c in info.metadata):
            fields.append((path, info))
    return fields


def test_every_bound_of_every_parameter_is_enforced(config: Config) -> None:
    checked = 0
    for path, info in bounded_fields(config):
        for constraint in info.metadata:
            if isinstance(constraint, Le | Lt):
                outside = (constraint.le if isinstance(constraint, Le) else constraint.lt) + 1
            elif isinstance(constraint, Ge | Gt):
                outside = (constraint.ge if isinstance(constraint, Ge) else constraint.gt) - 1
            else:
                continue
            message = override_error(config, {path: outside})
            assert message.startswith(f"override: {path}: "), message
            assert "(allowed: " in message, message
            checked += 1
    assert checked > 100  # both bounds of most of the ~140 parameters


def test_every_strategy_parameter_accepts_its_bounds(config: Config) -> None:
    for path, info in bounded_fields(config):
        if path.startswith("market."):
            continue  # market fields may later gain cross-field rules; their bounds are checked above
        for constraint in info.metadata:
            if isinstance(constraint, Ge | Le):
                edge = constraint.ge if isinstance(constraint, Ge) else constraint.le
                agent, name = path.split(".")
                assert getattr(apply_overrides(config, {path: edge}).strategy(agent), name) == edge
