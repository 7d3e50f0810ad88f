"""Recording a sweep's cohorts in the store (`ds1ray sweep --db URL`).

The Parquet files stay the primary result; the store gets each cohort after
its files are written. The store refuses a cohort key it already holds, so a
resumed sweep offers every finished cohort again and nothing is written twice,
including a cohort whose files were written just before an earlier
invocation died.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from ds1ray.store import Store



class CohortRecorder:
    """An open store that cohorts are recorded into."""

    def __init__(self, store: Store) -> None:
        self.store = store

    @classmethod
    def open(cls, db_url: str) -> CohortRecorder:
        """Open the store at `db_url` now, so a missing database stops the sweep before it runs."""
        from ds1ray.store import open_store  # imported here: sweeps without --db never load the store

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
        return self.store.record_sweep_cohort(experiment, manifest, runs, daily, cohort_key)

    def close(self) -> None:
        self.store.close()


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
