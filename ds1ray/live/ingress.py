"""`IngressPoller`: the coordinator's poll of every live ingress port, recorded durably.

Webhooks push (the HTTP app records them); Zendesk tickets and AfterShip
shipments must be pulled. Each poll asks every live ingress port's adapter
actor for its `Polled` answer and commits its events (log + outbox) with the
port's checkpoint in one transaction (`record_polled`); the relay delivers
them like any other event.

A port that cannot be read is counted and escalated, and the others are still
polled: an `Unavailable` answer (the platform still failing after the client's
retries, or its breaker open) or any other error (a dead actor, a page the
client could not parse). One ESCALATION_TRIGGERED is published per outage, at
its first failed poll. Nothing is dead-lettered: no event exists yet, and the
platform keeps the rows; the first poll after recovery reads them from the
recorded checkpoint.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from functools import partial
from typing import Any

from ds1ray.adapters.live.ports import Unavailable
from ds1ray.live.polled import Polled, record_polled
from ds1ray.store.events import Event
from ds1ray.store.store import Store
from ds1ray.store.transaction import Transaction

log = logging.getLogger(__name__)

Fetch = Callable[[], Polled | Unavailable]
EscalationId = Callable[..., str]


class IngressPoller:
    """Polls `ports` (name → fetch of its `Polled` answer) and records what they read.

    Args:
        store: where the events and checkpoints are committed.
        ports: each ingress port's fetch (the coordinator's asks its adapter actor).
        run_id: the events' run id (the live run).
        escalation_id: a stable event id from its parts (`agent_host.derived_event_id`).
    """

    def __init__(self, store: Store, ports: Mapping[str, Fetch], *, run_id: str,
                 escalation_id: EscalationId) -> None:
        self.store = store
        self.ports = dict(ports)
        self.run_id = run_id
        self.escalation_id = escalation_id
        self.polls = 0
        self.recorded: Counter[str] = Counter()
        self.unavailable: Counter[str] = Counter()
        self.failed: Counter[str] = Counter()
        self.outages: dict[str, str] = {}  # port → when its current outage began
        self.last_errors: dict[str, str] = {}

    def poll_all(self) -> dict[str, int]:
        """Poll every port once; per port, how many new events it recorded (-1: not read)."""
        self.polls += 1
        report = {}
        for port, fetch in self.ports.items():
            try:
                answer = fetch()
                if isinstance(answer, Unavailable):
                    self.unavailable[port] += 1
                    self._outage(port, f"{answer.platform} unavailable: {answer.reason}")
                    report[port] = -1
                    continue
                new = self.store.run(partial(record_polled, polled=answer, run_id=self.run_id))
            except Exception as error:  # one port's failure must not stop the others or the coordinator
                log.exception("polling the %s port failed", port)
                self.failed[port] += 1
                self._outage(port, f"polling {port} failed: {type(error).__name__}: {error}")
                report[port] = -1
                continue
            self.outages.pop(port, None)
            self.recorded[port] += new
            report[port] = new
        return report

    def _outage(self, port: str, reason: str) -> None:
        self.last_errors[port] = reason
        if port in self.outages:
            return  # escalated at the outage's first failed poll
        began = datetime.now(UTC).isoformat()
        escalation = Event(
            event_id=self.escalation_id("escalation", "ingress", port, began),
            type="ESCALATION_TRIGGERED", source="coordinator", run_id=self.run_id,
            correlation_id=f"ingress:{port}",
            payload={"source": "coordinator", "reason": reason[:500], "product": -1})

        def record(tx: Transaction) -> None:
            tx.outbox.add(escalation)

        self.store.run(record)
        self.outages[port] = began

    def status(self) -> dict[str, Any]:
        return {"ports": sorted(self.ports), "polls": self.polls, "recorded": dict(self.recorded),
                "unavailable": dict(self.unavailable), "failed": dict(self.failed),
                "outages": dict(self.outages), "last_errors": dict(self.last_errors)}
