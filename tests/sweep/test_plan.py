"""Cohort partitioning: deterministic, contiguous, aligned on resume."""

from __future__ import annotations

import math

from ds1ray.runspec import RunSpec
from ds1ray.sweep.plan import MAX_DEFAULT_COHORT, default_cohort_size, partition


def _runs(count: int) -> list[RunSpec]:
    return [RunSpec("exp", seed, "s" if seed % 2 else "t", {"a.x": seed % 3}) for seed in range(count)]


def test_default_cohort_size_is_one_cohort_per_cpu_capped() -> None:
    assert default_cohort_size(96, 2) == 48
    assert default_cohort_size(97, 2) == 49
    assert default_cohort_size(2 * MAX_DEFAULT_COHORT, 2) == MAX_DEFAULT_COHORT
    assert default_cohort_size(4_096, 2) == 2_048
    assert default_cohort_size(1, 8) == 1


def test_default_cohorts_above_the_cap_come_in_whole_rounds_of_the_cpus() -> None:
    for runs, cpus in ((10_000, 2), (8_001, 2), (50_000, 8), (12_345, 3)):
        size = default_cohort_size(runs, cpus)
        cohorts = math.ceil(runs / size)
        assert size <= MAX_DEFAULT_COHORT
        assert cohorts % cpus == 0  # no worker is left a cohort behind the others
        assert cohorts == cpus * math.ceil(runs / (cpus * MAX_DEFAULT_COHORT))  # and no more cohorts than needed


def test_cohorts_are_consecutive_slices_covering_every_run_once() -> None:
    runs = _runs(10)
    cohorts = partition(runs, 4, "h")
    assert [len(c.runs) for c in cohorts] == [4, 4, 2]
    assert [r for c in cohorts for r in c.runs] == runs
    assert [c.index for c in cohorts] == [0, 1, 2]


def test_the_same_runs_and_size_give_the_same_cohort_keys() -> None:
    assert [c.key for c in partition(_runs(10), 3, "h")] == [c.key for c in partition(_runs(10), 3, "h")]


def test_cohort_keys_depend_on_the_experiment_hash_and_on_the_runs() -> None:
    keys = {c.key for c in partition(_runs(10), 5, "h1")}
    assert keys.isdisjoint(c.key for c in partition(_runs(10), 5, "h2"))
    assert keys.isdisjoint(c.key for c in partition(_runs(10), 2, "h1"))


def test_partitioning_what_is_left_after_whole_cohorts_reproduces_the_remaining_cohorts() -> None:
    runs = _runs(11)
    full = partition(runs, 3, "h")
    done = {r.run_id for c in (full[0], full[2]) for r in c.runs}
    rest = partition([r for r in runs if r.run_id not in done], 3, "h")
    assert [c.key for c in rest] == [full[1].key, full[3].key]
