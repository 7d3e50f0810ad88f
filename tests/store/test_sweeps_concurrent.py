"""Recording several cohorts at once (`record_sweep_cohorts`), on both backends.

On PostgreSQL the cohorts are written by concurrent transactions over pooled
connections; each must still be atomic, idempotent by its key, and load back
in the order given.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pandas as pd
import pytest

from ds1ray.store import Store, Transaction
from ds1ray.store import sweeps as sweeps_module

from .frames import make_cohort

MANIFEST = {"experiment": "exp-c", "days": 4}
TABLES = ("sweep_runs", "sweep_daily", "sweep_cohorts")


def count(store: Store, table: str) -> int:
    return int(store.run(lambda tx: tx.scalar(f"SELECT COUNT(*) FROM {table}")))


def cohorts(numbers: range) -> list[tuple[pd.DataFrame, pd.DataFrame, str]]:
    # Different sizes and layouts, so the planned ranges of run numbers differ.
    made = [make_cohort(n, runs=3 + n % 4, day_major=n % 2 == 1) for n in numbers]
    return [(runs, daily, f"cohort-{n}") for n, (runs, daily) in zip(numbers, made, strict=True)]


def expected(given: list[tuple[pd.DataFrame, pd.DataFrame, str]]) -> tuple[pd.DataFrame, ...]:
    return (pd.concat([runs for runs, _, _ in given], ignore_index=True),
            pd.concat([daily for _, daily, _ in given], ignore_index=True))


def test_concurrent_cohorts_load_back_equal_and_in_the_order_given(store: Store):
    given = cohorts(range(5))
    assert store.record_sweep_cohorts("exp-c", MANIFEST, given, parallel=2) == [True] * 5
    runs, daily = store.load_sweep("exp-c")
    want_runs, want_daily = expected(given)
    pd.testing.assert_frame_equal(runs, want_runs)
    pd.testing.assert_frame_equal(daily, want_daily)


def test_offering_the_same_cohorts_again_writes_nothing_twice(store: Store):
    given = cohorts(range(4))
    store.record_sweep_cohorts("exp-c", MANIFEST, given[:2], parallel=2)
    before = [count(store, table) for table in TABLES]
    # A resumed sweep offers every cohort: the recorded two are skipped, the others written.
    assert store.record_sweep_cohorts("exp-c", MANIFEST, given, parallel=2) == [
        False, False, True, True]
    assert store.record_sweep_cohorts("exp-c", MANIFEST, given, parallel=2) == [False] * 4
    after = [count(store, table) for table in TABLES]
    assert after[2] == before[2] + 2
    assert after[0] == sum(len(runs) for runs, _, _ in given)
    runs, daily = store.load_sweep("exp-c")
    pd.testing.assert_frame_equal(runs, expected(given)[0])
    pd.testing.assert_frame_equal(daily, expected(given)[1])


def test_single_and_concurrent_calls_mix_in_one_experiment(store: Store):
    given = cohorts(range(5))
    store.record_sweep_cohort("exp-c", MANIFEST, *given[0])
    store.record_sweep_cohorts("exp-c", MANIFEST, given[1:4], parallel=3)
    store.record_sweep_cohort("exp-c", MANIFEST, *given[4])
    runs, daily = store.load_sweep("exp-c")
    pd.testing.assert_frame_equal(runs, expected(given)[0])
    pd.testing.assert_frame_equal(daily, expected(given)[1])


def test_two_callers_racing_with_the_same_cohorts_write_each_once(store_url: str):
    from ds1ray.store import open_store

    given = cohorts(range(6))
    results: list[list[bool]] = []
    errors: list[BaseException] = []

    def record() -> None:
        try:
            with open_store(store_url) as own:
                results.append(own.record_sweep_cohorts("exp-c", MANIFEST, given, parallel=2))
        except BaseException as error:  # surfaced below
            errors.append(error)

    threads = [threading.Thread(target=record) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    # Every cohort was written by exactly one of the two callers.
    assert [a + b for a, b in zip(*results, strict=True)] == [1] * 6
    with open_store(store_url) as store:
        assert count(store, "sweep_cohorts") == 6
        runs, daily = store.load_sweep("exp-c")
    assert sorted(runs["run_id"]) == sorted(expected(given)[0]["run_id"])
    assert len(daily) == len(expected(given)[1])


def test_a_planned_range_already_taken_falls_back_to_serial_numbering(
    store: Store, monkeypatch: pytest.MonkeyPatch
):
    if store.dialect != "postgresql":
        pytest.skip("SQLite writes cohorts one after another: nothing is planned")
    given = cohorts(range(3))
    intruder = cohorts(range(7, 8))[0]
    store.record_sweep_cohort("exp-c", MANIFEST, *intruder)
    real_plan = sweeps_module._plan_run_numbers

    def stale_plan(tx: Transaction, *args: Any) -> list[int | None]:
        # As if planned before the intruder committed: the first range overlaps its runs.
        shift = len(intruder[0])
        return [None if first is None else first - shift for first in real_plan(tx, *args)]

    serial_numberings = []
    real_next = sweeps_module._next_run_no

    def counted_next(tx: Transaction, experiment_id: int) -> int:
        serial_numberings.append(experiment_id)
        return real_next(tx, experiment_id)

    monkeypatch.setattr(sweeps_module, "_plan_run_numbers", stale_plan)
    monkeypatch.setattr(sweeps_module, "_next_run_no", counted_next)
    assert store.record_sweep_cohorts("exp-c", MANIFEST, given, parallel=2) == [True] * 3
    # The plan, then at least the two cohorts whose ranges overlap the intruder's runs
    # (the third too if a fallback took its range first).
    assert len(serial_numberings) >= 1 + 2
    runs, daily = store.load_sweep("exp-c")
    assert sorted(runs["run_id"]) == sorted(
        pd.concat([expected(given)[0]["run_id"], intruder[0]["run_id"]]))
    assert len(runs) == count(store, "sweep_runs") == count(store, "sweep_daily")
    assert len(daily) == len(expected(given)[1]) + len(intruder[1])


def test_a_cohort_that_fails_midway_leaves_nothing_while_the_others_commit(
    store: Store, monkeypatch: pytest.MonkeyPatch
):
    given = cohorts(range(4))
    real_copy, real_insert = sweeps_module._copy_cohort, sweeps_module._insert_cohort

    def die_on(key: str, real: Callable[..., None]) -> Callable[..., None]:
        def maybe_broken(tx: Transaction, experiment_id: int, first: int, cohort_key: str,
                         *args: Any) -> None:
            real(tx, experiment_id, first, cohort_key, *args)
            if cohort_key == key:
                raise RuntimeError("connection cut before commit")

        return maybe_broken

    monkeypatch.setattr(sweeps_module, "_copy_cohort", die_on("cohort-2", real_copy))
    monkeypatch.setattr(sweeps_module, "_insert_cohort", die_on("cohort-2", real_insert))
    with pytest.raises(RuntimeError, match="connection cut"):
        store.record_sweep_cohorts("exp-c", MANIFEST, given, parallel=2)
    recorded = store.run(lambda tx: [row[0] for row in tx.execute(
        "SELECT cohort_key FROM sweep_cohorts ORDER BY cohort_key").fetchall()])
    assert "cohort-2" not in recorded
    runs_written = count(store, "sweep_runs")
    assert runs_written == sum(len(r) for r, _, key in given if key in recorded)
    monkeypatch.undo()
    # Offered again, only what is missing is written, and everything loads back.
    again = store.record_sweep_cohorts("exp-c", MANIFEST, given, parallel=2)
    assert again == [key not in recorded for _, _, key in given]
    runs, _ = store.load_sweep("exp-c")
    assert sorted(runs["run_id"]) == sorted(expected(given)[0]["run_id"])


def test_a_batch_with_a_repeated_key_or_run_is_refused_before_anything_is_written(store: Store):
    given = cohorts(range(2))
    with pytest.raises(ValueError, match="cohort key 'cohort-0' is given twice"):
        store.record_sweep_cohorts("exp-c", MANIFEST, [given[0], given[0]])
    runs, daily, _ = given[0]
    with pytest.raises(ValueError, match="run_id 'c0-r0' is in more than one cohort"):
        store.record_sweep_cohorts("exp-c", MANIFEST, [given[0], (runs, daily, "other")])
    with pytest.raises(ValueError, match="parallel must be at least 1"):
        store.record_sweep_cohorts("exp-c", MANIFEST, given, parallel=0)
    for table in ("experiments", *TABLES):
        assert count(store, table) == 0, table
