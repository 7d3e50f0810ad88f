"""Fixtures of the market tests: the shipped configuration, bare worlds without agents, observed cohorts."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pytest

from ds1ray.cohort import Cohort, build_world, resolve_runs
from ds1ray.config import Config, load_config
from ds1ray.events.batch import EventBatch
from ds1ray.market.world import World
from ds1ray.runspec import RunSpec

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


class Observed:
    """A cohort run to the end with the batches of chosen event types recorded, with their day."""

    def __init__(self, config: Config, runs: Sequence[RunSpec], days: int, types: Sequence[str]) -> None:
        self.cohort = Cohort(config, runs, days)
        self.batches: list[tuple[int, EventBatch]] = []
        wanted = set(types)
        self.cohort.bus.observers.append(
            lambda batch: self.batches.append((self.cohort.day, batch)) if batch.type in wanted else None)
        self.result = self.cohort.run()

    def rows(self, event_type: str) -> dict[str, np.ndarray]:
        """All recorded rows of one type as columns, plus `run` and `day`."""
        chosen = [(day, b) for day, b in self.batches if b.type == event_type]
        if not chosen:
            return {"run": np.zeros(0, np.int64), "day": np.zeros(0, np.int64)}
        out = {name: np.concatenate([b[name] for _, b in chosen]) for name in chosen[0][1].columns}
        out["run"] = np.concatenate([b.run for _, b in chosen])
        out["day"] = np.concatenate([np.full(len(b), day) for day, b in chosen])
        return out


ObservedCohort = Callable[[Sequence[RunSpec], int, Sequence[str]], Observed]


@pytest.fixture
def observed_cohort(config: Config) -> ObservedCohort:
    def run(runs: Sequence[RunSpec], days: int, types: Sequence[str]) -> Observed:
        return Observed(config, runs, days, types)

    return run
