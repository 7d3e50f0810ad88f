"""The store: one interface over the embedded SQLite file and PostgreSQL.

`open_store(url)` picks the backend from the URL, checks that the database's
schema version equals the code's (refusing, with the command that fixes it,
when it is behind or ahead) and returns a `Store`. Every write happens in a
`Transaction`; `Store.run` retries a whole transaction when the connection is
lost (a PostgreSQL restart), which is safe because every write path claims a
unique key (cohort, event id, idempotency key) inside its own transaction.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from ds1ray.errors import UserError
from ds1ray.store import migrations
from ds1ray.store.transaction import Dialect, Transaction
from ds1ray.store.urls import StoreLocation, database_url, parse_store_url

if TYPE_CHECKING:
    import pandas as pd

    from ds1ray.store.dead_letters import DeadLetters
    from ds1ray.store.events import Event
    from ds1ray.store.idempotency import IdempotencyKeys

T = TypeVar("T")
Clock = Callable[[], datetime]

DEFAULT_DATABASE = "dropship_sim"
RETRY_FOR_SECONDS = 60.0
_ADVISORY_LOCK_MIGRATIONS = 0x64733172  # "ds1r": one migrator at a time on PostgreSQL


def utc_now() -> datetime:
    return datetime.now(UTC)


class Backend(Protocol):
    @property
    def location(self) -> StoreLocation: ...
    @property
    def dialect(self) -> Dialect: ...

    def transaction(self, clock: Clock) -> AbstractContextManager[Transaction]: ...
    def is_transient(self, error: BaseException) -> bool: ...
    def table_exists(self, tx: Transaction, table: str) -> bool: ...
    def execute_script(self, tx: Transaction, script: str) -> None: ...
    def close(self) -> None: ...


def connect_backend(location: StoreLocation, *, create: bool = False) -> Backend:
    """The backend for `location`; `create` makes a missing database (migrate only)."""
    if location.backend == "sqlite":
        from ds1ray.store.sqlite_backend import SQLiteBackend

        return SQLiteBackend(location, create=create)
    from ds1ray.store.postgres_backend import PostgresBackend

    return PostgresBackend(location, create=create)


def resolve_url(url: str | None) -> str:
    """An explicit URL wins; otherwise DS1_DATABASE_URL, else the embedded simulation store."""
    return url if url else database_url(DEFAULT_DATABASE)


class Store:
    """An open store: transactions, sweeps, events, idempotency, dead letters."""

    def __init__(self, backend: Backend, *, clock: Clock = utc_now) -> None:
        self.backend = backend
        self.clock = clock

    @property
    def location(self) -> StoreLocation:
        return self.backend.location

    @property
    def dialect(self) -> str:
        """`sqlite` or `postgresql`."""
        return self.backend.dialect.name

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self.backend.close()

    # Transactions ---------------------------------------------------------

    def transaction(self) -> AbstractContextManager[Transaction]:
        """One transaction (no retry): commits on success, rolls back on error."""
        return self.backend.transaction(self.clock)

    def run(self, work: Callable[[Transaction], T], *, retry_for: float = RETRY_FOR_SECONDS) -> T:
        """Run `work` in a transaction, retrying it whole after a lost connection.

        `work` may run more than once, so it must only write to the database
        (plus effects that are safe to repeat).
        """
        deadline = time.monotonic() + retry_for
        attempt = 0
        while True:
            try:
                with self.transaction() as tx:
                    return work(tx)
            except Exception as error:
                if not self.backend.is_transient(error) or time.monotonic() >= deadline:
                    raise
                attempt += 1
                # Full-jitter exponential backoff, capped at 2 s.
                time.sleep(random.uniform(0, min(2.0, 0.05 * 2**attempt)))

    def consume_once(self, handler: str, event_id: str, fn: Callable[[Transaction], Any]) -> bool:
        """Run `fn` for (handler, event) at most once; False if it already ran.

        The processed mark and fn's writes commit in one transaction, so a
        redelivered event finds the mark and has no second effect; if fn fails,
        neither the writes nor the mark survive and the event can be retried.
        """

        def work(tx: Transaction) -> bool:
            claimed = tx.execute(
                "INSERT INTO processed_events (handler, event_id, processed_at) "
                "VALUES (%s, %s, %s) ON CONFLICT DO NOTHING RETURNING event_id",
                [handler, event_id, tx.dialect.timestamp(tx.now())],
            ).fetchone()
            if claimed is None:
                return False
            fn(tx)
            return True

        return self.run(work)

    # Areas ------------------------------------------------------------------

    def record_sweep_cohort(
        self,
        experiment: str,
        manifest: dict[str, Any],
        runs: pd.DataFrame,
        daily: pd.DataFrame,
        cohort_key: str,
    ) -> bool:
        """Record one cohort of a sweep; False (and nothing written) if already recorded."""
        from ds1ray.store.sweeps import record_sweep_cohort

        return record_sweep_cohort(self, experiment, manifest, runs, daily, cohort_key)

    def record_sweep_cohorts(
        self,
        experiment: str,
        manifest: dict[str, Any],
        cohorts: Iterable[tuple[pd.DataFrame, pd.DataFrame, str]],
        *,
        parallel: int = 2,
    ) -> list[bool]:
        """Record cohorts `(runs, daily, cohort_key)`, up to `parallel` transactions at once.

        One flag per cohort, as `record_sweep_cohort` returns it.
        """
        from ds1ray.store.sweeps import record_sweep_cohorts

        return record_sweep_cohorts(self, experiment, manifest, cohorts, parallel=parallel)

    def load_sweep(self, experiment: str) -> tuple[pd.DataFrame, pd.DataFrame]:
        from ds1ray.store.sweeps import load_sweep

        return load_sweep(self, experiment)

    def append_event(self, event: Event) -> bool:
        """Append to the event log only (no outbox); False if the event id exists."""
        from ds1ray.store.events import append_event

        return self.run(lambda tx: append_event(tx, event))

    @property
    def idempotency(self) -> IdempotencyKeys:
        from ds1ray.store.idempotency import IdempotencyKeys

        return IdempotencyKeys(self)

    @property
    def dead_letters(self) -> DeadLetters:
        from ds1ray.store.dead_letters import DeadLetters

        return DeadLetters(self)

    # Schema -----------------------------------------------------------------

    def schema_version(self) -> int:
        def read(tx: Transaction) -> int:
            applied = migrations.applied_migrations(self.backend, tx)
            return applied[-1].version if applied else 0

        return self.run(read)


def open_store(url: str | None = None, *, migrate: bool = False, clock: Clock = utc_now) -> Store:
    """Open the store at `url` (see `resolve_url`), checking its schema version.

    With `migrate=True` a missing database is created and pending migrations are
    applied first; otherwise a store behind or ahead of the code is refused.
    """
    location = parse_store_url(resolve_url(url))
    if migrate:
        migrate_store(location.url, clock=clock)
    backend = connect_backend(location)
    store = Store(backend, clock=clock)
    try:
        check_schema_version(location, store.schema_version())
    except BaseException:
        store.close()
        raise
    return store


def check_schema_version(location: StoreLocation, version: int) -> None:
    expected = migrations.code_version()
    if version < expected:
        state = "has no ds1ray schema" if version == 0 else f"is at schema version {version}"
        raise UserError(
            f"{location.describe()} {state}, this ds1ray needs version {expected}: "
            f"run `ds1ray db migrate --db {location.safe_url()}`"
        )
    if version > expected:
        raise UserError(
            f"{location.describe()} is at schema version {version}, newer than this ds1ray "
            f"(version {expected}): upgrade ds1ray (`pip install -U ds1ray`) or point --db / "
            f"DS1_DATABASE_URL at a store made by this version"
        )


@dataclass
class MigrationReport:
    location: StoreLocation
    before: int
    after: int
    applied: list[str] = field(default_factory=list)


def migrate_store(
    url: str | None = None, *, target: int | None = None, clock: Clock = utc_now
) -> MigrationReport:
    """Create the database if missing and apply pending migrations (up to `target`)."""
    location = parse_store_url(resolve_url(url))
    backend = connect_backend(location, create=True)
    store = Store(backend, clock=clock)
    types = backend.dialect.types
    try:
        before = store.schema_version()
        if before > migrations.code_version():
            check_schema_version(location, before)
        applied: list[str] = []
        for migration in migrations.all_migrations():
            if target is not None and migration.version > target:
                break

            def apply(tx: Transaction, migration: migrations.Migration = migration) -> bool:
                if tx.backend == "postgresql":
                    tx.execute("SELECT pg_advisory_xact_lock(%s)", [_ADVISORY_LOCK_MIGRATIONS])
                migrations.ensure_ledger(backend, tx, types)
                done = {m.version for m in migrations.applied_migrations(backend, tx)}
                if migration.version in done:
                    return False
                migrations.apply_migration(backend, tx, migration, types)
                return True

            if store.run(apply):
                applied.append(f"{migration.version:04d}_{migration.name}")
        return MigrationReport(location, before, store.schema_version(), applied)
    finally:
        store.close()


@dataclass
class StoreStatus:
    location: StoreLocation
    version: int
    code_version: int
    applied: list[migrations.AppliedMigration]
    pending: list[str]
    modified: list[str]  # applied migrations whose file changed since

    @property
    def up_to_date(self) -> bool:
        return self.version == self.code_version


def store_status(url: str | None = None) -> StoreStatus:
    """The schema state of the store at `url`, without changing anything."""
    location = parse_store_url(resolve_url(url))
    backend = connect_backend(location)
    store = Store(backend)
    try:
        applied = store.run(lambda tx: migrations.applied_migrations(backend, tx))
    finally:
        store.close()
    shipped = {m.version: m for m in migrations.all_migrations()}
    done = {a.version for a in applied}
    return StoreStatus(
        location=location,
        version=applied[-1].version if applied else 0,
        code_version=migrations.code_version(),
        applied=applied,
        pending=[f"{m.version:04d}_{m.name}" for m in shipped.values() if m.version not in done],
        modified=[
            f"{a.version:04d}_{a.name}"
            for a in applied
            if a.version in shipped and shipped[a.version].checksum != a.checksum
        ],
    )
