"""Versioned migrations and the schema-version check (both backends)."""

from __future__ import annotations

import sqlite3
import threading
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from ds1ray.errors import UserError
from ds1ray.store import Transaction, migrate_store, open_store, store_status
from ds1ray.store.migrations import Migration, all_migrations, code_version
from ds1ray.store.postgres_backend import PostgresDialect
from ds1ray.store.sqlite_backend import SQLiteDialect

from .conftest import PostgresServer


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database that exists but has no ds1ray schema."""
    if request.param == "sqlite":
        path = tmp_path / "empty.sqlite3"
        sqlite3.connect(path).close()
        return f"sqlite:///{path}"
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return server.new_database(migrated=False)


def set_ledger(url: str, statement: str) -> None:
    with open_store(url) as store:
        store.run(lambda tx: tx.execute(statement))


def test_migrate_applies_every_migration_once(empty_url: str):
    first = migrate_store(empty_url)
    assert (first.before, first.after) == (0, code_version())
    assert first.applied == [f"{m.version:04d}_{m.name}" for m in all_migrations()]
    again = migrate_store(empty_url)
    assert again.applied == [] and again.after == code_version()


def test_a_store_without_the_schema_is_refused_with_the_fixing_command(empty_url: str):
    with pytest.raises(UserError, match=r"has no ds1ray schema.*run `ds1ray db migrate --db"):
        open_store(empty_url)


def test_a_store_behind_the_code_is_refused_until_migrated(empty_url: str):
    migrate_store(empty_url, target=code_version() - 1)
    with pytest.raises(UserError, match=rf"schema version {code_version() - 1}, this ds1ray "
                                        rf"needs version {code_version()}: run `ds1ray db migrate"):
        open_store(empty_url)
    assert store_status(empty_url).pending == [f"{code_version():04d}_{all_migrations()[-1].name}"]
    migrate_store(empty_url)
    with open_store(empty_url) as store:
        assert store.schema_version() == code_version()


def test_a_store_ahead_of_the_code_is_refused_with_the_fixing_command(empty_url: str):
    migrate_store(empty_url)
    set_ledger(empty_url, "INSERT INTO schema_migrations (version, name, checksum, applied_at) "
                          "VALUES (99, 'future', 'x', '2030-01-01T00:00:00+00:00')")
    with pytest.raises(UserError, match=r"version 99, newer than this ds1ray.*upgrade ds1ray"):
        open_store(empty_url)
    with pytest.raises(UserError, match="newer than this ds1ray"):
        migrate_store(empty_url)


def test_status_reports_a_migration_edited_after_it_was_applied(empty_url: str):
    migrate_store(empty_url)
    set_ledger(empty_url, "UPDATE schema_migrations SET checksum = 'edited' WHERE version = 1")
    status = store_status(empty_url)
    assert status.up_to_date and status.modified == ["0001_sweeps"]


@pytest.mark.postgres
def test_concurrent_migrations_apply_each_version_once(postgres_server: PostgresServer):
    url = postgres_server.new_database(migrated=False)
    errors: list[BaseException] = []

    def migrate() -> None:
        try:
            migrate_store(url)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=migrate) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    assert [a.version for a in store_status(url).applied] == list(range(1, code_version() + 1))


@pytest.mark.postgres
def test_both_backends_have_the_same_tables_and_columns(
    postgres_server: PostgresServer, tmp_path: Path
):
    sqlite_url = f"sqlite:///{tmp_path / 'schema.sqlite3'}"
    migrate_store(sqlite_url)
    with open_store(sqlite_url) as store:
        tables = [row[0] for row in store.run(lambda tx: tx.execute(
            "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') "
            "AND name NOT LIKE 'sqlite_%%' ORDER BY name").fetchall())]
        sqlite_columns = {
            table: [row[1] for row in store.run(partial(table_info, table=table))]
            for table in tables
        }
    with open_store(postgres_server.new_database()) as store:
        rows = store.run(lambda tx: tx.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = 'public' ORDER BY table_name, ordinal_position").fetchall())
    postgres_columns: dict[str, list[str]] = {}
    for table, column in rows:
        postgres_columns.setdefault(table, []).append(column)
    assert postgres_columns == sqlite_columns


def table_info(tx: Transaction, table: str) -> list[tuple[Any, ...]]:
    return tx.execute(f'PRAGMA table_info("{table}")').fetchall()


def test_a_migration_renders_its_dialect_sections_and_types():
    migration = Migration(1, "x", "CREATE TABLE t (id {{auto_id}}, doc {{json}});\n"
                                  "-- dialect: postgresql\nSELECT 'pg';\n"
                                  "-- dialect: sqlite\nSELECT 'lite';\n"
                                  "-- dialect: all\nSELECT 'both';\n")
    sqlite = migration.render("sqlite", SQLiteDialect.types)
    postgres = migration.render("postgresql", PostgresDialect.types)
    assert "INTEGER PRIMARY KEY AUTOINCREMENT, doc TEXT" in sqlite
    assert "'lite'" in sqlite and "'pg'" not in sqlite and "'both'" in sqlite
    assert "IDENTITY PRIMARY KEY, doc JSONB" in postgres
    assert "'pg'" in postgres and "'lite'" not in postgres and "'both'" in postgres
    with pytest.raises(ValueError, match=r"unknown placeholder \{\{blob\}\}"):
        Migration(2, "y", "CREATE TABLE t (b {{blob}});").render("sqlite", SQLiteDialect.types)
