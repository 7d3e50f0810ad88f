"""A cohort: many runs simulated together by one set of agents and adapters.

`simulate(config, runs, days)` is the simulation lab's core call. It resolves
each run's parameters (its strategy and scenario overrides), builds one world
over all runs (the mock adapters' market), one instance of each agent holding
arrays over runs, and the event bus wired from the manifests; then it runs the
clock:

    for each day:
        world.begin_day
        DAILY_TICK            → bus until quiet   (agents decide)
        ingress: trends, shop, shipping, email   (customers, carriers, inbox)
                              → bus until quiet   (agents react)
        OPTIMIZATION_TICK     → bus until quiet   (daily optimisation)
        world.end_day         (fixed costs, AI bill, solvency, KPIs)

The simulation's time step is a day, so the optimisation tick that fires every
four hours live fires once per simulated day here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

import numpy as np

from ds1ray.adapters.mock import mock_ports
from ds1ray.agents import AGENTS, AgentContext, Ports
from ds1ray.agents.base import Agent
from ds1ray.bus import CohortBus
from ds1ray.config import Config, apply_overrides
from ds1ray.events.batch import EventBatch
from ds1ray.market.ledger import CATEGORIES
from ds1ray.market.stack import Stacked
from ds1ray.market.world import DAILY_KPIS, AiTask, World
from ds1ray.runspec import CohortResult, RunSpec
from ds1ray.seeding import Streams, canonical_params, stream_key

INGRESS_ORDER = ("trends", "shop", "shipping", "email")
"""Ports whose arrivals are polled each tick, in this order (the bus then orders them by type)."""

Handler = Callable[[EventBatch], Sequence[EventBatch]]


def resolve_runs(config: Config, runs: Sequence[RunSpec]) -> list[Config]:
    """Each run's configuration with its overrides applied (validated once per distinct set)."""
    cache: dict[str, Config] = {}
    resolved = []
    for run in runs:
        key = canonical_params(run.overrides)
        if key not in cache:
            cache[key] = apply_overrides(config, run.overrides) if run.overrides else config
        resolved.append(cache[key])
    return resolved


def build_world(config: Config, resolved: Sequence[Config], runs: Sequence[RunSpec], days: int, *,
                idempotent_orders: bool = False) -> World:
    products = config.seeds.products
    fixtures = config.seeds.ai_fixtures
    return World(
        market=Stacked([c.bootstrap.market for c in resolved]),
        market_keys=np.array([run.market_key for run in runs], dtype=np.uint64),
        days=days,
        archetype_prices=np.array([p.ref_price for p in products]),
        archetype_weights=np.array([p.weight for p in products]),
        ai_tasks={name: AiTask(f.prompt_tokens, f.completion_tokens) for name, f in fixtures.items()},
        idempotent_orders=idempotent_orders,
    )


def agent_context(config: Config, resolved: Sequence[Config], runs: Sequence[RunSpec], agent_id: str,
                  products: int, ports: Mapping[str, Any]) -> AgentContext:
    """What agent `agent_id` gets: only its declared ports, its strategy per run, its own streams."""
    declared = config.agents[agent_id].ports
    run_keys = np.array([run.run_key for run in runs], dtype=np.uint64)
    return AgentContext(
        runs=len(runs),
        products=products,
        strategy=Stacked([c.strategy(agent_id) for c in resolved]),
        ports=Ports(agent_id, {name: ports[name] for name in declared}),
        streams=Streams(stream_key(run_keys, f"agent:{agent_id}")),
    )


def build_bus(config: Config, handlers: Mapping[str, Handler]) -> CohortBus:
    subscribers = {name: spec.subscribers for name, spec in config.events.events.items()}
    return CohortBus(config.events.delivery_order, subscribers, handlers)


class WorldSide(Protocol):
    """What the day loop needs from the world, wherever it lives (in-process or in an actor)."""

    def begin_day(self, day: int) -> np.ndarray: ...

    def poll(self, port: str) -> list[EventBatch]: ...

    def alive(self) -> np.ndarray: ...

    def end_day(self, day: int) -> None: ...


def advance_day(bus: CohortBus, world: WorldSide, day: int) -> None:
    """One day of the clock: DAILY_TICK, the ingress ports, OPTIMIZATION_TICK, each drained."""
    bus.publish(EventBatch.of("DAILY_TICK", world.begin_day(day), day=day))
    bus.drain()
    for port in INGRESS_ORDER:
        for batch in world.poll(port):
            bus.publish(batch)
    bus.drain()
    bus.publish(EventBatch.of("OPTIMIZATION_TICK", world.alive(), day=day))
    bus.drain()
    world.end_day(day)


class LocalWorld:
    """A cohort's world and its eight mock adapters in this process: the day loop's `WorldSide`."""

    def __init__(self, config: Config, runs: Sequence[RunSpec], days: int, *, idempotent_orders: bool = False,
                 resolved: Sequence[Config] | None = None) -> None:
        self.specs = list(runs)
        if resolved is None:
            resolved = resolve_runs(config, self.specs)
        self.world = build_world(config, resolved, self.specs, days, idempotent_orders=idempotent_orders)
        self.ports: dict[str, Any] = mock_ports(self.world)

    def begin_day(self, day: int) -> np.ndarray:
        self.world.begin_day(day)
        return np.nonzero(self.world.alive)[0]

    def poll(self, port: str) -> list[EventBatch]:
        return list(self.ports[port].poll())

    def alive(self) -> np.ndarray:
        return np.nonzero(self.world.alive)[0]

    def end_day(self, day: int) -> None:
        self.world.end_day(day)


class Cohort:
    """One cohort in one process: the world, the mock adapters, the agents and the bus."""

    def __init__(self, config: Config, runs: Sequence[RunSpec], days: int) -> None:
        if not runs:
            raise ValueError("a cohort needs at least one run")
        if days < 1:
            raise ValueError("days must be at least 1")
        self.config = config
        self.specs = list(runs)
        self.days = days
        resolved = resolve_runs(config, self.specs)
        self.side = LocalWorld(config, self.specs, days, resolved=resolved)
        self.world = self.side.world
        self.ports = self.side.ports
        slots = self.world.catalog.slots
        self.agents: dict[str, Agent] = {
            agent_id: AGENTS[agent_id](agent_context(config, resolved, self.specs, agent_id, slots, self.ports))
            for agent_id in config.agents
        }
        self.bus = build_bus(config, {agent_id: agent.handle for agent_id, agent in self.agents.items()})
        self.day = 0

    def step(self) -> None:
        """Advance every run by one day."""
        advance_day(self.bus, self.side, self.day)
        self.day += 1

    def run(self) -> CohortResult:
        while self.day < self.days:
            self.step()
        return self.result()

    def result(self) -> CohortResult:
        """Outcomes after the books are checked (BooksDoNotBalance if they do not close)."""
        self.world.ledger.check()
        return cohort_result(self.specs, self.world, self.day)


RUN_OUTCOMES = (*CATEGORIES, "net_profit", "starting_cash", "final_cash", "orders", "conversion_rate", "roas",
                "refund_rate", "tickets")
"""The per-run outcome columns of the result-table contract, in order (docs/architecture.md)."""

MONEY_KPIS = frozenset({"cash", "revenue", "ad_spend"})
"""Daily KPIs the world keeps in cents and the result tables give in dollars."""


def cohort_result(specs: Sequence[RunSpec], world: World, days_run: int) -> CohortResult:
    """The cohort's outcomes (docs/architecture.md) from a world after `days_run` days."""
    outcomes = world.outcomes()
    return CohortResult(
        run_ids=[s.run_id for s in specs],
        seeds=np.array([s.seed for s in specs], dtype=np.int64),
        strategies=[s.strategy for s in specs],
        outcomes={name: outcomes[name] for name in RUN_OUTCOMES},
        bankrupt_day=world.bankrupt_day.copy(),
        market_ceiling=world.market_ceiling_cents / 100.0,
        days=days_run,
        daily_kpis={name: _run_by_run(world.daily[name][:days_run], name in MONEY_KPIS) for name in DAILY_KPIS},
    )


def _run_by_run(per_day: np.ndarray, cents: bool) -> np.ndarray:
    """A (days, runs) KPI as one column, run by run, in result units (one copy: the transposition)."""
    if cents:
        return np.divide(per_day.T, 100.0, order="C").reshape(-1)
    return np.ascontiguousarray(per_day.T).reshape(-1)


def simulate(config: Config, runs: Sequence[RunSpec], days: int) -> CohortResult:
    """Simulate `runs` together for `days` days, in this process; see the module docstring."""
    return Cohort(config, runs, days).run()
