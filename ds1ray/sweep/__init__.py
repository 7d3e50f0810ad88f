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

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ds1ray.sweep.compare import DEFAULT_METRICS, compare
    from ds1ray.sweep.experiment import Experiment, ExperimentError, experiment_hash, load_experiment
    from ds1ray.sweep.plan import Cohort, default_cohort_size, partition
    from ds1ray.sweep.results import Results, load_results
    from ds1ray.sweep.runner import SweepSummary, run_sweep
    from ds1ray.sweep.space import Distribution, SampledSpace, expand_points

# Imported on first use: a Ray worker imports `ds1ray.sweep.workers`, and with it
# this package, at every start, and needs none of scipy.stats, pandas' groupby or
# the experiment loader (2 s of CPU per worker, measured with `python -X importtime`).
_EXPORTS = {
    "DEFAULT_METRICS": "compare", "compare": "compare",
    "Experiment": "experiment", "ExperimentError": "experiment", "experiment_hash": "experiment",
    "load_experiment": "experiment",
    "Cohort": "plan", "default_cohort_size": "plan", "partition": "plan",
    "Results": "results", "load_results": "results",
    "SweepSummary": "runner", "run_sweep": "runner",
    "Distribution": "space", "SampledSpace": "space", "expand_points": "space",
}

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


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'ds1ray.sweep' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"ds1ray.sweep.{module}"), name)
    globals()[name] = value
    return value
