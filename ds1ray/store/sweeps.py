"""Recording sweep results in the store and reading them back.

`record_sweep_cohort` writes one cohort (its runs and daily KPIs) in one
transaction that first claims `(experiment, cohort_key)`: a cohort already
recorded writes nothing, an interrupted write leaves nothing, and a write cut
by a lost connection is retried whole. PostgreSQL gets the rows through COPY
(binary, built with NumPy for the daily KPIs); SQLite through executemany.
A run's daily KPIs are stored as blobs (`sweep_daily.kpis`, migrations 0004 and
0006), one row per span of at most `SPAN_DAYS` days: each KPI's series over the
span in turn, its values big-endian (float64, or int32 for the counts);
`kpis_layout` describes one. Spans keep each row within a PostgreSQL page, so
nothing goes through TOAST.
`load_sweep` returns the frames as written: same columns, order and dtypes.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd
import psycopg
from psycopg.copy import QueuedLibpqWriter

from ds1ray.errors import UserError
from ds1ray.store import pg_copy
from ds1ray.store.result_tables import (
    DAILY_FLOAT_KPIS,
    DAY_MAJOR,
    RUN_FIXED_COLUMNS,
    RUN_INT_OUTCOMES,
    RUN_NULLABLE_INT_OUTCOMES,
    RUN_OUTCOMES,
    CheckedCohort,
    check_cohort,
    column_specs,
    restore_dtype,
)
from ds1ray.store.transaction import Transaction

if TYPE_CHECKING:
    from ds1ray.store.store import Store

# The KPI series in a `kpis` blob, in order.
KPI_SERIES = (
    "cash", "revenue", "ad_spend", "orders", "sessions", "checkouts", "refunds", "tickets",
    "active_products", "roas",
)
RUN_TABLE_COLUMNS = (
    "experiment_id", "run_no", "run_id", "cohort_key", "seed", "strategy", "parameters",
    *RUN_OUTCOMES,
)
DAILY_TABLE_COLUMNS = ("experiment_id", "run_no", "first_day", "day_count", "kpis")
COPY_BLOCK_RUNS = 256  # runs per COPY write: ~1.8 MB for a 128-day span
# Days per sweep_daily row: 56 × 128 bytes of KPIs fit a page with the row's other
# columns (PostgreSQL's limit is 8,160 bytes), so a row is stored inline, never in
# TOAST chunks (migration 0006; docs/store.md, "Benchmark").
SPAN_DAYS = 128


@dataclass(frozen=True)
class DailyGroup:
    """Runs (by position in `runs`) with the same number of days, as (runs × days) matrices."""

    positions: np.ndarray
    first_days: np.ndarray
    matrices: dict[str, np.ndarray]


@dataclass(frozen=True)
class CohortRows:
    """A cohort's rows as written: its runs' rows and its daily KPI matrices."""

    run_rows: list[list[Any]]
    groups: list[DailyGroup]


@dataclass(frozen=True)
class PreparedCohort:
    """A validated cohort (nothing written yet); `rows()` builds what is written."""

    key: str
    run_ids: pd.Series
    run_count: int
    daily_order: str
    runs_columns: list[list[str]]
    daily_columns: list[list[str]]
    runs: pd.DataFrame
    daily: pd.DataFrame
    checked: CheckedCohort

    def rows(self) -> CohortRows:
        # Built by the thread that writes the cohort, not up front: every check is
        # done by then (prepare_cohort), and building the next cohort's rows
        # overlaps the server's work on the previous one.
        return CohortRows(
            run_rows=_run_rows(self.runs, self.checked.parameters),
            groups=_daily_groups(self.daily, self.checked, self.run_count),
        )


def prepare_cohort(runs: pd.DataFrame, daily: pd.DataFrame, cohort_key: str) -> PreparedCohort:
    """Check one cohort against the result-table contract (writing needs nothing else)."""
    if not cohort_key or not isinstance(cohort_key, str):
        raise ValueError("cohort_key must be a non-empty string")
    checked = check_cohort(runs, daily)
    _check_parameter_values(runs, checked.parameters)
    return PreparedCohort(
        key=cohort_key,
        run_ids=runs["run_id"],
        run_count=len(runs),
        daily_order=checked.daily_order,
        runs_columns=column_specs(runs),
        daily_columns=column_specs(daily),
        runs=runs,
        daily=daily,
        checked=checked,
    )


def _check_parameter_values(runs: pd.DataFrame, parameters: list[str]) -> None:
    """Parameters are stored as JSON: each value a number, string, boolean or missing.

    Checked column by column (by dtype; value by value only for object columns),
    so the JSON itself can be built later, while other cohorts are being written.
    """
    for name in parameters:
        column = runs[name]
        dtype = column.dtype
        if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_integer_dtype(dtype) \
                or isinstance(dtype, pd.StringDtype):
            continue
        if pd.api.types.is_float_dtype(dtype):
            values = column.to_numpy(dtype=np.float64, na_value=np.nan)
            if np.isinf(values).any():
                raise ValueError(f"runs: parameter {name!r} has an infinite value, "
                                 f"which JSON cannot hold")
            continue
        if pd.api.types.is_object_dtype(dtype):
            for value in column:
                if value is None or value is pd.NA or value is pd.NaT \
                        or isinstance(value, str | bool | int) \
                        or (isinstance(value, float) and not np.isinf(value)):
                    continue
                raise ValueError(f"runs: parameter {name!r} has the value {value!r}; "
                                 f"parameters must be numbers, strings, booleans or missing")
            continue
        raise ValueError(f"runs: parameter {name!r} has dtype {dtype}; parameters must be "
                         f"numbers, strings, booleans or missing")


def record_sweep_cohort(
    store: Store,
    experiment: str,
    manifest: dict[str, Any],
    runs: pd.DataFrame,
    daily: pd.DataFrame,
    cohort_key: str,
) -> bool:
    """Record one cohort; returns False, writing nothing, if it was already recorded."""
    _check_experiment_name(experiment)
    prepared = prepare_cohort(runs, daily, cohort_key)
    return _record_prepared(store, experiment, _normalised_manifest(manifest), prepared, None)


def record_sweep_cohorts(
    store: Store,
    experiment: str,
    manifest: dict[str, Any],
    cohorts: Iterable[tuple[pd.DataFrame, pd.DataFrame, str]],
    *,
    parallel: int = 2,
) -> list[bool]:
    """Record several cohorts `(runs, daily, cohort_key)`, up to `parallel` at once.

    Each cohort is still its own transaction with the guarantees of
    `record_sweep_cohort` (True if written, False if already recorded, nothing
    half-written). Every cohort is checked before anything is written. On
    PostgreSQL the cohorts travel over `parallel` pooled connections, so the
    server's work on them (parsing, compressing, WAL) uses several cores;
    SQLite has one writer, so there they are written one after another.
    Returns one flag per cohort, in the order given; cohorts load back in that
    order. The experiment itself (name, manifest, columns) is registered in a
    transaction of its own first.
    """
    _check_experiment_name(experiment)
    if parallel < 1:
        raise ValueError(f"parallel must be at least 1, not {parallel}")
    manifest_json = _normalised_manifest(manifest)
    prepared = [prepare_cohort(runs, daily, key) for runs, daily, key in cohorts]
    _check_batch(experiment, prepared)
    if not prepared:
        return []
    if store.dialect != "postgresql" or parallel == 1 or len(prepared) == 1:
        return [_record_prepared(store, experiment, manifest_json, cohort, None)
                for cohort in prepared]
    plan = store.run(lambda tx: _plan_run_numbers(tx, store, experiment, manifest_json, prepared))
    with ThreadPoolExecutor(max_workers=min(parallel, len(prepared)),
                            thread_name_prefix="ds1ray-cohort") as pool:
        futures = [
            pool.submit(_record_prepared, store, experiment, manifest_json, cohort, plan[index])
            for index, cohort in enumerate(prepared)
        ]
        # Every future is awaited (the pool's exit) before an error propagates.
        return [future.result() for future in futures]


def _check_experiment_name(experiment: str) -> None:
    if not experiment or not isinstance(experiment, str):
        raise ValueError("experiment must be a non-empty name")


def _check_batch(experiment: str, prepared: list[PreparedCohort]) -> None:
    """What concurrent transactions could not see in each other: keys, run ids, columns."""
    keys = [cohort.key for cohort in prepared]
    if len(set(keys)) != len(keys):
        duplicate = next(key for key in keys if keys.count(key) > 1)
        raise ValueError(f"experiment {experiment!r}: cohort key {duplicate!r} is given twice")
    if prepared:
        run_ids = pd.concat([cohort.run_ids for cohort in prepared], ignore_index=True)
        repeated = run_ids[run_ids.duplicated()]
        if len(repeated):
            raise ValueError(
                f"experiment {experiment!r}: run_id {repeated.iloc[0]!r} is in more than one "
                f"cohort (run ids must be unique per experiment)"
            )
    for cohort in prepared[1:]:
        if cohort.runs_columns != prepared[0].runs_columns:
            raise ValueError(f"experiment {experiment!r}: cohort {cohort.key!r} has other runs "
                             f"columns/dtypes than cohort {prepared[0].key!r}")
        if cohort.daily_columns != prepared[0].daily_columns:
            raise ValueError(f"experiment {experiment!r}: cohort {cohort.key!r} has other daily "
                             f"columns/dtypes than cohort {prepared[0].key!r}")


def _plan_run_numbers(
    tx: Transaction, store: Store, experiment: str, manifest: Any, prepared: list[PreparedCohort]
) -> list[int | None]:
    """Register the experiment and give each new cohort its own range of run numbers.

    The ranges follow the committed runs, in the order the cohorts were given.
    A cohort whose range is taken by the time it writes (another writer got
    there first) falls back to the serialised numbering of a single cohort.
    """
    first = prepared[0]
    experiment_id = _claim_experiment(
        tx, store, experiment, manifest, first.runs_columns, first.daily_columns, lock="update"
    )
    recorded = {str(row[0]) for row in tx.execute(
        "SELECT cohort_key FROM sweep_cohorts WHERE experiment_id = %s", [experiment_id]
    ).fetchall()}
    next_run_no = _next_run_no(tx, experiment_id)
    plan: list[int | None] = []
    for cohort in prepared:
        if cohort.key in recorded:
            plan.append(None)  # its transaction will find the claim and write nothing
        else:
            plan.append(next_run_no)
            next_run_no += cohort.run_count
    return plan


class _RunNumbersTaken(Exception):
    """A planned range of run numbers is already used: number the cohort serially."""


def _record_prepared(
    store: Store,
    experiment: str,
    manifest: Any,
    cohort: PreparedCohort,
    planned_first_run_no: int | None,
) -> bool:
    """Write one prepared cohort in one transaction (retried whole after a lost connection).

    With a planned first run number the transaction only shares the experiment's
    row lock, so several cohorts write at once; a retry, or a planned range that
    turned out to be taken, takes the exclusive lock and numbers after the
    committed runs instead.
    """
    plans = [planned_first_run_no]
    rows = cohort.rows()

    def work(tx: Transaction) -> bool:
        plan = plans.pop() if plans else None
        return _write_cohort(tx, store, experiment, manifest, cohort, rows, plan)

    try:
        try:
            return store.run(work)
        except (_RunNumbersTaken, psycopg.errors.UniqueViolation) as error:
            if planned_first_run_no is None or not _is_run_number_clash(error):
                raise
            return store.run(work)  # the plan is used up: serialised numbering
    except (psycopg.errors.UniqueViolation, sqlite3.IntegrityError) as error:
        raise ValueError(
            f"experiment {experiment!r}: a run of cohort {cohort.key!r} is already recorded "
            f"in another cohort (run ids must be unique per experiment): {error}"
        ) from None


def _is_run_number_clash(error: BaseException) -> bool:
    if isinstance(error, _RunNumbersTaken):
        return True
    constraint = getattr(getattr(error, "diag", None), "constraint_name", None)
    return constraint in ("sweep_runs_pkey", "sweep_daily_pkey")


def _next_run_no(tx: Transaction, experiment_id: int) -> int:
    return int(tx.scalar(
        "SELECT COALESCE(MAX(run_no), 0) + 1 FROM sweep_runs WHERE experiment_id = %s",
        [experiment_id],
    ))


def _write_cohort(
    tx: Transaction,
    store: Store,
    experiment: str,
    manifest: Any,
    cohort: PreparedCohort,
    rows: CohortRows,
    planned_first_run_no: int | None,
) -> bool:
    experiment_id = _claim_experiment(
        tx, store, experiment, manifest, cohort.runs_columns, cohort.daily_columns,
        lock="update" if planned_first_run_no is None else "share",
    )
    if planned_first_run_no is None:
        first_run_no = _next_run_no(tx, experiment_id)
    else:
        first_run_no = planned_first_run_no
        taken = tx.scalar(
            "SELECT COUNT(*) FROM sweep_runs WHERE experiment_id = %s AND run_no BETWEEN %s AND %s",
            [experiment_id, first_run_no, first_run_no + cohort.run_count - 1],
        )
        if int(taken):
            raise _RunNumbersTaken(first_run_no)
    claimed = tx.execute(
        "INSERT INTO sweep_cohorts (experiment_id, cohort_key, first_run_no, run_count, "
        "daily_order, recorded_at) VALUES (%s, %s, %s, %s, %s, %s) "
        "ON CONFLICT DO NOTHING RETURNING cohort_key",
        [experiment_id, cohort.key, first_run_no, cohort.run_count, cohort.daily_order,
         tx.dialect.timestamp(tx.now())],
    ).fetchone()
    if claimed is None:
        return False
    if tx.backend == "postgresql":
        _copy_cohort(tx, experiment_id, first_run_no, cohort.key, rows.run_rows, rows.groups)
    else:
        _insert_cohort(tx, experiment_id, first_run_no, cohort.key, rows.run_rows, rows.groups)
    return True


def _normalised_manifest(manifest: dict[str, Any]) -> Any:
    try:
        return json.loads(json.dumps(manifest, allow_nan=False, sort_keys=True))
    except (TypeError, ValueError) as error:
        raise ValueError(f"the manifest must be plain JSON data: {error}") from None


def _claim_experiment(
    tx: Transaction,
    store: Store,
    name: str,
    manifest: Any,
    runs_columns: list[list[str]],
    daily_columns: list[list[str]],
    *,
    lock: str,
) -> int:
    tx.execute(
        "INSERT INTO experiments (name, manifest, runs_columns, daily_columns, created_at) "
        "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (name) DO NOTHING",
        [name, tx.dialect.json(manifest), tx.dialect.json(runs_columns),
         tx.dialect.json(daily_columns), tx.dialect.timestamp(tx.now())],
    )
    # The exclusive row lock serialises cohorts that number their runs after the
    # committed ones; cohorts with planned ranges share it, so they write at once
    # but never while a serial one numbers (SQLite's BEGIN IMMEDIATE already
    # serialises every writer).
    clause = {"update": " FOR UPDATE", "share": " FOR SHARE"}[lock] \
        if tx.backend == "postgresql" else ""
    row = tx.execute(
        f"SELECT id, manifest, runs_columns, daily_columns FROM experiments WHERE name = %s"
        f"{clause}",
        [name],
    ).fetchone()
    assert row is not None
    experiment_id, stored_manifest, stored_runs, stored_daily = row
    if tx.dialect.load_json(stored_manifest) != manifest:
        raise UserError(
            f"experiment {name!r} is already recorded in {store.location.describe()} with a "
            f"different manifest: record the changed sweep under a new experiment name"
        )
    if tx.dialect.load_json(stored_runs) != runs_columns:
        raise ValueError(f"experiment {name!r}: runs columns/dtypes differ from earlier cohorts: "
                         f"{tx.dialect.load_json(stored_runs)} vs {runs_columns}")
    if tx.dialect.load_json(stored_daily) != daily_columns:
        raise ValueError(f"experiment {name!r}: daily columns/dtypes differ from earlier cohorts")
    return int(experiment_id)


def _python_values(series: pd.Series) -> list[Any]:
    """Plain Python values, missing ones as None (what both drivers and json accept)."""
    values = cast(Any, series).to_numpy(dtype=object, na_value=None)
    return cast(list[Any], values.tolist())


def _run_rows(runs: pd.DataFrame, parameters: list[str]) -> list[list[Any]]:
    """(run_id, seed, strategy, parameters JSON, outcomes…) per run."""
    parameter_values = [_python_values(runs[name]) for name in parameters]
    parameter_json = [
        json.dumps(dict(zip(parameters, values, strict=True)), allow_nan=False)
        for values in zip(*parameter_values, strict=True)
    ] if parameters else ["{}"] * len(runs)
    columns = [
        [str(value) for value in _python_values(runs["run_id"])],
        [int(value) for value in _python_values(runs["seed"])],
        [str(value) for value in _python_values(runs["strategy"])],
        parameter_json,
        *[
            [None if v is None else int(v) for v in _python_values(runs[name])]
            if name in RUN_INT_OUTCOMES + RUN_NULLABLE_INT_OUTCOMES
            else _python_values(runs[name].astype("float64"))
            for name in RUN_OUTCOMES
        ],
    ]
    return [list(row) for row in zip(*columns, strict=True)]


def _daily_groups(daily: pd.DataFrame, checked: CheckedCohort, run_count: int) -> list[DailyGroup]:
    """The daily KPIs as (runs × days) matrices, runs grouped by their number of days."""
    order = checked.run_major_order
    positions = checked.run_positions if order is None else checked.run_positions[order]
    days = daily["day"].to_numpy(dtype=np.int64)
    days = days if order is None else days[order]
    values = {}
    for name in KPI_SERIES:
        # Counts travel and are stored as int32 (check_cohort checked the range).
        column = daily[name].to_numpy(dtype=np.float64 if name in DAILY_FLOAT_KPIS else np.int32)
        values[name] = column if order is None else column[order]
    counts = np.bincount(positions, minlength=run_count)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    if len(days) and counts.min() == counts.max():
        # Every run has the same days (the usual sweep): the matrices are plain views.
        count = int(counts[0])
        return [DailyGroup(
            positions=np.arange(run_count),
            first_days=days[starts],
            matrices={name: column.reshape(run_count, count) for name, column in values.items()},
        )]
    groups = []
    for count in sorted(set(counts.tolist()) - {0}):
        members = np.flatnonzero(counts == count)
        rows = starts[members][:, None] + np.arange(count)
        groups.append(DailyGroup(
            positions=members,
            first_days=days[starts[members]],
            matrices={name: column[rows] for name, column in values.items()},
        ))
    return groups


def _copy_cohort(
    tx: Transaction,
    experiment_id: int,
    first_run_no: int,
    cohort_key: str,
    run_rows: list[list[Any]],
    groups: list[DailyGroup],
) -> None:
    cursor = cast(psycopg.Cursor[Any], tx.cursor)
    with cursor.copy(f"COPY sweep_runs ({', '.join(RUN_TABLE_COLUMNS)}) FROM STDIN") as copy:
        for offset, row in enumerate(run_rows):
            copy.write_row([experiment_id, first_run_no + offset, row[0], cohort_key, *row[1:]])
    # The queued writer sends from a worker thread, so encoding the next block
    # overlaps the server parsing the previous one.
    with cursor.copy(
        f"COPY sweep_daily ({', '.join(DAILY_TABLE_COLUMNS)}) FROM STDIN (FORMAT BINARY)",
        writer=QueuedLibpqWriter(cursor),
    ) as copy:
        copy.write(pg_copy.COPY_HEADER)
        for block in _blocks(groups):
            count = len(block.positions)
            run_nos = first_run_no + block.positions.astype(np.int64)
            for span in _spans(block.matrices["cash"].shape[1]):
                rows = pg_copy.encode_bytea_rows(
                    scalars=[
                        np.full(count, experiment_id, dtype=np.int64),
                        run_nos,
                        block.first_days + span.start,
                        np.full(count, span.stop - span.start, dtype=np.int64),
                    ],
                    blobs=[[block.matrices[name][:, span] for name in KPI_SERIES]],
                )
                copy.write(rows.data)
        copy.write(pg_copy.COPY_TRAILER)


def _spans(day_count: int) -> list[slice]:
    """A run's days (positions 0 … day_count - 1) in the spans of its sweep_daily rows."""
    return [slice(start, min(start + SPAN_DAYS, day_count))
            for start in range(0, day_count, SPAN_DAYS)]


def _blocks(groups: list[DailyGroup]) -> Iterator[DailyGroup]:
    for group in groups:
        for start in range(0, len(group.positions), COPY_BLOCK_RUNS):
            part = slice(start, start + COPY_BLOCK_RUNS)
            yield DailyGroup(
                group.positions[part],
                group.first_days[part],
                {name: matrix[part] for name, matrix in group.matrices.items()},
            )


def _insert_cohort(
    tx: Transaction,
    experiment_id: int,
    first_run_no: int,
    cohort_key: str,
    run_rows: list[list[Any]],
    groups: list[DailyGroup],
) -> None:
    marks = ", ".join(["%s"] * len(RUN_TABLE_COLUMNS))
    tx.executemany(
        f"INSERT INTO sweep_runs ({', '.join(RUN_TABLE_COLUMNS)}) VALUES ({marks})",
        ([experiment_id, first_run_no + offset, row[0], cohort_key, *row[1:]]
         for offset, row in enumerate(run_rows)),
    )
    marks = ", ".join(["%s"] * len(DAILY_TABLE_COLUMNS))
    tx.executemany(
        f"INSERT INTO sweep_daily ({', '.join(DAILY_TABLE_COLUMNS)}) VALUES ({marks})",
        (
            [experiment_id, first_run_no + int(position), int(group.first_days[index]) + span.start,
             span.stop - span.start,
             kpis_blob([group.matrices[name][index, span] for name in KPI_SERIES])]
            for group in groups
            for span in _spans(group.matrices["cash"].shape[1])
            for index, position in enumerate(group.positions)
        ),
    )


def kpis_layout(day_count: int) -> np.dtype:
    """The `sweep_daily.kpis` blob of a row of `day_count` days, as a NumPy record.

    Each KPI of `KPI_SERIES` in turn, `day_count` big-endian values: float64 for
    the money KPIs and ROAS, int32 for the counts.
    """
    return np.dtype([(name, ">f8" if name in DAILY_FLOAT_KPIS else ">i4", (day_count,))
                     for name in KPI_SERIES])


def kpis_blob(series: list[np.ndarray]) -> bytes:
    """One row's `kpis` blob from its series (in `KPI_SERIES` order)."""
    return b"".join(values.astype(values.dtype.newbyteorder(">"), copy=False).tobytes()
                    for values in series)


# Reading ---------------------------------------------------------------------


def load_sweep(store: Store, experiment: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(runs, daily) of `experiment` as written, cohorts in recording order."""
    return store.run(lambda tx: _load(tx, store, experiment))


def _load(tx: Transaction, store: Store, experiment: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    row = tx.execute(
        "SELECT id, runs_columns, daily_columns FROM experiments WHERE name = %s", [experiment]
    ).fetchone()
    if row is None:
        raise UserError(f"experiment {experiment!r} is not recorded in {store.location.describe()}")
    experiment_id = int(row[0])
    runs_columns = tx.dialect.load_json(row[1])
    daily_columns = tx.dialect.load_json(row[2])
    runs, run_nos = _load_runs(tx, experiment_id, runs_columns)
    cohorts = tx.execute(
        "SELECT first_run_no, daily_order FROM sweep_cohorts WHERE experiment_id = %s "
        "ORDER BY first_run_no", [experiment_id],
    ).fetchall()
    if tx.backend == "postgresql":
        columns = _read_daily_postgres(tx, experiment_id)
    else:
        columns = _read_daily_sqlite(tx, experiment_id)
    daily = _assemble_daily(columns, runs["run_id"], run_nos, cohorts, daily_columns)
    return runs, daily


def _load_runs(
    tx: Transaction, experiment_id: int, specs: list[list[str]]
) -> tuple[pd.DataFrame, np.ndarray]:
    stored = ("run_no", "run_id", "seed", "strategy", "parameters", *RUN_OUTCOMES)
    rows = tx.execute(
        f"SELECT {', '.join(stored)} FROM sweep_runs WHERE experiment_id = %s ORDER BY run_no",
        [experiment_id],
    ).fetchall()
    by_column = dict(zip(stored, zip(*rows, strict=True), strict=True)) if rows else {
        name: () for name in stored
    }
    parameters = [tx.dialect.load_json(value) for value in by_column["parameters"]]
    data: dict[str, Any] = {}
    for name, spec in specs:
        if name in RUN_FIXED_COLUMNS:
            values: list[Any] = list(by_column[name])
        else:
            values = [entry.get(name) for entry in parameters]
        data[name] = pd.Series(values, dtype=object).astype(restore_dtype(spec))
    run_nos = np.asarray(by_column["run_no"], dtype=np.int64)
    return pd.DataFrame(data, columns=[name for name, _ in specs]), run_nos


_DAILY_FIELDS = [("run_no", np.int64), ("day", np.int64)] + [
    (name, np.float64 if name in DAILY_FLOAT_KPIS else np.int64) for name in KPI_SERIES
]


def _read_daily_postgres(tx: Transaction, experiment_id: int) -> dict[str, np.ndarray]:
    # One binary row per span of a run; spans with the same number of days have the
    # same row width, so each such group parses as one NumPy record array whose KPI
    # fields are the blobs' big-endian values (_assemble_daily sorts the days).
    parts: dict[str, list[np.ndarray]] = {name: [] for name, _ in _DAILY_FIELDS}
    cursor = cast(psycopg.Cursor[Any], tx.cursor)
    day_counts = [int(row[0]) for row in tx.execute(
        "SELECT DISTINCT day_count FROM sweep_daily WHERE experiment_id = %s", [experiment_id]
    ).fetchall()]
    for day_count in day_counts:
        fields = [("run_no", ">i8", 0), ("first_day", ">i8", 0),
                  ("kpis", kpis_layout(day_count), 0)]
        query = (
            f"COPY (SELECT run_no, first_day, kpis "
            f"FROM sweep_daily WHERE experiment_id = {int(experiment_id)} "
            f"AND day_count = {day_count}) TO STDOUT (FORMAT BINARY)"
        )
        with cursor.copy(query) as copy:
            for records in pg_copy.decode_fixed_width_rows(copy, fields):
                parts["run_no"].append(np.repeat(records["run_no"].astype(np.int64), day_count))
                parts["day"].append((records["first_day"].astype(np.int64)[:, None]
                                     + np.arange(day_count)).ravel())
                for name, kind in _DAILY_FIELDS[2:]:
                    parts[name].append(records["kpis"][name].astype(kind).ravel())
    return {
        name: np.concatenate(parts[name]) if parts[name] else np.empty(0, dtype=kind)
        for name, kind in _DAILY_FIELDS
    }


def _read_daily_sqlite(tx: Transaction, experiment_id: int) -> dict[str, np.ndarray]:
    rows = tx.execute(
        "SELECT run_no, first_day, day_count, kpis "
        "FROM sweep_daily WHERE experiment_id = %s ORDER BY run_no, first_day", [experiment_id],
    ).fetchall()
    parts: dict[str, list[np.ndarray]] = {name: [] for name, _ in _DAILY_FIELDS}
    for run_no, first_day, day_count, blob in rows:
        parts["run_no"].append(np.full(day_count, run_no, dtype=np.int64))
        parts["day"].append(np.arange(first_day, first_day + day_count, dtype=np.int64))
        [kpis] = np.frombuffer(blob, dtype=kpis_layout(day_count))
        for name, kind in _DAILY_FIELDS[2:]:
            parts[name].append(kpis[name].astype(kind))
    return {
        name: np.concatenate(parts[name]) if parts[name] else np.empty(0, dtype=kind)
        for name, kind in _DAILY_FIELDS
    }


def _assemble_daily(
    columns: dict[str, np.ndarray],
    run_ids: pd.Series,
    run_nos: np.ndarray,
    cohorts: list[tuple[Any, ...]],
    specs: list[list[str]],
) -> pd.DataFrame:
    row_run_nos = columns["run_no"]
    days = columns["day"]
    # Restore each cohort's row order: rows come sorted by (run_no, day).
    first_run_nos = np.array([int(first) for first, _ in cohorts], dtype=np.int64)
    cohort_of_row = np.searchsorted(first_run_nos, row_run_nos, side="right") - 1
    day_major = np.array([order == DAY_MAJOR for _, order in cohorts], dtype=bool)
    row_is_day_major = day_major[cohort_of_row] if len(cohorts) else np.zeros(0, dtype=bool)
    primary = np.where(row_is_day_major, days, row_run_nos)
    secondary = np.where(row_is_day_major, row_run_nos, days)
    order = np.lexsort((secondary, primary, cohort_of_row))
    position = np.searchsorted(run_nos, row_run_nos[order])
    # No foreign key ties daily rows to runs (migration 0007): check here.
    stray = (position >= len(run_nos)) | (run_nos[np.minimum(position, len(run_nos) - 1)]
                                          != row_run_nos[order]) if len(run_nos) else position >= 0
    if stray.any():
        raise UserError(
            f"sweep_daily has daily KPIs of run number {int(row_run_nos[order][stray][0])}, which "
            f"sweep_runs does not have: the store was changed outside ds1ray"
        )
    data: dict[str, Any] = {}
    for name, spec in specs:
        dtype = restore_dtype(spec)
        if name == "run_id":
            # Taking from the (already typed) runs column avoids millions of Python strings.
            data[name] = run_ids.take(position).reset_index(drop=True).astype(dtype)
        else:
            data[name] = pd.Series(columns[name][order]).astype(dtype)
    return pd.DataFrame(data, columns=[name for name, _ in specs])
