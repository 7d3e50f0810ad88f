"""The `actors` placement runs the same agent classes as separate Ray actors, with the same outcomes."""

from __future__ import annotations

import pandas as pd
import pytest

from ds1ray.cohort import simulate
from ds1ray.config import load_config
from ds1ray.runspec import RunSpec
from ds1ray.runtime import simulate_with_actors

pytestmark = pytest.mark.ray


def test_a_cohort_placed_as_actors_equals_the_same_cohort_in_one_process(ray_cluster: None) -> None:
    config = load_config()
    runs = [RunSpec("placement", seed=seed, strategy=rule, overrides={"marketing.allocation": rule})
            for seed in (1, 2) for rule in ("equal", "bandit")]

    as_actors = simulate_with_actors(config, runs, 45)
    in_process = simulate(config, runs, 45)

    pd.testing.assert_frame_equal(as_actors.runs, in_process.runs, check_exact=True)
    pd.testing.assert_frame_equal(as_actors.daily, in_process.daily, check_exact=True)
    assert (in_process.runs["orders"] > 0).any()  # the comparison covers a business that sold something
