"""Fixtures for the store's contract suite: every test runs on both backends.

PostgreSQL tests use a real server (DS1_TEST_POSTGRES_URL, default
postgresql://postgres@127.0.0.1:5432/). The session makes a migrated template
database `ds1ray_test_<pid>_template` and one working copy that the contract
tests share, emptied (TRUNCATE) before each test; tests that need a database
of their own get another copy. All of them are dropped at the end. Without a server the PostgreSQL cases skip
with the reason, unless DS1_REQUIRE_POSTGRES=1, when they fail.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from ds1ray.store import Store, migrate_store, open_store
from ds1ray.store.postgres_backend import describe_connect_error

SERVER_URL = os.environ.get("DS1_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/")
PREFIX = f"ds1ray_test_{os.getpid()}"
_counter = itertools.count()


class PostgresServer:
    """Creates and drops this session's test databases on the test server."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.template = f"{PREFIX}_template"
        self.created: list[str] = []

    def admin(self) -> psycopg.Connection:
        return psycopg.connect(make_conninfo(self.url, dbname="postgres"), autocommit=True,
                               connect_timeout=5)

    def database_url(self, name: str) -> str:
        return make_conninfo(self.url, dbname=name)

    def new_database(self, *, migrated: bool = True) -> str:
        name = f"{PREFIX}_{next(_counter)}"
        with self.admin() as connection:
            template = sql.SQL(" TEMPLATE {}").format(sql.Identifier(self.template)) \
                if migrated else sql.SQL("")
            connection.execute(sql.SQL("CREATE DATABASE {}{}").format(
                sql.Identifier(name), template))
        self.created.append(name)
        return self.database_url(name)

    def make_template(self) -> None:
        with self.admin() as connection:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.template)))
        self.created.append(self.template)
        migrate_store(self.database_url(self.template))

    def empty(self, url: str) -> None:
        """Delete every row (schema_migrations aside) so the next test starts clean."""
        with psycopg.connect(url, autocommit=True) as connection:
            tables = [row[0] for row in connection.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                "AND tablename <> 'schema_migrations'").fetchall()]
            connection.execute(sql.SQL("TRUNCATE {} RESTART IDENTITY CASCADE").format(
                sql.SQL(", ").join(map(sql.Identifier, tables))))

    def drop_all(self) -> None:
        with self.admin() as connection:
            for name in reversed(self.created):
                connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(name)))


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    server = PostgresServer(SERVER_URL)
    try:
        with server.admin():
            pass
    except psycopg.Error as error:
        reason = f"no PostgreSQL server at {SERVER_URL}: {describe_connect_error(error)}"
        if os.environ.get("DS1_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"{reason} (DS1_REQUIRE_POSTGRES=1)")
        pytest.skip(reason)
    server.make_template()
    try:
        yield server
    finally:
        server.drop_all()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'store.sqlite3'}"


BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
]


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of a freshly migrated store, once per backend."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'store.sqlite3'}"
        migrate_store(url)
        return url
    server: PostgresServer = request.getfixturevalue("postgres_server")
    shared: str = request.getfixturevalue("shared_postgres_url")
    server.empty(shared)
    return shared


@pytest.fixture(scope="session")
def shared_postgres_url(postgres_server: PostgresServer) -> str:
    return postgres_server.new_database()


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    with open_store(store_url) as opened:
        yield opened
