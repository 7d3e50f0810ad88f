"""The Ray side of a sweep: a small pool of long-lived actors, one cohort per call.

An actor costs ≈ 0.4 s and ≈ 90 MB to start and a call ≈ 1 ms
(shared/reference/ray_costs.md), so the pool has one actor per CPU, created
once, and each call simulates one whole cohort with `ds1ray.cohort.simulate`.
Cohorts are handed out as actors become free; the order they finish in decides
nothing, because each result is stored under its cohort's key.

Example::

    with ray_session(address=None) as cluster:
        for cohort, result, info in run_cohorts(cohorts, config, days, workers=2):
            ...
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections import deque
from collections.abc import Callable, Generator, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from ds1ray.errors import UserError
from ds1ray.runspec import CohortResult, RunSpec
from ds1ray.sweep.plan import Cohort


@dataclass
class ClusterInfo:
    """What the sweep ran on, for the manifest."""

    address: str | None
    started_here: bool
    start_seconds: float
    resources: dict[str, float]
    nodes: int

    @property
    def cpus(self) -> int:
        return max(1, int(self.resources.get("CPU", 1)))

    def to_dict(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "started_here": self.started_here,
            "start_seconds": round(self.start_seconds, 3),
            "cluster_resources": self.resources,
            "nodes": self.nodes,
        }


def check_reachable(address: str, timeout: float = 5.0) -> None:
    """Fail fast on an address nothing listens at: Ray itself retries for minutes."""
    if address in ("auto", "local"):
        return
    host_port = address.split("://", 1)[-1].rsplit("/", 1)[0]
    host, _, port = host_port.rpartition(":")
    if not host or not port.isdigit():
        raise UserError(f"--address {address!r} is not HOST:PORT (or ray://HOST:PORT)")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise UserError(f"cannot reach the Ray cluster at {address}: {reason}") from None


@contextmanager
def ray_session(address: str | None) -> Iterator[ClusterInfo]:
    """Use the Ray already initialised in this process, or start/join one and shut it down after."""
    import ray

    started = time.perf_counter()
    started_here = not ray.is_initialized()
    if started_here:
        if address is not None:
            check_reachable(address)
        try:
            # "local" starts a fresh Ray even when another one runs on this machine: a bare
            # ray.init() would join whatever cluster `ray start` left behind.
            ray.init(
                address=address or "local",
                include_dashboard=False,
                log_to_driver=False,
                logging_level=logging.WARNING,
            )
        except (ConnectionError, RuntimeError, ValueError) as error:
            where = f"the Ray cluster at {address}" if address else "a local Ray"
            first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise UserError(f"cannot start or reach {where}: {first_line}") from None
    try:
        info = ClusterInfo(
            address=address,
            started_here=started_here,
            start_seconds=time.perf_counter() - started,
            resources={k: float(v) for k, v in sorted(ray.cluster_resources().items()) if not k.startswith("node:")},
            nodes=sum(1 for node in ray.nodes() if node.get("Alive")),
        )
        yield info
    finally:
        if started_here:
            ray.shutdown()


class CohortWorker:
    """One pool member: simulates whole cohorts in its own process.

    It steps the cohort a day at a time (what `ds1ray.cohort.simulate` does in
    one call) and keeps the day count, which `days_done` answers from a second
    thread while a cohort runs, so progress moves within long cohorts too.
    """

    def __init__(self) -> None:
        self._days_done = 0

    def simulate(self, config: Any, runs: Sequence[RunSpec], days: int) -> tuple[CohortResult, dict[str, Any]]:
        from ds1ray.cohort import Cohort as SimulatedCohort

        started, started_at = time.perf_counter(), time.time()
        self._days_done = 0
        simulation = SimulatedCohort(config, list(runs), days)
        while simulation.day < days:
            simulation.step()
            self._days_done = simulation.day
        result = simulation.result()
        info = {"seconds": time.perf_counter() - started, "pid": os.getpid(), "node": _node_id(),
                "started_at": started_at, "finished_at": time.time()}
        return result, info

    def days_done(self) -> int:
        return self._days_done


def _node_id() -> str | None:
    import ray

    # Outside Ray (a worker object used in-process) there is no node; asking would start a local Ray.
    return str(ray.get_runtime_context().get_node_id()) if ray.is_initialized() else None


def _result_of(ray: Any, ref: Any, cohort: Cohort) -> tuple[CohortResult, dict[str, Any]]:
    """The cohort's result; a lost worker (not a bug in the simulation) becomes one clear line."""
    try:
        result: tuple[CohortResult, dict[str, Any]] = ray.get(ref)
    except ray.exceptions.RayTaskError:
        raise  # the simulation itself failed: its traceback is what a developer needs
    except ray.exceptions.RayError as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
        raise UserError(
            f"cohort {cohort.key} ({len(cohort.runs)} runs) was lost with its worker after retries "
            f"({type(error).__name__}: {first_line}); finished cohorts are kept, run the same command "
            "to resume (a smaller --cohort-size needs less memory)",
            exit_code=1,
        ) from None
    return result


def run_cohorts(
    cohorts: Sequence[Cohort],
    config: Any,
    days: int,
    workers: int,
    *,
    on_wait: Callable[[float], None] = lambda run_days: None,
) -> Generator[tuple[Cohort, CohortResult, dict[str, Any]], None, None]:
    """Simulate `cohorts` on `workers` actors; yields each as it finishes.

    While nothing finishes, about once a second, `on_wait` gets the run-days
    the cohorts in flight have simulated so far (for progress).
    """
    import ray

    if not cohorts:
        return
    # max_concurrency=2: `days_done` is answered while `simulate` runs; one cohort per actor at a time.
    remote_worker: Any = ray.remote(CohortWorker)
    pool = [
        # A worker lost to the machine (out of memory, a node gone) is restarted and its cohort run
        # again: cohorts are deterministic and stored by key, so a retry cannot change a result.
        remote_worker.options(num_cpus=1, max_concurrency=2, max_restarts=2, max_task_retries=2).remote()
        for _ in range(max(1, min(workers, len(cohorts))))
    ]
    config_ref = ray.put(config)  # shipped once, shared by every call
    queue = deque(cohorts)
    in_flight: dict[Any, tuple[Any, Cohort]] = {}

    def submit(actor: Any) -> None:
        if queue:
            cohort = queue.popleft()
            in_flight[actor.simulate.remote(config_ref, cohort.runs, days)] = (actor, cohort)

    # Progress polls never block: an actor still starting (or busy starting its cohort) answers later.
    polls: dict[Any, Any] = {}  # actor → ObjectRef of its pending days_done()
    days_done: dict[Any, int] = {}

    def run_days_in_flight() -> float:
        if polls:
            answered, _ = ray.wait(list(polls.values()), num_returns=len(polls), timeout=0)
            for actor, ref in list(polls.items()):
                if ref in answered:
                    days_done[actor] = ray.get(polls.pop(actor))
        for actor, _ in in_flight.values():
            if actor not in polls:
                polls[actor] = actor.days_done.remote()
        return float(sum(len(cohort.runs) * days_done.get(actor, 0) for actor, cohort in in_flight.values()))

    try:
        for actor in pool:
            submit(actor)
        while in_flight:
            ready, _ = ray.wait(list(in_flight), num_returns=1, timeout=1.0)
            if not ready:
                on_wait(run_days_in_flight())
                continue
            actor, cohort = in_flight.pop(ready[0])
            result, info = _result_of(ray, ready[0], cohort)
            days_done[actor] = 0  # a poll answered late must not count the finished cohort twice
            submit(actor)
            yield cohort, result, info
    finally:
        # Killing the pool also abandons cohorts still in flight (interrupt or error):
        # their results would have no one to write them.
        for actor in pool:
            ray.kill(actor)
