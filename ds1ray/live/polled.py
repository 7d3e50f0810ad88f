"""`Polled`: what one poll of a live ingress port read, and the port state reading it advances.

A live ingress port (Zendesk tickets, AfterShip shipments) remembers how far
it has read: a cursor in `live_settings`, marks in `live_platform_ids` (a
ticket already announced, a shipment already reported shipped). If a poll
wrote that state itself and the process died before the caller recorded the
events, the next poll would start past them: they would be lost. So a port's
`pending()` writes nothing; it answers a `Polled` that carries the events
(each with a deterministic id derived from the platform's id) and the state to
write, and the caller commits both in one transaction (`record_polled`). A
crash before that commit leaves the state where it was, so the next poll reads
the same rows again; a row recorded twice is a no-op insert of a known id.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ds1ray.adapters.live.ports import PlatformId, put_platform_id
from ds1ray.events.batch import EventBatch
from ds1ray.store.events import Event
from ds1ray.store.transaction import Transaction


@dataclass(frozen=True)
class Polled:
    """One poll's events and checkpoint.

    Attributes:
        source: the platform the rows come from (the events' `source`).
        batches: the rows, as the port's contract batches.
        event_ids: one id per row, in batch order, derived from the platform's id.
        settings: `live_settings` rows to write (a cursor).
        platform_ids: `live_platform_ids` rows to write (what the port now knows it announced).
    """

    source: str
    batches: list[EventBatch] = field(default_factory=list)
    event_ids: list[str] = field(default_factory=list)
    settings: dict[str, str] = field(default_factory=dict)
    platform_ids: list[PlatformId] = field(default_factory=list)

    def __post_init__(self) -> None:
        rows = sum(len(batch) for batch in self.batches)
        if rows != len(self.event_ids):
            raise ValueError(f"a poll of {self.source} has {rows} rows but {len(self.event_ids)} event ids")

    def events(self, run_id: str) -> list[Event]:
        """The store events of the rows (contract fields as the payload, like agents' events)."""
        rows = (model for batch in self.batches for _, model in batch.events())
        types = (batch.type for batch in self.batches for _ in range(len(batch)))
        return [Event(event_id=event_id, type=event_type, source=self.source, run_id=run_id,
                      payload=model.model_dump(mode="json"))
                for event_id, event_type, model in zip(self.event_ids, types, rows, strict=True)]

    def checkpoint(self, tx: Transaction) -> None:
        """Write the port state this poll advanced, in the caller's transaction."""
        for key, value in self.settings.items():
            tx.execute("INSERT INTO live_settings (key, value) VALUES (%s, %s) "
                       "ON CONFLICT (key) DO UPDATE SET value = excluded.value", [key, value])
        for record in self.platform_ids:
            put_platform_id(tx, record)


def record_polled(tx: Transaction, polled: Polled, run_id: str) -> int:
    """Log and queue the poll's events and write its checkpoint, in one transaction.

    Returns how many events were new; an event whose id is already logged (a
    re-poll after a crash, a page read twice) is skipped by the insert.
    """
    new = sum(tx.outbox.add(event) for event in polled.events(run_id))
    polled.checkpoint(tx)
    return new
