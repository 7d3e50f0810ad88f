"""Recording a sweep's cohorts in the store (`ds1ray sweep --db URL`).

The Parquet files stay the primary result; the store gets each cohort after
its files are written. The store refuses a cohort key it already holds, so a
resumed sweep offers every finished cohort again and nothing is written twice,
including a cohort whose files were written just before an earlier
invocation died.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ds1ray.errors import UserError


class CohortRecorder:
    """An open store that cohorts are recorded into."""

    def __init__(self, store: Any) -> None:
        self.store = store

    @classmethod
    def open(cls, db_url: str) -> CohortRecorder:
        """Open the store at `db_url` now, so a missing database stops the sweep before it runs."""
        try:
            from ds1ray.store import open_store
        except ImportError:
            raise UserError("--db needs ds1ray.store, which this installation does not have") from None
        return cls(open_store(db_url))

    def record(
        self,
        experiment: str,
        manifest: dict[str, Any],
        runs: pd.DataFrame,
        daily: pd.DataFrame,
        cohort_key: str,
    ) -> bool:
        """True if the cohort was written, False if the store already had it."""
        return bool(self.store.record_sweep_cohort(experiment, manifest, runs, daily, cohort_key))

    def close(self) -> None:
        close = getattr(self.store, "close", None)
        if close is not None:
            close()


def record_cohort(
    db_url: str,
    experiment: str,
    manifest: dict[str, Any],
    runs: pd.DataFrame,
    daily: pd.DataFrame,
    cohort_key: str,
) -> bool:
    """Record one cohort with a store opened for just this call (for callers outside a sweep)."""
    recorder = CohortRecorder.open(db_url)
    try:
        return recorder.record(experiment, manifest, runs, daily, cohort_key)
    finally:
        recorder.close()
