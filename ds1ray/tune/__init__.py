"""Strategy optimisation: Ray Tune searches strategy parameters over seed cohorts.

Each trial simulates one strategy over the experiment's replicate seeds as one
vectorised cohort (common random numbers across trials) and scores its mean net
profit and the lower end of its 95 % interval; the objective is either.

Example::

    from ds1ray.tune import run_tune, read_fragment
    result = run_tune("experiments/study_tune_marketing.yaml", trials=30, objective="lcb")
    result.trials.head(), result.best, read_fragment(result.fragment)

`docs/reports.md` ("Tuning") describes the `tune:` section and the output.
"""

from __future__ import annotations

from ds1ray.tune.fragment import read_fragment, run_arguments, write_fragment
from ds1ray.tune.objective import TrialSetup, evaluate, score
from ds1ray.tune.search import TuneResult, run_tune
from ds1ray.tune.spec import TuneSpec, load_tune, parse_param

__all__ = [
    "TrialSetup",
    "TuneResult",
    "TuneSpec",
    "evaluate",
    "load_tune",
    "parse_param",
    "read_fragment",
    "run_arguments",
    "run_tune",
    "score",
    "write_fragment",
]
