"""The unit of work: one database transaction, the same API on both backends.

A `Transaction` wraps a DB-API cursor inside an open transaction. SQL is
written once, with `%s` placeholders; the backend's `Dialect` adapts it
(`?` on SQLite) and converts JSON and timestamps in both directions. Domain
rows and outgoing events written through one `Transaction` commit or roll back
together: `tx.insert("orders", {...})` and `tx.outbox.add(event)`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from ds1ray.store.outbox import Outbox

Row = tuple[Any, ...]
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")


class Cursor(Protocol):
    """The DB-API cursor subset both sqlite3 and psycopg provide."""

    @property
    def rowcount(self) -> int: ...
    def execute(self, query: Any, params: Any = ..., /) -> Any: ...
    def executemany(self, query: Any, params_seq: Any, /) -> Any: ...
    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...


class Dialect(Protocol):
    """What differs between the SQL of the two backends."""

    @property
    def name(self) -> str: ...

    @property
    def types(self) -> dict[str, str]:
        """Migration placeholders -> this backend's column types."""
        ...

    def sql(self, query: str) -> Any:
        """Adapt a `%s`-placeholder query to the driver."""
        ...

    def json(self, value: Any) -> Any:
        """A JSON parameter."""
        ...

    def load_json(self, value: Any) -> Any:
        """A JSON column value as Python objects."""
        ...

    def timestamp(self, value: datetime | None) -> Any:
        """A timestamp parameter (aware datetime, UTC)."""
        ...

    def load_timestamp(self, value: Any) -> datetime | None:
        """A timestamp column value as an aware datetime."""
        ...

    def identifier(self, name: str) -> str:
        """A quoted identifier (already checked against `_IDENTIFIER`)."""
        ...


class Transaction:
    """One open transaction; commit and rollback belong to whoever opened it."""

    def __init__(self, cursor: Cursor, dialect: Dialect, clock: Callable[[], datetime]) -> None:
        self.cursor = cursor
        self.dialect = dialect
        self._clock = clock
        self._outbox: Outbox | None = None

    @property
    def backend(self) -> str:
        return self.dialect.name

    @property
    def outbox(self) -> Outbox:
        """Events added here are published by the relay after this transaction commits."""
        from ds1ray.store.outbox import Outbox  # the outbox module builds on this one

        if self._outbox is None:
            self._outbox = Outbox(self)
        return self._outbox

    def now(self) -> datetime:
        return self._clock()

    def execute(self, query: str, params: Sequence[Any] = ()) -> Transaction:
        self.cursor.execute(self.dialect.sql(query), tuple(params))
        return self

    def executemany(self, query: str, rows: Iterable[Sequence[Any]]) -> None:
        self.cursor.executemany(self.dialect.sql(query), [tuple(row) for row in rows])

    def fetchone(self) -> Row | None:
        row = self.cursor.fetchone()
        return None if row is None else tuple(row)

    def fetchall(self) -> list[Row]:
        return [tuple(row) for row in self.cursor.fetchall()]

    def scalar(self, query: str, params: Sequence[Any] = ()) -> Any:
        row = self.execute(query, params).fetchone()
        return None if row is None else row[0]

    def insert(self, table: str, row: Mapping[str, Any]) -> None:
        """Insert one row; `created_at`/`updated_at` default to now when the table has them."""
        columns = list(row)
        names = ", ".join(self._identifier(column) for column in columns)
        marks = ", ".join(["%s"] * len(columns))
        self.execute(
            f"INSERT INTO {self._identifier(table)} ({names}) VALUES ({marks})",
            [self._param(value) for value in row.values()],
        )

    def update(self, table: str, key: Mapping[str, Any], changes: Mapping[str, Any]) -> int:
        """Update the rows matching `key`; returns how many changed."""
        if not key or not changes:
            raise ValueError("update needs a non-empty key and changes")
        assignments = ", ".join(f"{self._identifier(column)} = %s" for column in changes)
        condition = " AND ".join(f"{self._identifier(column)} = %s" for column in key)
        self.execute(
            f"UPDATE {self._identifier(table)} SET {assignments} WHERE {condition}",
            [self._param(value) for value in [*changes.values(), *key.values()]],
        )
        return self.cursor.rowcount

    def _param(self, value: Any) -> Any:
        if isinstance(value, datetime):
            return self.dialect.timestamp(value)
        if isinstance(value, dict | list):
            return self.dialect.json(value)
        return value

    def _identifier(self, name: str) -> str:
        # Table and column names come from code, but are still checked so that
        # no text reaches the SQL unquoted.
        if not _IDENTIFIER.match(name):
            raise ValueError(f"not a valid table or column name: {name!r}")
        return self.dialect.identifier(name)
