"""The result-table contract (docs/architecture.md, "Result tables") as the store sees it.

`runs` has fixed columns (run_id, seed, strategy, the outcomes) and any other
column is a swept parameter (stored as JSON). `daily` has run_id, day and the
KPIs. The store records each column's dtype as written (`dtype_spec`) so that
`load_sweep` hands back frames with the same columns, order and dtypes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

RUN_KEY_COLUMNS = ("run_id", "seed", "strategy")
RUN_FLOAT_OUTCOMES = (
    "revenue", "cogs", "ad_spend", "payment_fees", "refunds", "chargebacks", "ai_cost",
    "fixed_costs", "net_profit", "starting_cash", "final_cash",
    "conversion_rate", "roas", "refund_rate",
)
RUN_INT_OUTCOMES = ("orders", "tickets")
RUN_NULLABLE_INT_OUTCOMES = ("bankrupt_day",)
RUN_OUTCOMES = RUN_FLOAT_OUTCOMES + RUN_INT_OUTCOMES + RUN_NULLABLE_INT_OUTCOMES
RUN_FIXED_COLUMNS = RUN_KEY_COLUMNS + RUN_OUTCOMES

DAILY_KEY_COLUMNS = ("run_id", "day")
DAILY_FLOAT_KPIS = ("cash", "revenue", "ad_spend", "roas")
DAILY_INT_KPIS = ("orders", "sessions", "checkouts", "refunds", "tickets", "active_products")
DAILY_KPIS = DAILY_FLOAT_KPIS + DAILY_INT_KPIS
DAILY_COLUMNS = DAILY_KEY_COLUMNS + DAILY_KPIS

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1

# The order of the daily rows as written, restored on load.
RUN_MAJOR = "run_major"  # all days of run 1, then run 2, …
DAY_MAJOR = "day_major"  # every run's day 0, then every run's day 1, …


def dtype_spec(column: str, dtype: Any) -> str:
    """A text form of `dtype` that `restore_dtype` turns back into an equal dtype."""
    if isinstance(dtype, pd.StringDtype):
        na = "nan" if dtype.na_value is np.nan else "NA"
        return f"string:{dtype.storage}:{na}"
    spec = str(dtype)
    try:
        restorable = pd.api.types.pandas_dtype(spec) == dtype
    except TypeError:
        restorable = False
    if not restorable:
        raise ValueError(
            f"column {column!r} has dtype {dtype}, which the store cannot restore exactly; "
            f"convert it (e.g. to str) before recording"
        )
    return spec


def restore_dtype(spec: str) -> Any:
    if spec.startswith("string:"):
        _, storage, na = spec.split(":")
        return pd.StringDtype(storage, na_value=np.nan if na == "nan" else pd.NA)
    return pd.api.types.pandas_dtype(spec)


def column_specs(frame: pd.DataFrame) -> list[list[str]]:
    return [[str(name), dtype_spec(str(name), dtype)] for name, dtype in frame.dtypes.items()]


@dataclass(frozen=True)
class CheckedCohort:
    """A validated cohort: the runs frame, parameter names and the daily layout."""

    parameters: list[str]
    run_positions: np.ndarray  # for each daily row, the row of its run in `runs`
    daily_order: str
    # The permutation that sorts daily rows by (run, day); None if they already are.
    run_major_order: np.ndarray | None


def check_cohort(runs: pd.DataFrame, daily: pd.DataFrame) -> CheckedCohort:
    """Validate both frames against the contract; ValueError names what is wrong."""
    if not all(isinstance(name, str) for name in runs.columns):
        raise ValueError("runs: column names must be strings")
    missing = [column for column in RUN_FIXED_COLUMNS if column not in runs.columns]
    if missing:
        raise ValueError(f"runs: missing columns {missing} (docs/architecture.md, Result tables)")
    if runs.columns.duplicated().any() or daily.columns.duplicated().any():
        raise ValueError("runs/daily: duplicated column names")
    run_ids = runs["run_id"]
    if run_ids.isna().any() or run_ids.duplicated().any():
        raise ValueError("runs: run_id must be present and unique")
    for column in (*RUN_FLOAT_OUTCOMES, *RUN_INT_OUTCOMES, "seed"):
        if not pd.api.types.is_numeric_dtype(runs[column]):
            raise ValueError(f"runs: column {column!r} must be numeric, not {runs[column].dtype}")
    for column in ("seed", *RUN_INT_OUTCOMES):
        if runs[column].isna().any():
            raise ValueError(f"runs: column {column!r} has missing values")

    unknown = sorted(set(daily.columns) - set(DAILY_COLUMNS))
    absent = [column for column in DAILY_COLUMNS if column not in daily.columns]
    if unknown or absent:
        raise ValueError(f"daily: expected columns {list(DAILY_COLUMNS)}; missing {absent}, "
                         f"unexpected {unknown}")
    for column in ("day", *DAILY_KPIS):
        if not pd.api.types.is_numeric_dtype(daily[column]):
            raise ValueError(f"daily: column {column!r} must be numeric, not {daily[column].dtype}")
    for column in ("day", *DAILY_INT_KPIS):
        if daily[column].isna().any():
            raise ValueError(f"daily: column {column!r} has missing values")
    for column in DAILY_INT_KPIS:
        values = daily[column].to_numpy()
        if len(values) and (values.min() < INT32_MIN or values.max() > INT32_MAX):
            raise ValueError(f"daily: column {column!r} has counts outside the 32-bit range "
                             f"the store keeps daily counts in")

    positions = _regular_run_positions(daily["run_id"], run_ids)
    if positions is None:
        positions = _run_positions(daily["run_id"], run_ids)
    days = daily["day"].to_numpy(dtype=np.int64)
    order = _daily_order(positions, days)
    run_major = None if order == RUN_MAJOR else np.lexsort((days, positions))
    _check_contiguous_days(positions, days, run_major, run_ids)
    parameters = [str(c) for c in runs.columns if c not in RUN_FIXED_COLUMNS]
    return CheckedCohort(parameters, positions, order, run_major)


def _regular_run_positions(daily_ids: pd.Series, run_ids: pd.Series) -> np.ndarray | None:
    """The run of each daily row when every run has the same number of rows, in runs
    order (run by run, or day by day); None otherwise.

    A sweep's daily frame is laid out like this; one vectorised comparison with the
    run ids repeated (or tiled) confirms it, far cheaper than hashing every row.
    """
    count = len(run_ids)
    if count == 0 or len(daily_ids) % count:
        return None
    per_run = len(daily_ids) // count
    numbers = np.arange(count, dtype=np.int64)
    for layout in (np.repeat, np.tile):
        expected = run_ids.iloc[layout(numbers, per_run)].reset_index(drop=True)
        try:
            same = daily_ids.reset_index(drop=True).eq(expected)
        except (TypeError, ValueError):  # e.g. categoricals of other categories
            return None
        if same.to_numpy(dtype=bool, na_value=False).all():
            return layout(numbers, per_run)
    return None


def _run_positions(daily_ids: pd.Series, run_ids: pd.Series) -> np.ndarray:
    """The run of each daily row, any layout."""
    # Factorising the daily run ids (hashing each distinct id once) is an order of
    # magnitude faster than looking every one of millions of rows up in the runs.
    codes, distinct = pd.factorize(daily_ids)
    distinct_positions = pd.Index(run_ids.astype(object)).get_indexer(
        pd.Index(distinct).astype(object)
    )
    if (distinct_positions < 0).any():
        stray = distinct[int(np.flatnonzero(distinct_positions < 0)[0])]
        raise ValueError(f"daily: run_id {stray!r} is not in runs")
    return distinct_positions[codes].astype(np.int64)


def _daily_order(positions: np.ndarray, days: np.ndarray) -> str:
    if len(days) < 2:
        return RUN_MAJOR
    run_step, day_step = np.diff(positions), np.diff(days)
    if np.all((run_step > 0) | ((run_step == 0) & (day_step > 0))):
        return RUN_MAJOR
    if np.all((day_step > 0) | ((day_step == 0) & (run_step > 0))):
        return DAY_MAJOR
    raise ValueError(
        "daily: rows must be ordered by run (in runs order) then day, or by day then run"
    )


def _check_contiguous_days(
    positions: np.ndarray, days: np.ndarray, run_major: np.ndarray | None, run_ids: pd.Series
) -> None:
    # Each run's days are stored as arrays from its first day, so they must not skip.
    if run_major is not None:
        positions, days = positions[run_major], days[run_major]
    same_run = positions[1:] == positions[:-1]
    gaps = same_run & (np.diff(days) != 1)
    if gaps.any():
        run = run_ids.iloc[int(positions[1:][gaps][0])]
        raise ValueError(f"daily: run {run!r} skips days (each run needs consecutive days)")
