"""Data conversions that a migration's SQL cannot do on one backend.

A step runs right after its migration's SQL, in the same transaction, so the
migration still applies wholly or not at all. Keyed by (version, dialect).
"""

from __future__ import annotations

import json
from collections.abc import Callable

import numpy as np

from ds1ray.store.transaction import Transaction

# As in ds1ray.store.sweeps (KPI_SERIES, kpis_layout), frozen at version 0004
# (0006 keeps the layout within each span).
_FLOAT_SERIES = ("cash", "revenue", "ad_spend", "roas")
_SERIES = ("cash", "revenue", "ad_spend", "orders", "sessions", "checkouts", "refunds",
           "tickets", "active_products", "roas")


def daily_arrays_to_blobs_sqlite(tx: Transaction) -> None:
    """0004 on SQLite: the JSON arrays of sweep_daily_0003 become `kpis` blobs.

    SQLite has no way to read a number's bits in SQL. The JSON arrays held NaN as
    null and infinities as ±9e999, which json reads back as ±inf: the values come
    out as load_sweep read them before.
    """
    columns = ", ".join(_SERIES)
    rows = tx.execute(
        f"SELECT experiment_id, run_no, first_day, day_count, {columns} FROM sweep_daily_0003"
    ).fetchall()
    tx.executemany(
        "INSERT INTO sweep_daily (experiment_id, run_no, first_day, day_count, kpis) "
        "VALUES (%s, %s, %s, %s, %s)",
        ([*row[:4], b"".join(_series_bytes(name, text)
                             for name, text in zip(_SERIES, row[4:], strict=True))]
         for row in rows),
    )
    tx.execute("DROP TABLE sweep_daily_0003")


def _series_bytes(name: str, text: str | None) -> bytes:
    values = [] if text is None else json.loads(text)
    kind = ">f8" if name in _FLOAT_SERIES else ">i4"
    return np.array([np.nan if v is None else v for v in values], dtype=kind).tobytes()


# As in ds1ray.store.sweeps (SPAN_DAYS), frozen at version 0006.
_SPAN_DAYS = 128


def daily_blobs_to_spans_sqlite(tx: Transaction) -> None:
    """0006 on SQLite: each run's `kpis` blob becomes rows of at most 128 days.

    The migration's SQL created sweep_daily_0006 with the new key. The spans are
    cut with NumPy (SQLite's || would make text of the blobs); then the new table
    takes sweep_daily's place and the view, dropped so the rename does not trip
    over it, is recreated from its own definition.
    """
    rows = tx.execute(
        "SELECT experiment_id, run_no, first_day, day_count, kpis FROM sweep_daily"
    ).fetchall()
    tx.executemany(
        "INSERT INTO sweep_daily_0006 (experiment_id, run_no, first_day, day_count, kpis) "
        "VALUES (%s, %s, %s, %s, %s)",
        (span for row in rows for span in _spans(*row)),
    )
    _replace_daily_table(tx, "sweep_daily_0006")


def daily_without_run_check_sqlite(tx: Transaction) -> None:
    """0007 on SQLite: sweep_daily's rows move to the table without the foreign key."""
    tx.execute("INSERT INTO sweep_daily_0007 (experiment_id, run_no, first_day, day_count, kpis) "
               "SELECT experiment_id, run_no, first_day, day_count, kpis FROM sweep_daily")
    _replace_daily_table(tx, "sweep_daily_0007")


def _replace_daily_table(tx: Transaction, replacement: str) -> None:
    """Put `replacement` in sweep_daily's place, keeping the view that reads it.

    The view is dropped first (SQLite's rename checks every view against the
    tables) and recreated from its own definition.
    """
    view = tx.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'view' AND name = 'sweep_daily_rows'"
    ).fetchone()
    if view is not None:
        tx.execute("DROP VIEW sweep_daily_rows")
    tx.execute("DROP TABLE sweep_daily")
    tx.execute(f"ALTER TABLE {replacement} RENAME TO sweep_daily")
    if view is not None:
        tx.execute(view[0])


def _spans(
    experiment_id: int, run_no: int, first_day: int, day_count: int, blob: bytes
) -> list[list[object]]:
    """One run's blob as (experiment_id, run_no, first_day, day_count, kpis) of each span."""
    layout = np.dtype([(name, ">f8" if name in _FLOAT_SERIES else ">i4", (day_count,))
                       for name in _SERIES])
    [kpis] = np.frombuffer(blob, dtype=layout)
    return [
        [experiment_id, run_no, first_day + start, min(_SPAN_DAYS, day_count - start),
         b"".join(kpis[name][start : start + _SPAN_DAYS].tobytes() for name in _SERIES)]
        for start in range(0, day_count, _SPAN_DAYS)
    ]


STEPS: dict[tuple[int, str], Callable[[Transaction], None]] = {
    (4, "sqlite"): daily_arrays_to_blobs_sqlite,
    (6, "sqlite"): daily_blobs_to_spans_sqlite,
    (7, "sqlite"): daily_without_run_check_sqlite,
}
