"""Splitting a sweep's runs into cohorts, deterministically.

A cohort is a contiguous slice of the runs in canonical order (point, strategy,
seed), identified by a key that hashes the experiment hash and its run ids. The
same experiment and cohort size always give the same cohorts, so a re-run finds
the cohort files an interrupted sweep left behind. Cohorts mix strategies and
points freely: the simulation is vectorised over per-run parameters.

Example::

    cohorts = partition(runs, cohort_size=256, experiment_hash="ab12…")
    cohorts[0].key, len(cohorts[0].runs)
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass

from ds1ray.runspec import RunSpec

MAX_DEFAULT_COHORT = 4_000
"""Default cohorts stay below this many runs: a bound on one worker's memory.

Measured (365 days, the quickstart scenario): a worker peaks at ≈ 115 MiB plus
≈ 0.15 MiB per run, 0.7 GiB at 4,000 runs, and ships a 112 MiB result. Larger
cohorts pay the per-day fixed cost fewer times: 4,096 runs on 2 CPUs ran
≈ 10 % faster as 2 × 2,048 than as 4 × 1,024 (README, sweep throughput)."""


@dataclass(frozen=True)
class Cohort:
    """Runs simulated together by one call; `index` is its place in the sweep."""

    index: int
    key: str
    runs: tuple[RunSpec, ...]

    @property
    def run_ids(self) -> list[str]:
        return [run.run_id for run in self.runs]


def default_cohort_size(total_runs: int, cpus: int) -> int:
    """As few cohorts as the cap allows, in a whole multiple of the CPUs, of equal size.

    Each cohort pays a fixed cost per simulated day, so fewer, larger cohorts are
    cheaper; no cohort exceeds `MAX_DEFAULT_COHORT` runs (memory). A count that is
    a multiple of the CPUs keeps every worker busy to the end: 10,000 runs on 2
    CPUs as 4,000 × 3 would leave one worker a whole cohort behind; 2,500 × 4 does not.
    """
    cpus = max(1, cpus)
    rounds = math.ceil(total_runs / (cpus * MAX_DEFAULT_COHORT))
    return max(1, math.ceil(total_runs / (cpus * max(1, rounds))))


def cohort_key(experiment_hash: str, run_ids: Sequence[str]) -> str:
    digest = hashlib.blake2b(digest_size=12)
    digest.update(experiment_hash.encode())
    for run_id in run_ids:
        digest.update(b"\x1f" + run_id.encode())
    return digest.hexdigest()


def partition(runs: Sequence[RunSpec], cohort_size: int, experiment_hash: str) -> list[Cohort]:
    """Consecutive slices of `cohort_size` runs (the last may be smaller)."""
    if cohort_size < 1:
        raise ValueError("cohort_size must be at least 1")
    cohorts: list[Cohort] = []
    for index, start in enumerate(range(0, len(runs), cohort_size)):
        chunk = tuple(runs[start : start + cohort_size])
        cohorts.append(Cohort(index, cohort_key(experiment_hash, [r.run_id for r in chunk]), chunk))
    return cohorts
