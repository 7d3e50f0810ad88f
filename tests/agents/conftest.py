"""Fixtures of the agent tests: real cohorts, and agents built on recording ports for exact unit checks."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pytest

from ds1ray.agents import AGENTS, Agent
from ds1ray.cohort import Cohort, agent_context, resolve_runs
from ds1ray.config import Config, load_config
from ds1ray.events.batch import EventBatch
from ds1ray.runspec import RunSpec


@pytest.fixture(scope="session")
def config() -> Config:
    return load_config()


class RecordingAds:
    """An ads port whose insights the test sets and whose budget changes it records."""

    def __init__(self, runs: int, products: int) -> None:
        self.spend = np.zeros((runs, products), np.int64)
        self.budget = np.zeros((runs, products), np.int64)
        self.calls: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    def set_budgets(self, run: np.ndarray, product: np.ndarray, daily_budget_cents: np.ndarray) -> None:
        self.budget[run, product] = daily_budget_cents
        self.calls.append((run.copy(), product.copy(), np.asarray(daily_budget_cents).copy()))

    def insights(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self.spend.copy(), np.zeros_like(self.spend), np.zeros_like(self.spend)


MakeAgent = Callable[..., Agent]  # (agent_id, runs, ports, products=4)


@pytest.fixture
def make_agent(config: Config) -> MakeAgent:
    """One agent over `runs` with the given ports, its strategy resolved from the runs' overrides."""

    def make(agent_id: str, runs: Sequence[RunSpec], ports: Mapping[str, Any], products: int = 4) -> Agent:
        context = agent_context(config, resolve_runs(config, runs), runs, agent_id, products, ports)
        return AGENTS[agent_id](context)

    return make


@pytest.fixture
def cohort_on_day_zero(config: Config) -> Callable[[Sequence[RunSpec]], Cohort]:
    """A real cohort whose world has opened day 0, for feeding one agent hand-made batches."""

    def make(runs: Sequence[RunSpec], days: int = 30) -> Cohort:
        cohort = Cohort(config, runs, days)
        cohort.world.begin_day(0)
        return cohort

    return make


def published(outputs: Sequence[EventBatch], event_type: str) -> EventBatch | None:
    """The batches of one type among what an agent published, end to end (None if none)."""
    chosen = [b for b in outputs if b.type == event_type]
    return EventBatch.concat(chosen) if chosen else None

