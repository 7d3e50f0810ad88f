"""Versioned migrations and the schema-version check (both backends)."""

from __future__ import annotations

import json
import sqlite3
import threading
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from ds1ray.errors import UserError
from ds1ray.store import Store, Transaction, migrate_store, open_store, store_status, sweeps
from ds1ray.store.migrations import Migration, all_migrations, code_version
from ds1ray.store.postgres_backend import PostgresDialect
from ds1ray.store.result_tables import DAILY_FLOAT_KPIS, check_cohort, column_specs
from ds1ray.store.sqlite_backend import SQLiteDialect
from ds1ray.store.store import connect_backend
from ds1ray.store.urls import parse_store_url

from .conftest import PostgresServer
from .frames import make_cohort


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
    with pytest.raises(ValueError, match=r"unknown placeholder \{\{nonsense\}\}"):
        Migration(2, "y", "CREATE TABLE t (b {{nonsense}});").render("sqlite", SQLiteDialect.types)


def _write_old_runs(tx: Transaction, store: Store, runs: pd.DataFrame,
                    daily: pd.DataFrame) -> int:
    """The experiment "old", its cohort and runs as every version so far wrote them."""
    experiment_id = sweeps._claim_experiment(
        tx, store, "old", {}, column_specs(runs), column_specs(daily), lock="update")
    tx.execute("INSERT INTO sweep_cohorts (experiment_id, cohort_key, first_run_no, "
               "run_count, daily_order, recorded_at) VALUES (%s, 'c0', 1, %s, %s, %s)",
               [experiment_id, len(runs), check_cohort(runs, daily).daily_order,
                tx.dialect.timestamp(tx.now())])
    marks = ", ".join(["%s"] * len(sweeps.RUN_TABLE_COLUMNS))
    tx.executemany(
        f"INSERT INTO sweep_runs ({', '.join(sweeps.RUN_TABLE_COLUMNS)}) VALUES ({marks})",
        [[experiment_id, number, row[0], "c0", *row[1:]] for number, row in
         enumerate(sweeps._run_rows(runs, ["marketing.allocation", "pricing.markup_tier",
                                           "support.channel", "ops.auto_reorder"]), 1)])
    return experiment_id


def _write_sweep_as_version_5(url: str, runs: pd.DataFrame, daily: pd.DataFrame) -> None:
    """What ds1ray wrote before 0006: one `kpis` blob per run, however many days."""
    store = Store(connect_backend(parse_store_url(url)))  # no version check: it is behind

    def write(tx: Transaction) -> None:
        experiment_id = _write_old_runs(tx, store, runs, daily)
        for number, run_id in enumerate(runs["run_id"], 1):
            rows = daily[daily["run_id"] == run_id]
            tx.execute("INSERT INTO sweep_daily (experiment_id, run_no, first_day, day_count, "
                       "kpis) VALUES (%s, %s, %s, %s, %s)",
                       [experiment_id, number, int(rows["day"].iloc[0]), len(rows),
                        sweeps.kpis_blob([rows[name].to_numpy(
                            dtype=np.float64 if name in DAILY_FLOAT_KPIS else np.int32)
                            for name in sweeps.KPI_SERIES])])

    try:
        store.run(write)
    finally:
        store.close()


def _assert_bit_identical(loaded: pd.DataFrame, written: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(loaded, written)
    for name in DAILY_FLOAT_KPIS:
        assert np.array_equal(loaded[name].to_numpy().view(np.int64),
                              written[name].to_numpy().view(np.int64)), name


def _write_sweep_as_version_3(url: str, runs: pd.DataFrame, daily: pd.DataFrame) -> None:
    """What ds1ray wrote before 0004: one array (PostgreSQL) or JSON array (SQLite) per KPI."""
    store = Store(connect_backend(parse_store_url(url)))  # no version check: it is behind

    def write(tx: Transaction) -> None:
        experiment_id = _write_old_runs(tx, store, runs, daily)
        postgres = tx.backend == "postgresql"
        series = []
        for name in sweeps.KPI_SERIES:
            float_kpi = name in DAILY_FLOAT_KPIS
            cast = ("::float8[]" if float_kpi else "::integer[]") if postgres else ""
            series.append((name, cast, float_kpi))
        marks = ", ".join(f"%s{cast}" for _, cast, _ in series)
        for number, run_id in enumerate(runs["run_id"], 1):
            rows = daily[daily["run_id"] == run_id]
            values = []
            for name, _, float_kpi in series:
                column = [float(v) if float_kpi else int(v) for v in rows[name]]
                if not postgres:  # the old SQLite form: NaN as null, infinities as ±9e999
                    column = json.dumps(column).replace("NaN", "null").replace("Infinity", "9e999")
                values.append(column)
            tx.execute(f"INSERT INTO sweep_daily VALUES (%s, %s, %s, %s, {marks})",
                       [experiment_id, number, int(rows["day"].iloc[0]), len(rows), *values])

    try:
        store.run(write)
    finally:
        store.close()


def test_sweeps_recorded_before_0004_load_back_bit_identical_after_migrating(empty_url: str):
    runs, daily = make_cohort(0, runs=3, days=5)
    # The edges of float64: signed zero, subnormals, the largest values, NaN, infinities.
    daily.loc[0:5, "cash"] = [-0.0, 5e-324, -2.2250738585072014e-308, 1.7976931348623157e308,
                              -1.7976931348623157e308, 1 / 3]
    migrate_store(empty_url, target=3)
    _write_sweep_as_version_3(empty_url, runs, daily)
    assert "0004_daily_blobs" in migrate_store(empty_url).applied
    with open_store(empty_url) as store:
        loaded_runs, loaded_daily = store.load_sweep("old")
        tables = store.run(lambda tx: [store.backend.table_exists(tx, "sweep_daily_0003")])
    pd.testing.assert_frame_equal(loaded_runs, runs)
    _assert_bit_identical(loaded_daily, daily)
    assert tables == [False]


def test_sweeps_recorded_before_0006_load_back_bit_identical_in_spans(empty_url: str):
    runs, daily = make_cohort(0, runs=3, days=300)
    daily = daily[(daily["run_id"] != "c0-r2") | (daily["day"] >= 40)].reset_index(drop=True)
    # The float64 edges and the int32 limits either side of the 128-day span borders.
    edges = [-0.0, 5e-324, -2.2250738585072014e-308, 1.7976931348623157e308, -np.inf, np.nan]
    daily.loc[125:130, "cash"] = edges
    daily.loc[252:257, "roas"] = edges
    daily.loc[126:129, "sessions"] = [2**31 - 1, -(2**31), -1, 0]
    migrate_store(empty_url, target=5)
    _write_sweep_as_version_5(empty_url, runs, daily)
    assert migrate_store(empty_url).applied == ["0006_daily_chunks", "0007_daily_without_run_check"]
    with open_store(empty_url) as store:
        loaded_runs, loaded_daily = store.load_sweep("old")
        spans = store.run(lambda tx: tx.execute(
            "SELECT run_no, first_day, day_count FROM sweep_daily ORDER BY run_no, first_day"
        ).fetchall())
        tables = store.run(lambda tx: [store.backend.table_exists(tx, "sweep_daily_0005"),
                                       store.backend.table_exists(tx, "sweep_daily_0006")])
        view_days = store.run(lambda tx: tx.scalar("SELECT COUNT(*) FROM sweep_daily_rows"))
    pd.testing.assert_frame_equal(loaded_runs, runs)
    _assert_bit_identical(loaded_daily, daily)
    assert [tuple(int(v) for v in span) for span in spans] == [
        (1, 0, 128), (1, 128, 128), (1, 256, 44), (2, 0, 128), (2, 128, 128), (2, 256, 44),
        (3, 40, 128), (3, 168, 128), (3, 296, 4)]
    assert tables == [False, False]
    assert int(view_days) == len(daily)


def test_0005_keeps_the_live_tables_that_live_up_created_before_it(empty_url: str):
    migrate_store(empty_url, target=4)
    store = Store(connect_backend(parse_store_url(empty_url)))  # behind: no version check
    try:
        # What `ds1ray live up` ran before 0005, and a row it wrote.
        store.run(lambda tx: tx.execute(
            "CREATE TABLE IF NOT EXISTS live_settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)"))
        store.run(lambda tx: tx.execute(
            "INSERT INTO live_settings (key, value) VALUES ('business_start_date', '2026-01-05')"))
    finally:
        store.close()
    assert migrate_store(empty_url).applied[:1] == ["0005_live_runtime"]
    with open_store(empty_url) as migrated:
        assert migrated.run(lambda tx: tx.execute(
            "SELECT key, value FROM live_settings").fetchall()) == [
                ("business_start_date", "2026-01-05")]
        for table in ("live_agent_snapshots", "live_platform_ids"):
            assert migrated.run(lambda tx, t=table: migrated.backend.table_exists(tx, t)), table
