"""Sweeps: many seeded runs of DS1 on Ray, written to Parquet and compared in pandas.

Example::

    from ds1ray.sweep import compare, load_results, run_sweep
    summary = run_sweep("experiments/quickstart.yaml")
    results = load_results(summary.out_dir)
    print(compare(results, by="strategy", baseline="baseline"))

`docs/sweeps.md` describes the experiment format, run identity and seeding,
cohorts, resuming, the result files and the comparison.
"""

from __future__ import annotations

from ds1ray.sweep.compare import DEFAULT_METRICS, compare
from ds1ray.sweep.experiment import Experiment, ExperimentError, experiment_hash, load_experiment
from ds1ray.sweep.plan import Cohort, default_cohort_size, partition
from ds1ray.sweep.results import Results, load_results
from ds1ray.sweep.runner import SweepSummary, run_sweep
from ds1ray.sweep.space import Distribution, SampledSpace, expand_points

__all__ = [
    "DEFAULT_METRICS",
    "Cohort",
    "Distribution",
    "Experiment",
    "ExperimentError",
    "Results",
    "SampledSpace",
    "SweepSummary",
    "compare",
    "default_cohort_size",
    "expand_points",
    "experiment_hash",
    "load_experiment",
    "load_results",
    "partition",
    "run_sweep",
]
