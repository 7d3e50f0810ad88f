"""The embedded backend: one SQLite file, no server (the default store).

Writers serialise on SQLite's database lock: every transaction starts with
`BEGIN IMMEDIATE`, which takes the write lock up front, so two writers never
interleave and a claim (outbox row, idempotency key, processed event) is seen
by exactly one of them. That is the guarantee `FOR UPDATE SKIP LOCKED` gives
on PostgreSQL, at the price of concurrency (waiting writers queue for up to
`busy_timeout`). WAL journaling lets readers run beside the writer.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, ClassVar

from ds1ray.errors import UserError
from ds1ray.store.transaction import Transaction
from ds1ray.store.urls import StoreLocation

BUSY_TIMEOUT_SECONDS = 30.0


class SQLiteDialect:
    name = "sqlite"

    types: ClassVar[dict[str, str]] = {
        "auto_id": "INTEGER PRIMARY KEY AUTOINCREMENT",
        "json": "TEXT",
        "timestamp": "TEXT",
        "float": "REAL",
        "float_array": "TEXT",  # a JSON array
        "blob": "BLOB",  # a KPI series' big-endian values (0004)
        "int_array": "TEXT",
    }

    def sql(self, query: str) -> str:
        return query.replace("%s", "?").replace("%%", "%")

    def json(self, value: Any) -> str:
        return json.dumps(value, separators=(",", ":"), allow_nan=True)

    def load_json(self, value: Any) -> Any:
        return None if value is None else json.loads(value)

    def timestamp(self, value: datetime | None) -> str | None:
        # A fixed-width UTC text form, so comparing the text compares the times.
        if value is None:
            return None
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")

    def load_timestamp(self, value: Any) -> datetime | None:
        return None if value is None else datetime.fromisoformat(value)

    def identifier(self, name: str) -> str:
        return f'"{name}"'


class SQLiteBackend:
    """Connections per thread to one SQLite file; transactions start IMMEDIATE."""

    dialect = SQLiteDialect()

    def __init__(self, location: StoreLocation, *, create: bool) -> None:
        assert location.path is not None
        self.location = location
        self.path = location.path
        if not self.path.exists():
            if not create:
                raise UserError(
                    f"no store at {location.describe()}: "
                    f"create it with `ds1ray db migrate --db {location.url}`"
                )
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise UserError(f"cannot create {self.path.parent}: {error.strerror}") from None
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._connect()  # fail now, with a clear message, if the file is unusable

    def _connect(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is not None:
            return connection
        try:
            connection = sqlite3.connect(
                self.path,
                timeout=BUSY_TIMEOUT_SECONDS,
                isolation_level=None,  # we issue BEGIN IMMEDIATE / COMMIT ourselves
                check_same_thread=False,  # close() runs on another thread
            )
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA foreign_keys=ON")
        except sqlite3.DatabaseError as error:
            raise UserError(f"cannot open {self.location.describe()}: {error}") from None
        self._local.connection = connection
        with self._lock:
            self._connections.append(connection)
        return connection

    @contextmanager
    def transaction(self, clock: Callable[[], datetime]) -> Iterator[Transaction]:
        connection = self._connect()
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield Transaction(connection.cursor(), self.dialect, clock)
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")

    def is_transient(self, error: BaseException) -> bool:
        """A lock held past the busy timeout: worth another attempt."""
        return isinstance(error, sqlite3.OperationalError) and "locked" in str(error)

    def table_exists(self, tx: Transaction, table: str) -> bool:
        return tx.scalar("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = %s",
                         [table]) is not None

    def execute_script(self, tx: Transaction, script: str) -> None:
        for statement in split_statements(script):
            tx.cursor.execute(statement)

    def close(self) -> None:
        with self._lock:
            for connection in self._connections:
                connection.close()
            self._connections.clear()
        self._local = threading.local()


def split_statements(script: str) -> list[str]:
    """Split a script into statements; triggers' BEGIN…END bodies stay whole."""
    statements: list[str] = []
    pending = ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            if pending.strip():
                statements.append(pending.strip())
            pending = ""
    if pending.strip() and not all(
        row.strip().startswith("--") or not row.strip() for row in pending.splitlines()
    ):
        raise ValueError(f"incomplete SQL statement at the end of a script: {pending.strip()[:80]}")
    return statements
