"""What the HTTP app asks of the running business: the `LiveBackend` protocol.

The app (`ds1ray.live.app`) reads the record (events, dead letters, health)
from the store itself. Only what the running business knows goes through a
`LiveBackend`: its agents and their state, its KPIs, its circuit breakers and
queue depths, and the door for the user's commands. Two implementations:

- `ds1ray.live.runtime` (the Ray runtime): over the named detached actors in
  the `ds1ray-live` namespace;
- `InProcessBackend` (here): over a simulation `Cohort` of one in this
  process, for staging rehearsals and tests that run the app without Ray.

Every method is synchronous and may block (a Ray backend waits on actor
calls); the app calls them from a worker thread, never on its event loop. A
method that cannot reach the business raises `BackendUnavailable`, which the
app answers with 503 naming the reason.

Shapes (JSON-ready, money in integer cents):

``agents()`` -> one dict per agent, in the manifest's agent order::

    {"name": "ceo", "state": "ALIVE", "restarts": 0}

  `state` is Ray's actor state (`ALIVE`, `RESTARTING`, `DEAD`,
  `PENDING_CREATION`, `DEPENDENCIES_UNREADY`) or `ALIVE` in process.

``kpis()`` -> the business's figures now. Required keys::

    {"day": 12,                         # business days since the start
     "cash_cents": 312_345,
     "revenue_cents": 98_700,           # cumulative
     "ad_spend_cents": 40_100,          # cumulative
     "orders": 41,                      # cumulative paid orders
     "daily_ad_budget_cents": 8_000,    # the CEO's base budget (what `set budget` changes)
     "risk_mode": "normal",             # normal | cautious | crash | halt (paused)
     "campaigns": [{"id": 0, "status": "active", "daily_budget_cents": 4_000}, …]}

  Further numeric keys (sessions, refunds, tickets, active_products, roas, …)
  may be added; the dashboard shows every top-level number it gets.

``submit_command(target, command, argument)`` -> the event id of the
USER_COMMAND it published (`target` is an agent id, normally `ceo`, which
delegates; `command` one of `COMMANDS`; `argument` a string, "" if none).
The command is recorded in the store's event log before it is delivered, so it
is never lost; delivery to the agents is asynchronous in the Ray runtime (the
coordinator's relay) and immediate in process.

``breakers()`` -> `{platform: BreakerSnapshot.as_dict()}` for the live
adapters' circuit breakers (`ds1ray.live.resilience`); `{}` when every
adapter is a mock (mocks have no breakers).

``queue_depths()`` -> `{queue name: pending items}`, at least
`{"outbox": n}` (outbox rows not yet published); a Ray backend adds e.g. the
bus's pending batches per event type.
"""

from __future__ import annotations

import threading
from typing import Any, Protocol, runtime_checkable

import numpy as np

from ds1ray.events.batch import EventBatch
from ds1ray.events.contracts import CAMPAIGN_STATUS_CODES, RISK_MODE_CODES
from ds1ray.store.events import Event, append_event
from ds1ray.store.store import Store
from ds1ray.store.transaction import Transaction

LIVE_RUN_ID = "live"
COMMAND_SOURCE = "user_chat"

# The USER_COMMAND commands the agents understand (ds1ray.agents.ceo and the
# agents it delegates to), with what each argument is.
COMMANDS: dict[str, str] = {
    "set_budget": "daily ad budget in dollars, e.g. 80 or 80.50",
    "pause": "(none) halt all ad spend",
    "resume": "(none) resume after pause",
    "pause_campaign": "campaign (product slot) number",
    "resume_campaign": "campaign (product slot) number",
    "research": "product category (free text, may be empty)",
    "approve": "product (slot) number",
    "reject": "product (slot) number",
    "unpublish": "product (slot) number",
}


class BackendUnavailable(RuntimeError):
    """The running business cannot be reached (an actor is down, the cluster is gone)."""


@runtime_checkable
class LiveBackend(Protocol):
    """What only the running business can answer; see the module docstring for shapes."""

    def agents(self) -> list[dict[str, Any]]:
        """One `{"name", "state", "restarts"}` per agent."""
        ...

    def kpis(self) -> dict[str, Any]:
        """The business's figures now (integer cents); required keys in the module docstring."""
        ...

    def submit_command(self, target: str, command: str, argument: str) -> str:
        """Record and publish a USER_COMMAND; returns its event id."""
        ...

    def breakers(self) -> dict[str, dict[str, Any]]:
        """`{platform: BreakerSnapshot.as_dict()}`; empty when all adapters are mocks."""
        ...

    def queue_depths(self) -> dict[str, int]:
        """`{queue: pending}`, at least `outbox`."""
        ...


def user_command_event(target: str, command: str, argument: str) -> Event:
    """The store event of a USER_COMMAND (both backends record this shape)."""
    if command not in COMMANDS:
        raise ValueError(f"unknown command {command!r}; known: {', '.join(COMMANDS)}")
    return Event(
        type="USER_COMMAND",
        source=COMMAND_SOURCE,
        run_id=LIVE_RUN_ID,
        payload={"target": target, "command": command, "argument": argument},
    )


def outbox_depth(store: Store) -> int:
    """Outbox rows neither published nor dead-lettered."""
    return int(store.run(lambda tx: tx.outbox.pending_count()))


class InProcessBackend:
    """A `LiveBackend` over a simulation cohort of one, in this process (staging, tests).

    The cohort is `ds1ray.cohort.Cohort` with mock adapters. Commands are
    recorded in the store's event log, then delivered straight onto the
    cohort's bus (there is no relay in process, so no outbox row is left
    pending). `advance(days)` moves the business on by whole days.
    """

    def __init__(self, config: Any, store: Store, *, days: int = 365, warm_up_days: int = 0) -> None:
        from ds1ray.cohort import Cohort  # the simulation core; imported here to keep this module light
        from ds1ray.runspec import RunSpec

        self.store = store
        self.cohort = Cohort(config, [RunSpec(LIVE_RUN_ID, seed=0)], days)
        self._lock = threading.Lock()  # the cohort is not thread-safe; app requests are
        self.advance(warm_up_days)

    def advance(self, days: int = 1) -> None:
        """Run the business on by `days` simulated days (never past the cohort's horizon)."""
        with self._lock:
            for _ in range(days):
                if self.cohort.day >= self.cohort.days:
                    break
                self.cohort.step()

    def agents(self) -> list[dict[str, Any]]:
        return [{"name": name, "state": "ALIVE", "restarts": 0} for name in self.cohort.agents]

    def kpis(self) -> dict[str, Any]:
        with self._lock:
            world = self.cohort.world
            ceo: Any = self.cohort.agents["ceo"]
            marketing: Any = self.cohort.agents["marketing"]
            totals = world.ledger.totals
            last = max(self.cohort.day - 1, 0)
            daily = world.daily
            mode = int(ceo.mode[0])
            campaigns = [
                {"id": int(slot), "status": CAMPAIGN_STATUS_CODES[int(marketing.status[0, slot])],
                 "daily_budget_cents": int(marketing.budget[0, slot])}
                for slot in np.nonzero(marketing.status[0] >= 0)[0]
            ]
            roas = float(daily["roas"][last, 0]) if self.cohort.day else float("nan")
            return {
                "day": int(self.cohort.day),
                "cash_cents": int(world.ledger.cash[0]),
                "revenue_cents": int(totals["revenue"][0]),
                "ad_spend_cents": int(totals["ad_spend"][0]),
                "orders": int(daily["orders"][: self.cohort.day, 0].sum()),
                "sessions": int(daily["sessions"][: self.cohort.day, 0].sum()),
                "tickets": int(daily["tickets"][: self.cohort.day, 0].sum()),
                "active_products": int(daily["active_products"][last, 0]),
                "roas": None if np.isnan(roas) else round(roas, 4),
                "daily_ad_budget_cents": int(ceo.base_budget[0]),
                "risk_mode": RISK_MODE_CODES[mode] if mode >= 0 else "normal",
                "campaigns": campaigns,
            }

    def submit_command(self, target: str, command: str, argument: str) -> str:
        event = user_command_event(target, command, argument)

        def record(tx: Transaction) -> None:
            append_event(tx, event)

        with self._lock:
            self.store.run(record)
            bus = self.cohort.bus
            bus.publish(EventBatch.of("USER_COMMAND", np.array([0], np.int64),
                                      target=target, command=command, argument=argument))
            bus.drain()
        return event.event_id

    def breakers(self) -> dict[str, dict[str, Any]]:
        return {}  # every adapter is a mock: no platform, no breaker

    def queue_depths(self) -> dict[str, int]:
        return {"outbox": outbox_depth(self.store)}
