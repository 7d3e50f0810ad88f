"""The agent abstraction: a policy over a cohort, reacting to event batches.

An agent subclass sets `id` and `Strategy`, and defines one `on_<event_type>`
method per event it subscribes to (`on_order_paid` for ORDER_PAID). A handler
reads whole columns, calls ports, and publishes with `emit`. Its strategy
parameters are arrays over runs (`self.strategy.markup[run]`), because a cohort
mixes strategies. The same class runs in-process (a cohort host) or as a Ray
actor of its own (`ray.remote(AgentClass)`): nothing in it knows which, nor
whether its ports are mock or live.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ds1ray.agents.strategies import Strategy
from ds1ray.events.batch import EventBatch
from ds1ray.market.stack import Stacked
from ds1ray.seeding import Streams


class Ports:
    """The ports an agent declared in agent_config.yaml, and only those."""

    def __init__(self, agent_id: str, ports: dict[str, Any]) -> None:
        self._agent_id = agent_id
        self._ports = dict(ports)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self._ports[name]
        except KeyError:
            raise AttributeError(f"agent {self._agent_id!r} has no port {name!r}; declared: "
                                 f"{sorted(self._ports)} (agent_config.yaml)") from None


@dataclass
class AgentContext:
    """What an agent is given: its runs, its strategy per run, its ports, its own random streams."""

    runs: int
    products: int
    strategy: Stacked
    ports: Ports
    streams: Streams


class Agent:
    """Base of the eight DS1 agents."""

    id: ClassVar[str]
    Strategy: ClassVar[type[Strategy]]

    def __init__(self, ctx: AgentContext) -> None:
        self.ctx = ctx
        self.strategy = ctx.strategy
        self.ports = ctx.ports
        self.runs = ctx.runs
        self.products = ctx.products
        self.day = 0
        self._outbox: list[EventBatch] = []
        self._follows: dict[tuple[str, str], NDArray[np.bool_]] = {}
        self._handlers: dict[str, Any] = {}  # event type → bound handler, looked up once per type

    # What a snapshot leaves out: what the constructor is given (and what follows from it), not what
    # the agent learnt.
    _GIVEN = frozenset({"ctx", "strategy", "ports", "runs", "products", "_outbox", "_follows", "_handlers"})

    def snapshot(self) -> dict[str, Any]:
        """The agent's learnt state (its arrays and clock), for a store to keep across restarts."""
        return {k: v.copy() if isinstance(v, np.ndarray) else v
                for k, v in vars(self).items() if k not in self._GIVEN}

    def restore(self, state: dict[str, Any]) -> None:
        """Take back a `snapshot()`; unknown keys are an error (the class changed since)."""
        unknown = set(state) - set(vars(self))
        if unknown:
            raise ValueError(f"agent {self.id!r}: snapshot has unknown state {sorted(unknown)}")
        for k, v in state.items():
            setattr(self, k, np.array(v) if isinstance(v, np.ndarray) else v)

    @classmethod
    def handled_events(cls) -> set[str]:
        return {name[3:].upper() for name in dir(cls) if name.startswith("on_")}

    def handle(self, batch: EventBatch) -> list[EventBatch]:
        """React to a batch; return what the agent published in response."""
        handler = self._handlers.get(batch.type)
        if handler is None:
            handler = getattr(self, f"on_{batch.type.lower()}", None)
            if handler is None:
                raise TypeError(f"agent {self.id!r} has no handler for {batch.type}")
            self._handlers[batch.type] = handler
        handler(batch)
        out, self._outbox = self._outbox, []
        # A handler that stops campaigns and then re-allocates emits CAMPAIGN_OPTIMIZED twice:
        # its subscribers get the rows once, in the order they were emitted.
        return EventBatch.one_per_type(out)

    def emit(self, event_type: str, run: ArrayLike, **columns: ArrayLike) -> None:
        """Publish a batch (nothing if it has no rows)."""
        run_arr = np.asarray(run, dtype=np.int64)
        if run_arr.size:
            self._outbox.append(EventBatch.of(event_type, run_arr, **columns))

    def follows(self, field: str, choice: str) -> NDArray[np.bool_]:
        """Per run: whether its strategy's `field` is `choice`. Strategies are fixed for a cohort's life, so
        the comparison (of Python strings, one run at a time) is made once; index it with the rows' runs."""
        mask = self._follows.get((field, choice))
        if mask is None:
            mask = self._follows[(field, choice)] = np.asarray(getattr(self.strategy, field) == choice, bool)
        return mask

    def keep_time(self, batch: EventBatch) -> None:
        """Set the clock from a DAILY_TICK or OPTIMIZATION_TICK batch."""
        self.day = int(batch["day"][0])

    def commands_for_me(self, batch: EventBatch) -> EventBatch:
        """The USER_COMMAND rows addressed to this agent."""
        return batch.take(batch["target"] == self.id)


def per_run_top_k(run: NDArray[np.int64], score: NDArray[np.float64], k: NDArray[np.int64]) -> NDArray[np.bool_]:
    """Mask of the k best rows of each run (k per run), ties broken by row order: deterministic."""
    if run.size == 0:
        return np.zeros(0, bool)
    order = np.lexsort((np.arange(run.size), -score, run))
    sorted_run = run[order]
    first = np.searchsorted(sorted_run, sorted_run, side="left")
    rank = np.arange(run.size) - first
    keep = np.zeros(run.size, bool)
    keep[order] = rank < k[sorted_run]
    return keep


def first_per_key(keys: NDArray[np.int64]) -> NDArray[np.bool_]:
    """Mask of the first row of each distinct key (row order kept)."""
    _, first = np.unique(keys, return_index=True)
    mask = np.zeros(keys.size, bool)
    mask[first] = True
    return mask
