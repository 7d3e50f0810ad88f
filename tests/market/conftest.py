"""Fixtures of the market tests: the shipped configuration, bare worlds without agents, observed cohorts."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pytest

from ds1ray.cohort import build_world, resolve_runs
from ds1ray.config import Config, load_config
from ds1ray.market.world import World
from ds1ray.runspec import RunSpec

from .recording import Recorded

MakeWorld = Callable[[Sequence[RunSpec], int], World]


@pytest.fixture(scope="session")
def config() -> Config:
    return load_config()


@pytest.fixture
def make_world(config: Config) -> MakeWorld:
    """A world over `runs` for `days` days, built the way a cohort builds it, with no agents acting on it."""

    def make(runs: Sequence[RunSpec], days: int) -> World:
        return build_world(config, resolve_runs(config, runs), runs, days)

    return make


ObservedCohort = Callable[[Sequence[RunSpec], int, Sequence[str]], Recorded]


@pytest.fixture
def observed_cohort(config: Config) -> ObservedCohort:
    def run(runs: Sequence[RunSpec], days: int, types: Sequence[str]) -> Recorded:
        return Recorded(config, runs, days, types)

    return run
