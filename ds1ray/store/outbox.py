"""The transactional outbox and the relay that drains it.

`tx.outbox.add(event)` writes the event to the log and to the outbox in the
caller's transaction, so the event exists if and only if the domain change
committed. `OutboxRelay.drain()` claims pending rows, calls `publish(event)`
for each and marks a row published only after publish returned. Claims use
`FOR UPDATE SKIP LOCKED` on PostgreSQL, so several relays share the work
without publishing a row twice; on SQLite the relay's `BEGIN IMMEDIATE`
transaction holds the single write lock, which gives the same guarantee (the
relays take turns). Delivery is at least once: if the process dies between
publish and commit the row is published again, so consumers dedupe on the
event id (`Store.consume_once`). A row failing `max_attempts` times moves to
the dead letters under the relay's name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ds1ray.store.dead_letters import record_dead_letter
from ds1ray.store.events import EVENT_COLUMNS, Event, append_event, event_from_row
from ds1ray.store.transaction import Transaction

if TYPE_CHECKING:
    from ds1ray.store.handlers import HandlerRegistry
    from ds1ray.store.store import Store

Publish = Callable[[Event], None]


class Outbox:
    """The outbox of one open transaction (`tx.outbox`)."""

    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    def add(self, event: Event) -> bool:
        """Log `event` and queue it for publishing; False if its id was already logged."""
        appended = append_event(self._tx, event)
        self._tx.execute(
            "INSERT INTO outbox (event_id, created_at) VALUES (%s, %s) "
            "ON CONFLICT (event_id) DO NOTHING",
            [event.event_id, self._tx.dialect.timestamp(self._tx.now())],
        )
        return appended

    def pending_count(self) -> int:
        return int(self._tx.scalar(
            "SELECT COUNT(*) FROM outbox WHERE published_at IS NULL AND dead_lettered_at IS NULL"
        ))


@dataclass
class RelayReport:
    published: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    dead_lettered: list[str] = field(default_factory=list)

    def merge(self, other: RelayReport) -> None:
        self.published += other.published
        self.failed += other.failed
        self.dead_lettered += other.dead_lettered


class OutboxRelay:
    """Publishes committed outbox rows, oldest first."""

    def __init__(
        self,
        store: Store,
        publish: Publish,
        *,
        name: str = "outbox-relay",
        batch_size: int = 100,
        max_attempts: int = 5,
    ) -> None:
        if batch_size < 1 or max_attempts < 1:
            raise ValueError("batch_size and max_attempts must be at least 1")
        self.store = store
        self.publish = publish
        self.name = name
        self.batch_size = batch_size
        self.max_attempts = max_attempts

    def drain_once(self) -> RelayReport:
        """Claim one batch and publish it; rows others hold are skipped, not waited for."""
        return self.store.run(self._drain_batch)

    def drain(self, *, max_batches: int | None = None) -> RelayReport:
        """Drain until a batch publishes nothing new (failures stay for the next drain)."""
        total = RelayReport()
        batches = 0
        while max_batches is None or batches < max_batches:
            report = self.drain_once()
            total.merge(report)
            batches += 1
            if not report.published and not report.dead_lettered:
                break
        return total

    def register_redrive(self, registry: HandlerRegistry) -> None:
        """Let `ds1ray dlq redrive` re-publish this relay's dead letters."""

        def republish(tx: Transaction, event: Event) -> None:
            self.publish(event)
            tx.execute(
                "UPDATE outbox SET published_at = %s, dead_lettered_at = NULL WHERE event_id = %s",
                [tx.dialect.timestamp(tx.now()), event.event_id],
            )

        registry.register(self.name, republish)

    def _drain_batch(self, tx: Transaction) -> RelayReport:
        lock = " FOR UPDATE OF o SKIP LOCKED" if tx.backend == "postgresql" else ""
        columns = ", ".join(f"e.{column}" for column in EVENT_COLUMNS)
        rows = tx.execute(
            f"SELECT o.id, o.attempts, {columns} FROM outbox o "
            "JOIN event_log e ON e.event_id = o.event_id "
            "WHERE o.published_at IS NULL AND o.dead_lettered_at IS NULL "
            f"ORDER BY o.id LIMIT %s{lock}",
            [self.batch_size],
        ).fetchall()
        report = RelayReport()
        for outbox_id, attempts, *event_row in rows:
            event = event_from_row(tx, tuple(event_row))
            try:
                self.publish(event)
            except Exception as error:  # any publish failure is recorded, never dropped
                self._record_failure(tx, outbox_id, int(attempts) + 1, event, error, report)
                continue
            tx.execute(
                "UPDATE outbox SET published_at = %s, attempts = attempts + 1 WHERE id = %s",
                [tx.dialect.timestamp(tx.now()), outbox_id],
            )
            report.published.append(event.event_id)
        return report

    def _record_failure(
        self,
        tx: Transaction,
        outbox_id: int,
        attempts: int,
        event: Event,
        error: Exception,
        report: RelayReport,
    ) -> None:
        message = f"{type(error).__name__}: {error}"
        now = tx.dialect.timestamp(tx.now())
        tx.execute(
            "UPDATE outbox SET attempts = %s, last_error = %s, "
            "first_failed_at = COALESCE(first_failed_at, %s) WHERE id = %s",
            [attempts, message, now, outbox_id],
        )
        if attempts < self.max_attempts:
            report.failed.append(event.event_id)
            return
        first_failed_at = tx.dialect.load_timestamp(
            tx.scalar("SELECT first_failed_at FROM outbox WHERE id = %s", [outbox_id])
        )
        tx.execute("UPDATE outbox SET dead_lettered_at = %s WHERE id = %s", [now, outbox_id])
        record_dead_letter(
            tx, self.name, event, message, attempts=attempts, first_failed_at=first_failed_at
        )
        report.dead_lettered.append(event.event_id)
