"""Parameter spaces: grid products, seeded random and Latin-hypercube samples."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from ds1ray.sweep.space import Distribution, SampledSpace, expand_points


def test_grid_is_the_cartesian_product_in_file_order() -> None:
    points = expand_points({"a.x": [1, 2], "b.y": ["p", "q", "r"]}, None, None, space_seed=0)
    assert points == [
        {"a.x": 1, "b.y": "p"},
        {"a.x": 1, "b.y": "q"},
        {"a.x": 1, "b.y": "r"},
        {"a.x": 2, "b.y": "p"},
        {"a.x": 2, "b.y": "q"},
        {"a.x": 2, "b.y": "r"},
    ]


def test_empty_space_is_one_point_without_parameters() -> None:
    assert expand_points({}, None, None, space_seed=0) == [{}]


def test_same_space_seed_gives_the_same_samples_and_another_seed_other_ones() -> None:
    space = SampledSpace(n=8, params={"m.cpm": Distribution(low=5, high=20)})
    first = expand_points({}, space, None, space_seed=3)
    assert first == expand_points({}, space, None, space_seed=3)
    assert first != expand_points({}, space, None, space_seed=4)


def test_lhs_puts_exactly_one_sample_in_each_of_n_strata_per_parameter() -> None:
    n = 20
    space = SampledSpace(n=n, params={"a.x": Distribution(low=0, high=10), "b.y": Distribution(low=-1, high=1)})
    points = expand_points({}, None, space, space_seed=11)
    xs = np.array([p["a.x"] for p in points])
    ys = np.array([p["b.y"] for p in points])
    assert sorted((xs / 10 * n).astype(int)) == list(range(n))
    assert sorted(((ys + 1) / 2 * n).astype(int)) == list(range(n))


def test_grid_times_samples_reuses_the_same_samples_for_every_grid_value() -> None:
    space = SampledSpace(n=3, params={"a.x": Distribution(low=0, high=1)})
    points = expand_points({"g.k": ["u", "v"]}, None, space, space_seed=0)
    assert len(points) == 6
    assert [p["a.x"] for p in points[:3]] == [p["a.x"] for p in points[3:]]


def test_integer_ranges_include_both_ends_and_give_ints() -> None:
    space = SampledSpace(n=200, params={"c.n": Distribution(low=1, high=3, integer=True)})
    values = [p["c.n"] for p in expand_points({}, space, None, space_seed=0)]
    assert set(values) == {1, 2, 3}
    assert all(type(v) is int for v in values)


def test_log_ranges_stay_inside_their_bounds_and_spread_over_decades() -> None:
    space = SampledSpace(n=400, params={"c.b": Distribution(low=1, high=1000, log=True)})
    values = np.array([p["c.b"] for p in expand_points({}, space, None, space_seed=0)])
    assert values.min() >= 1 and values.max() <= 1000
    # Uniform in log: about a third of the samples in each decade.
    assert 0.25 < np.mean(values < 10) < 0.42


def test_random_choices_that_repeat_are_kept_once() -> None:
    space = SampledSpace(n=50, params={"m.rule": Distribution(choices=["equal", "bandit"])})
    points = expand_points({}, space, None, space_seed=0)
    assert sorted(p["m.rule"] for p in points) == ["bandit", "equal"]


@pytest.mark.parametrize(
    "spec, problem",
    [
        ({"low": 1}, "both low and high"),
        ({"low": 5, "high": 1}, "above high"),
        ({"low": 0, "high": 1, "log": True}, "low > 0"),
        ({"low": 0.5, "high": 3, "integer": True}, "whole-number"),
        ({"choices": ["a"], "low": 1, "high": 2}, "either low and high, or choices"),
        ({"choices": ["a"], "integer": True}, "apply to ranges"),
    ],
)
def test_a_malformed_distribution_is_rejected_with_its_reason(spec: dict, problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        Distribution.model_validate(spec)
