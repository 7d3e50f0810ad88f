"""Dead letters: events a handler (or the outbox relay) failed on too many times.

A row keeps the whole event, the handler's name, the number of attempts, the
last error and the first and last failure times. `ds1ray dlq list` shows them;
`ds1ray dlq redrive [ID…]` hands each event to its registered handler again
and, in the same transaction as the handler's writes, removes the row; a
redrive that fails again stays, with its attempts and error updated.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING

from ds1ray.errors import UserError
from ds1ray.store.events import Event
from ds1ray.store.transaction import Row, Transaction

if TYPE_CHECKING:
    from ds1ray.store.handlers import HandlerRegistry
    from ds1ray.store.store import Store

_COLUMNS = "id, handler, event, attempts, last_error, first_failed_at, last_failed_at"


@dataclass(frozen=True)
class DeadLetter:
    id: int
    handler: str
    event: Event
    attempts: int
    last_error: str
    first_failed_at: datetime
    last_failed_at: datetime


@dataclass
class RedriveReport:
    redriven: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.failed


def record_dead_letter(
    tx: Transaction,
    handler: str,
    event: Event,
    error: str,
    *,
    attempts: int,
    first_failed_at: datetime | None = None,
) -> None:
    """Add (or, for the same handler and event, update) a dead letter inside `tx`."""
    now = tx.dialect.timestamp(tx.now())
    first = tx.dialect.timestamp(first_failed_at) if first_failed_at else now
    tx.execute(
        "INSERT INTO dead_letters (handler, event_id, event, attempts, last_error, "
        "first_failed_at, last_failed_at) VALUES (%s, %s, %s, %s, %s, %s, %s) "
        "ON CONFLICT (handler, event_id) DO UPDATE SET "
        "attempts = dead_letters.attempts + excluded.attempts, "
        "last_error = excluded.last_error, last_failed_at = excluded.last_failed_at",
        [handler, event.event_id, tx.dialect.json(event.model_dump(mode="json")), attempts,
         error, first, now],
    )


class DeadLetters:
    """The dead-letter table of one store (`store.dead_letters`)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def list(self, handler: str | None = None) -> list[DeadLetter]:
        def read(tx: Transaction) -> list[DeadLetter]:
            where, params = ("WHERE handler = %s", [handler]) if handler else ("", [])
            rows = tx.execute(
                f"SELECT {_COLUMNS} FROM dead_letters {where} ORDER BY id", params
            ).fetchall()
            return [_dead_letter(tx, row) for row in rows]

        return self.store.run(read)

    def redrive(self, ids: Sequence[int] | None, registry: HandlerRegistry) -> RedriveReport:
        """Re-deliver the given dead letters (all when `ids` is None) to their handlers."""
        letters = self.list()
        if ids is not None:
            known = {letter.id for letter in letters}
            unknown = sorted(set(ids) - known)
            if unknown:
                raise UserError(f"no dead letter with id {', '.join(map(str, unknown))} "
                                f"in {self.store.location.describe()}")
            letters = [letter for letter in letters if letter.id in set(ids)]
        for letter in letters:
            registry.get(letter.handler)  # refuse before redriving anything
        report = RedriveReport()
        for letter in letters:
            try:
                self.store.run(partial(self._redrive_one, letter=letter, registry=registry))
            except Exception as error:  # recorded on the row and reported, not swallowed
                message = f"{type(error).__name__}: {error}"
                self.store.run(partial(_record_redrive_failure, letter_id=letter.id,
                                       message=message))
                report.failed[letter.id] = message
            else:
                report.redriven.append(letter.id)
        return report

    @staticmethod
    def _redrive_one(tx: Transaction, letter: DeadLetter, registry: HandlerRegistry) -> None:
        # The processed mark keeps redrive idempotent: a handler that already
        # applied this event (e.g. redriven twice) is not run again.
        claimed = tx.execute(
            "INSERT INTO processed_events (handler, event_id, processed_at) VALUES (%s, %s, %s) "
            "ON CONFLICT DO NOTHING RETURNING event_id",
            [letter.handler, letter.event.event_id, tx.dialect.timestamp(tx.now())],
        ).fetchone()
        if claimed is not None:
            registry.get(letter.handler)(tx, letter.event)
        tx.execute("DELETE FROM dead_letters WHERE id = %s", [letter.id])


def _record_redrive_failure(tx: Transaction, *, letter_id: int, message: str) -> None:
    tx.execute(
        "UPDATE dead_letters SET attempts = attempts + 1, last_error = %s, last_failed_at = %s "
        "WHERE id = %s",
        [message, tx.dialect.timestamp(tx.now()), letter_id],
    )


def _dead_letter(tx: Transaction, row: Row) -> DeadLetter:
    id_, handler, event, attempts, last_error, first_failed_at, last_failed_at = row
    return DeadLetter(
        id=int(id_),
        handler=handler,
        event=Event.model_validate(tx.dialect.load_json(event)),
        attempts=int(attempts),
        last_error=last_error,
        first_failed_at=tx.dialect.load_timestamp(first_failed_at),  # type: ignore[arg-type]
        last_failed_at=tx.dialect.load_timestamp(last_failed_at),  # type: ignore[arg-type]
    )
