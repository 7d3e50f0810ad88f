"""`ActorBackend`: the HTTP app's `LiveBackend` over the live instance's Ray actors.

The app asks the running business for its agents, KPIs, breakers and queues,
and hands it the user's commands. Here each answer comes from the named actors
of the `ds1ray-live` namespace: Ray's actor table for agent states and
restarts, the agent hosts' committed snapshots (the CEO's risk mode and base
budget, marketing's campaigns), the staging market's books (in live, the
books are the platforms'), the adapters' circuit breakers, and the store for
queue depths. A command is recorded in the store's event log and outbox in
one transaction and delivered by the coordinator's relay, so it survives any
actor restart.
"""

from __future__ import annotations

import contextlib
from typing import Any

import numpy as np
import ray

from ds1ray.events.contracts import CAMPAIGN_STATUS_CODES, RISK_MODE_CODES
from ds1ray.live.agent_host import NAMESPACE
from ds1ray.live.backend import BackendUnavailable, outbox_depth, user_command_event
from ds1ray.store.store import Store
from ds1ray.store.transaction import Transaction

CALL_TIMEOUT_SECONDS = 10.0
AGENT_ORDER = ("ceo", "research", "supplier", "store", "marketing", "support", "ops", "analytics")


class ActorBackend:
    """A `LiveBackend` over the live actors (Ray must be connected to the cluster)."""

    def __init__(self, store: Store, *, market: str = "adapter:market") -> None:
        self.store = store
        self.market = market

    def _actor(self, name: str) -> Any:
        try:
            return ray.get_actor(name, namespace=NAMESPACE)
        except ValueError:
            raise BackendUnavailable(f"actor {name!r} is not running in namespace {NAMESPACE!r}") from None

    def _get(self, ref: Any) -> Any:
        try:
            return ray.get(ref, timeout=CALL_TIMEOUT_SECONDS)
        except (ray.exceptions.RayError, TimeoutError) as error:
            raise BackendUnavailable(f"{type(error).__name__}: {error}") from None

    def agents(self) -> list[dict[str, Any]]:
        from ds1ray.live.runtime import live_actors

        known = {str(a["name"]): a for a in live_actors()}
        agents = []
        for agent_id in AGENT_ORDER:
            actor = known.get(f"agent:{agent_id}")
            agents.append({"name": agent_id, "state": actor["state"] if actor else "DEAD",
                           "restarts": int(actor["restarts"]) if actor else 0})
        return agents

    def kpis(self) -> dict[str, Any]:
        figures: dict[str, Any] = {"day": 0, "cash_cents": 0, "revenue_cents": 0,
                                   "ad_spend_cents": 0, "orders": 0}
        # With live adapters there is no simulated market: the books are the platforms'.
        with contextlib.suppress(BackendUnavailable):
            figures.update(self._get(self._actor(self.market).kpis.remote()))
        # A live shop's balance is the business's cash; the simulated market's is not.
        with contextlib.suppress(BackendUnavailable):
            balance = self._get(self._actor("adapter:shop").call.remote(None, "shop", "balance"))
            figures["cash_cents"] = int(np.asarray(balance)[0])
        ceo = self._get(self._actor("agent:ceo").state.remote())
        marketing = self._get(self._actor("agent:marketing").state.remote())
        mode = int(np.asarray(ceo["mode"])[0])
        status, budget = np.asarray(marketing["status"])[0], np.asarray(marketing["budget"])[0]
        figures.update({
            "daily_ad_budget_cents": int(np.asarray(ceo["base_budget"])[0]),
            "risk_mode": RISK_MODE_CODES[mode] if mode >= 0 else "normal",
            "campaigns": [{"id": int(slot), "status": CAMPAIGN_STATUS_CODES[int(status[slot])],
                           "daily_budget_cents": int(budget[slot])}
                          for slot in np.nonzero(status >= 0)[0]],
        })
        return figures

    def submit_command(self, target: str, command: str, argument: str) -> str:
        event = user_command_event(target, command, argument)

        def record(tx: Transaction) -> None:
            tx.outbox.add(event)

        self.store.run(record)
        return event.event_id

    def breakers(self) -> dict[str, dict[str, Any]]:
        from ds1ray.live.runtime import live_actors

        found: dict[str, dict[str, Any]] = {}
        for actor in live_actors():
            name = str(actor["name"])
            if name.startswith("adapter:") and actor["state"] == "ALIVE":
                found.update(self._get(self._actor(name).breakers.remote()))
        return found

    def queue_depths(self) -> dict[str, int]:
        dead = int(self.store.run(lambda tx: tx.scalar("SELECT COUNT(*) FROM dead_letters")))
        return {"outbox": outbox_depth(self.store), "dead_letters": dead}
