"""Stored events: the append-only event log every live event goes through.

An `Event` is one fact (type, source, payload) with a unique `event_id` for
deduplication, a `correlation_id` tying a chain of events together, and the
`run_id` it belongs to. The log refuses UPDATE and DELETE (a trigger on both
backends); appending an existing event id is a no-op, so a redelivered
webhook is recorded once.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ds1ray.store.transaction import Row, Transaction

EVENT_COLUMNS = ("event_id", "correlation_id", "run_id", "type", "source", "payload", "created_at")


def new_event_id() -> str:
    return str(uuid.uuid4())


class Event(BaseModel):
    """One event as stored and published."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_id: str = Field(default_factory=new_event_id, min_length=1, max_length=255)
    type: str = Field(min_length=1)
    source: str = Field(min_length=1)
    payload: dict[str, Any] = Field(default_factory=dict)
    correlation_id: str | None = None
    run_id: str | None = None
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))


def append_event(tx: Transaction, event: Event) -> bool:
    """Append `event` to the log; False if an event with its id is already there."""
    inserted = tx.execute(
        f"INSERT INTO event_log ({', '.join(EVENT_COLUMNS)}) VALUES (%s, %s, %s, %s, %s, %s, %s) "
        "ON CONFLICT (event_id) DO NOTHING RETURNING event_id",
        [event.event_id, event.correlation_id, event.run_id, event.type, event.source,
         tx.dialect.json(event.payload), tx.dialect.timestamp(event.created_at)],
    ).fetchone()
    return inserted is not None


def event_from_row(tx: Transaction, row: Row) -> Event:
    """An `Event` from a row selected as `EVENT_COLUMNS`."""
    event_id, correlation_id, run_id, type_, source, payload, created_at = row
    return Event(
        event_id=event_id,
        correlation_id=correlation_id,
        run_id=run_id,
        type=type_,
        source=source,
        payload=tx.dialect.load_json(payload),
        created_at=tx.dialect.load_timestamp(created_at),
    )


def read_events(
    tx: Transaction, *, correlation_id: str | None = None, limit: int = 1000
) -> list[Event]:
    """Events in log order (creation time, then id), optionally of one correlation."""
    where, params = ("WHERE correlation_id = %s", [correlation_id]) if correlation_id else ("", [])
    rows = tx.execute(
        f"SELECT {', '.join(EVENT_COLUMNS)} FROM event_log {where} "
        "ORDER BY created_at, event_id LIMIT %s",
        [*params, limit],
    ).fetchall()
    return [event_from_row(tx, row) for row in rows]
