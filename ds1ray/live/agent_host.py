"""`AgentHost`: one agent of the live business as a restartable Ray actor.

The host wraps the same agent class the simulation uses (`ds1ray.agents`),
over a cohort of one run (row 0). It keeps the agent's learnt state in the
store: `handle(event_id, batch)` runs the agent's handler, then commits
through `store.consume_once("agent:<id>", key, …)`, in one transaction, the
agent's snapshot (`Agent.snapshot()`), the processed mark and the events the
agent published (as outbox rows, which the coordinator's relay delivers). A
redelivered event finds its mark and is skipped. Ray re-runs `__init__`
when the actor restarts, and `__init__` restores the last snapshot.

Ports are proxies to the adapter actors. Each port call carries the key
`<agent>:<consume key>:<n>` (n counts the calls of one handling), so a handler
re-run after a crash sends the same idempotency keys to the platforms. When a
platform is still unavailable after the client's retries, the event is
dead-lettered under `redeliver:<agent>` and ESCALATION_TRIGGERED is published;
`ds1ray dlq redrive --handlers ds1ray.live.agent_host` puts it back on the
outbox for the relay once the platform is back.
"""

from __future__ import annotations

import base64
import pickle
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import ray

from ds1ray.adapters.live.ports import PortUnavailable, Unavailable
from ds1ray.agents import AGENTS
from ds1ray.agents.base import Agent
from ds1ray.cohort import agent_context
from ds1ray.config import Config
from ds1ray.events.batch import EventBatch
from ds1ray.live.resilience import PlatformUnavailable
from ds1ray.runspec import RunSpec
from ds1ray.store.dead_letters import record_dead_letter
from ds1ray.store.events import EVENT_COLUMNS, Event, event_from_row
from ds1ray.store.handlers import HandlerRegistry, registry
from ds1ray.store.store import Store, open_store
from ds1ray.store.transaction import Transaction

NAMESPACE = "ds1ray-live"
LIVE_RUN = RunSpec("live", seed=0)
LIVE_RUN_ID = "live"
RELAY_HANDLER = "live-relay"
_EVENT_IDS = uuid.UUID("6b1f0c52-6f3e-4c43-9a55-2f1c8e0d7a11")  # namespace of derived event ids


def derived_event_id(*parts: object) -> str:
    """A stable event id for something caused by another event (same cause, same id)."""
    return str(uuid.uuid5(_EVENT_IDS, ":".join(str(p) for p in parts)))


def handler_name(agent_id: str) -> str:
    """The agent's name in processed_events."""
    return f"agent:{agent_id}"


def redeliver_name(agent_id: str) -> str:
    """The agent's name in dead_letters (what `ds1ray dlq redrive` hands back to the relay)."""
    return f"redeliver:{agent_id}"


# Snapshots ------------------------------------------------------------------

def encode_state(state: dict[str, Any]) -> str:
    # Pickle, because a snapshot holds NumPy arrays of several dtypes; it is read back
    # only from the business's own store, never from outside input.
    return base64.b64encode(pickle.dumps(state, protocol=5)).decode("ascii")


def decode_state(text: str) -> dict[str, Any]:
    state: dict[str, Any] = pickle.loads(base64.b64decode(text))
    return state


def save_snapshot(tx: Transaction, agent_id: str, state: dict[str, Any], event_id: str) -> None:
    tx.execute(
        "INSERT INTO live_agent_snapshots (agent_id, state, last_event, saved_at) "
        "VALUES (%s, %s, %s, %s) ON CONFLICT (agent_id) DO UPDATE SET state = excluded.state, "
        "last_event = excluded.last_event, saved_at = excluded.saved_at",
        [agent_id, encode_state(state), event_id, tx.now().isoformat()])


def load_snapshot(store: Store, agent_id: str) -> dict[str, Any] | None:
    text = store.run(lambda tx: tx.scalar(
        "SELECT state FROM live_agent_snapshots WHERE agent_id = %s", [agent_id]))
    return None if text is None else decode_state(str(text))


def read_event(tx: Transaction, event_id: str) -> Event | None:
    row = tx.execute(f"SELECT {', '.join(EVENT_COLUMNS)} FROM event_log WHERE event_id = %s",
                     [event_id]).fetchone()
    return None if row is None else event_from_row(tx, row)


def published_events(agent_id: str, cause: str, batches: Sequence[EventBatch]) -> list[Event]:
    """The store events of what an agent published while handling `cause`."""
    events = []
    for b, batch in enumerate(batches):
        for i, (_, model) in enumerate(batch.events()):
            events.append(Event(
                event_id=derived_event_id(agent_id, cause, b, i), type=batch.type, source=agent_id,
                run_id=LIVE_RUN_ID, correlation_id=cause, payload=model.model_dump(mode="json")))
    return events


# Ports ------------------------------------------------------------------------

class CausedPort:
    """A port in an adapter actor; every call carries the current handling's key."""

    def __init__(self, resolve: Callable[[], Any], port: str, next_key: Callable[[], str | None]
                 ) -> None:
        self._resolve = resolve
        self._port = port
        self._next_key = next_key

    def __getattr__(self, method: str) -> Any:
        if method.startswith("_"):
            raise AttributeError(method)

        def call(*args: Any) -> Any:
            answer = ray.get(self._resolve().call.remote(self._next_key(), self._port, method, *args))
            if isinstance(answer, Unavailable):
                raise PortUnavailable(answer.platform, answer.reason)
            return answer

        return call


def _actor_resolver(name: str) -> Callable[[], Any]:
    handle: list[Any] = []

    def resolve() -> Any:
        if not handle:
            handle.append(ray.get_actor(name, namespace=NAMESPACE))
        return handle[0]

    return resolve


# The actor ------------------------------------------------------------------------

class AgentHost:
    """One agent of the live business; see the module docstring.

    Args:
        config: the live configuration (strategy, declared ports).
        store_url: the store (PostgreSQL, or the embedded file on one machine).
        agent_id: which of `ds1ray.agents.AGENTS`.
        routes: port name → the named adapter actor that serves it.
        slots: product slots of the business.
    """

    def __init__(self, config: Config, store_url: str, agent_id: str, routes: dict[str, str],
                 slots: int) -> None:
        self.agent_id = agent_id
        self.store = open_store(store_url)  # live_agent_snapshots: migration 0005
        self._key: str | None = None
        self._calls = 0
        resolvers = {actor: _actor_resolver(actor) for actor in set(routes.values())}
        ports = {port: CausedPort(resolvers[actor], port, self._next_key)
                 for port, actor in routes.items()}
        context = agent_context(config, [config], [LIVE_RUN], agent_id, slots, ports)
        self.agent: Agent = AGENTS[agent_id](context)
        saved = load_snapshot(self.store, agent_id)
        if saved is not None:
            self.agent.restore(saved)
        self._committed = self.agent.snapshot()
        self.handled = 0
        self.skipped = 0
        self.dead_lettered = 0

    def _next_key(self) -> str | None:
        if self._key is None:
            return None
        self._calls += 1
        return f"{self._key}:{self._calls}"

    def handle(self, event_id: str, batch: EventBatch, consume_key: str | None = None) -> str:
        """Handle one delivered event once: `handled`, `duplicate`, `ignored` or `dead_lettered`.

        `consume_key` is what makes two deliveries the same fact (default: the
        event id; the coordinator passes the order for ORDER_PAID). The handler
        runs outside any store transaction (its port calls may wait on a
        platform; a transaction would hold the embedded store's write lock
        meanwhile); then the snapshot, the processed mark and the published
        events commit in one. A handler run whose commit finds the mark already
        there is discarded: its platform writes carried the same idempotency
        keys as the run that committed, so they had no second effect.
        """
        key = consume_key or event_id
        if batch.type not in self.agent.handled_events():
            return "ignored"
        name = handler_name(self.agent_id)
        if self._processed(name, key):
            self.skipped += 1
            return "duplicate"
        self._rewind()
        self._key, self._calls = f"{self.agent_id}:{key}", 0
        try:
            published = self.agent.handle(batch)
        except (PlatformUnavailable, PortUnavailable) as error:
            self._rewind()
            self._dead_letter(event_id, key, batch, error)
            return "dead_lettered"
        except BaseException:
            self._rewind()
            raise
        finally:
            self._key = None
        state = self.agent.snapshot()
        events = published_events(self.agent_id, key, published)

        def commit(tx: Transaction) -> None:
            save_snapshot(tx, self.agent_id, state, event_id)
            for event in events:
                tx.outbox.add(event)

        try:
            applied = self.store.consume_once(name, key, commit)
        except BaseException:
            self._rewind()
            raise
        if not applied:
            self._rewind()
            self.skipped += 1
            return "duplicate"
        self._committed = state
        self.handled += 1
        return "handled"

    def _processed(self, name: str, key: str) -> bool:
        return self.store.run(lambda tx: tx.scalar(
            "SELECT 1 FROM processed_events WHERE handler = %s AND event_id = %s", [name, key])) is not None

    def _rewind(self) -> None:
        self.agent.restore(self._committed)
        # What a failed handler emitted before it failed must not leak into the next handling.
        self.agent._outbox = []

    def _dead_letter(self, event_id: str, key: str, batch: EventBatch,
                     error: PlatformUnavailable | PortUnavailable) -> None:
        message = f"{type(error).__name__}: {error}"
        product = int(batch["product"][0]) if "product" in batch.columns else -1
        escalation = Event(
            event_id=derived_event_id("escalation", self.agent_id, key), type="ESCALATION_TRIGGERED",
            source=self.agent_id, run_id=LIVE_RUN_ID, correlation_id=key,
            payload={"source": self.agent_id, "reason": f"{error.platform} unavailable",
                     "product": product})

        def record(tx: Transaction) -> None:
            event = read_event(tx, event_id)
            if event is None:
                raise LookupError(f"event {event_id} is not in the event log")
            record_dead_letter(tx, redeliver_name(self.agent_id), event, message, attempts=1)
            tx.outbox.add(escalation)

        self.store.run(record)
        self.dead_lettered += 1

    # Read side (status, dashboard) --------------------------------------------------

    def state(self) -> dict[str, Any]:
        """The agent's committed state (a snapshot), for KPIs and the dashboard."""
        return dict(self._committed)

    def stats(self) -> dict[str, int]:
        return {"handled": self.handled, "duplicates": self.skipped,
                "dead_lettered": self.dead_lettered}

    def ping(self) -> str:
        return self.agent_id


# Redrive -------------------------------------------------------------------------------

def requeue(tx: Transaction, event: Event, *, claimed_as: str) -> None:
    """Put a delivered event back on the outbox, so the relay delivers it again.

    Subscribers that already applied it skip it (their processed marks), so only
    the ones that failed do the work. The redrive's own processed mark is
    removed: the event may fail and be redriven again.
    """
    tx.execute("UPDATE outbox SET published_at = NULL, dead_lettered_at = NULL, attempts = 0, "
               "last_error = NULL, first_failed_at = NULL WHERE event_id = %s", [event.event_id])
    tx.execute("DELETE FROM processed_events WHERE handler = %s AND event_id = %s",
               [claimed_as, event.event_id])


def register_redrive(handlers: HandlerRegistry) -> None:
    """Teach `ds1ray dlq redrive` the live instance's dead-letter names."""
    for name in [*(redeliver_name(agent_id) for agent_id in AGENTS), RELAY_HANDLER]:
        def redeliver(tx: Transaction, event: Event, name: str = name) -> None:
            requeue(tx, event, claimed_as=name)

        if name not in handlers.names():
            handlers.register(name, redeliver)


register_redrive(registry)
