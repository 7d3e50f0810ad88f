"""The `actors` placement: every agent its own Ray actor, the adapters a shared actor.

The sweep runs each cohort in one worker process (`colocated`, see
docs/architecture.md: an actor hop per agent per tick costs more than a tick
computes). This module runs the same agent classes the other way, as the live
instance does: `ray.remote(AgentClass)` for each of the eight agents, and the
cohort's world with its mock adapters in one `MarketHost` actor that every
agent reaches through `RemotePort` proxies. The driver keeps the clock and the
bus, so the delivery order is the same as in-process, and so are the results.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import ray

from ds1ray.adapters.ports import PORT_NAMES
from ds1ray.agents import AGENTS
from ds1ray.bus import CohortBus
from ds1ray.cohort import LocalWorld, advance_day, agent_context, build_bus, cohort_result, resolve_runs
from ds1ray.config import Config
from ds1ray.events.batch import EventBatch
from ds1ray.runspec import CohortResult, RunSpec


class MarketHost(LocalWorld):
    """The simulated market of one cohort and its eight mock adapters, hosted as one actor."""

    def slots(self) -> int:
        return self.world.catalog.slots

    def call(self, port: str, method: str, *args: Any) -> Any:
        return getattr(self.ports[port], method)(*args)

    def result(self, days_run: int) -> CohortResult:
        self.world.ledger.check()
        return cohort_result(self.specs, self.world, days_run)


class RemotePort:
    """A port whose adapter lives in another actor: each method call is one synchronous actor call."""

    def __init__(self, host: Any, port: str) -> None:
        self._host = host
        self._port = port

    def __getattr__(self, method: str) -> Any:
        if method.startswith("_"):
            raise AttributeError(method)

        def call(*args: Any) -> Any:
            return ray.get(self._host.call.remote(self._port, method, *args))

        return call


class _RemoteWorld:
    """The day loop's view of a MarketHost actor."""

    def __init__(self, host: Any) -> None:
        self.host = host

    def begin_day(self, day: int) -> np.ndarray:
        return ray.get(self.host.begin_day.remote(day))

    def poll(self, port: str) -> list[EventBatch]:
        return ray.get(self.host.poll.remote(port))

    def alive(self) -> np.ndarray:
        return ray.get(self.host.alive.remote())

    def end_day(self, day: int) -> None:
        ray.get(self.host.end_day.remote(day))


class ActorCohort:
    """A cohort whose agents and adapters are separate Ray actors (Ray must be initialised).

    Actors take no CPU reservation: they wait on each other in turn, so reserving a
    CPU each would only stop nine of them from starting on a small machine.
    """

    def __init__(self, config: Config, runs: Sequence[RunSpec], days: int) -> None:
        self.specs = list(runs)
        self.days = days
        self.day = 0
        resolved = resolve_runs(config, self.specs)
        # Ray's stubs type remote handles loosely; they are held as Any here.
        host: Any = ray.remote(MarketHost).options(num_cpus=0).remote(config, self.specs, days)
        self.host = host
        slots: int = ray.get(host.slots.remote())
        ports = {name: RemotePort(self.host, name) for name in PORT_NAMES}
        self.agents: dict[str, Any] = {
            agent_id: ray.remote(AGENTS[agent_id]).options(num_cpus=0).remote(
                agent_context(config, resolved, self.specs, agent_id, slots, ports))
            for agent_id in config.agents
        }
        self.bus: CohortBus = build_bus(config, {agent_id: _remote_handler(actor)
                                                 for agent_id, actor in self.agents.items()})
        self.world = _RemoteWorld(self.host)

    def run(self) -> CohortResult:
        while self.day < self.days:
            advance_day(self.bus, self.world, self.day)
            self.day += 1
        result: CohortResult = ray.get(self.host.result.remote(self.day))
        return result

    def shutdown(self) -> None:
        for actor in (*self.agents.values(), self.host):
            ray.kill(actor)


def _remote_handler(actor: Any) -> Any:
    def handle(batch: EventBatch) -> list[EventBatch]:
        return ray.get(actor.handle.remote(batch))

    return handle


def simulate_with_actors(config: Config, runs: Sequence[RunSpec], days: int) -> CohortResult:
    """`ds1ray.cohort.simulate`, with every agent and the market as separate actors."""
    cohort = ActorCohort(config, runs, days)
    try:
        return cohort.run()
    finally:
        cohort.shutdown()
