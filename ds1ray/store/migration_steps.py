"""Data conversions that a migration's SQL cannot do on one backend.

A step runs right after its migration's SQL, in the same transaction, so the
migration still applies wholly or not at all. Keyed by (version, dialect).
"""

from __future__ import annotations

import json
from collections.abc import Callable

import numpy as np

from ds1ray.store.transaction import Transaction

# As in ds1ray.store.sweeps (KPI_SERIES, kpis_layout), frozen at version 0004.
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


STEPS: dict[tuple[int, str], Callable[[Transaction], None]] = {
    (4, "sqlite"): daily_arrays_to_blobs_sqlite,
}
