"""The PostgreSQL backend: psycopg 3 connections from a checked psycopg_pool.

Pooled connections are checked on checkout (`ConnectionPool.check_connection`),
so after a server restart dead connections are replaced instead of handed out;
a transaction cut by the restart fails as a whole and `Store.run` retries it.
Connection failures become one `UserError` naming host, port and database
(never the password).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, ClassVar

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool, PoolTimeout

from ds1ray.errors import UserError
from ds1ray.store.transaction import Transaction
from ds1ray.store.urls import StoreLocation

CONNECT_TIMEOUT_SECONDS = 5
POOL_MAX_SIZE = 10
# Seconds a caller waits for a pooled connection (covers a server restart).
POOL_CHECKOUT_TIMEOUT = 30.0


class PostgresDialect:
    name = "postgresql"

    types: ClassVar[dict[str, str]] = {
        "auto_id": "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
        "json": "JSONB",
        "timestamp": "TIMESTAMPTZ",
        "float": "DOUBLE PRECISION",
        "float_array": "DOUBLE PRECISION[]",
        "blob": "BYTEA",  # a KPI series' big-endian values (0004)
        "int_array": "INTEGER[]",  # daily counts; checked to fit on write
    }

    def sql(self, query: str) -> str:
        return query

    def json(self, value: Any) -> Jsonb:
        return Jsonb(value)

    def load_json(self, value: Any) -> Any:
        return value  # psycopg already parsed jsonb

    def timestamp(self, value: datetime | None) -> datetime | None:
        return value

    def load_timestamp(self, value: Any) -> datetime | None:
        return value

    def identifier(self, name: str) -> str:
        return sql.Identifier(name).as_string(None)


class PostgresBackend:
    """A connection pool to one PostgreSQL database."""

    dialect = PostgresDialect()

    def __init__(self, location: StoreLocation, *, create: bool, max_size: int = POOL_MAX_SIZE):
        self.location = location
        try:
            probe(location)
        except MissingDatabase:
            if not create:
                raise UserError(
                    f"cannot connect to {location.describe()}: the database does not exist "
                    f"(create it with `ds1ray db migrate --db URL`)"
                ) from None
            create_database(location)
        self.pool = ConnectionPool(
            location.url,
            min_size=1,
            max_size=max_size,
            kwargs={"autocommit": True, "connect_timeout": CONNECT_TIMEOUT_SECONDS},
            check=ConnectionPool.check_connection,
            timeout=POOL_CHECKOUT_TIMEOUT,
            open=True,
            name=f"ds1ray-store-{location.database}",
        )

    @contextmanager
    def transaction(self, clock: Callable[[], datetime]) -> Iterator[Transaction]:
        with self.pool.connection() as connection, connection.transaction():
            yield Transaction(connection.cursor(), self.dialect, clock)

    def is_transient(self, error: BaseException) -> bool:
        """Lost connections, a restarting server, serialisation conflicts."""
        return isinstance(
            error,
            psycopg.OperationalError
            | psycopg.errors.SerializationFailure
            | psycopg.errors.DeadlockDetected
            | PoolTimeout,
        )

    def table_exists(self, tx: Transaction, table: str) -> bool:
        return tx.scalar("SELECT to_regclass(%s) IS NOT NULL", [table]) is True

    def execute_script(self, tx: Transaction, script: str) -> None:
        # Without parameters psycopg sends the script as one simple query.
        tx.cursor.execute(script.encode())

    def close(self) -> None:
        self.pool.close()


class MissingDatabase(Exception):
    """The server answered, but the database does not exist."""


def probe(location: StoreLocation) -> None:
    """Connect once, turning every failure into a clear `UserError`."""
    try:
        with psycopg.connect(location.url, connect_timeout=CONNECT_TIMEOUT_SECONDS):
            pass
    except psycopg.Error as error:
        reason = describe_connect_error(error)
        if reason == "the database does not exist":
            raise MissingDatabase() from None
        raise UserError(f"cannot connect to {location.describe()}: {reason}") from None


def describe_connect_error(error: BaseException) -> str:
    """The cause of a failed connection in a few words, without secrets."""
    text = str(error)
    if re.search(r'database "[^"]*" does not exist', text):
        return "the database does not exist"
    if "password authentication failed" in text or "no password supplied" in text:
        return "authentication failed (wrong user or password)"
    if re.search(r'role "[^"]*" does not exist', text):
        return "authentication failed (the user does not exist)"
    if "Connection refused" in text:
        return "connection refused (is the server running and listening there?)"
    if "timeout expired" in text or "timed out" in text:
        return f"no answer within {CONNECT_TIMEOUT_SECONDS} s (unreachable host?)"
    if "could not translate host name" in text or "Name or service not known" in text:
        return "unknown host name"
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    # The last line carries the server's reason; URLs (and their passwords) are not in it.
    return re.sub(r"password=\S+", "password=***", lines[-1] if lines else type(error).__name__)


def create_database(location: StoreLocation) -> None:
    """CREATE DATABASE through the server's maintenance database `postgres`."""
    maintenance = make_conninfo(location.url, dbname="postgres")
    try:
        with psycopg.connect(maintenance, autocommit=True,
                             connect_timeout=CONNECT_TIMEOUT_SECONDS) as connection:
            connection.execute(
                sql.SQL("CREATE DATABASE {}").format(sql.Identifier(location.database))
            )
    except psycopg.errors.DuplicateDatabase:
        return  # created meanwhile by someone else: fine
    except psycopg.Error as error:
        raise UserError(
            f"cannot create {location.describe()}: {describe_connect_error(error)}"
        ) from None
