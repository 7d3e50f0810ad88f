"""`run_tune`: search strategy parameters with Ray Tune; write the trials and the best strategy.

The search algorithm is Optuna's TPE (through `ray.tune.search.optuna`) when
`optuna` is installed, else Tune's `BasicVariantGenerator` (random search);
`TuneResult.algorithm` and `tune.json` say which ran. Each Tune trial is one
cohort (`ds1ray.tune.objective`), so a trial uses one CPU and the trials run
side by side on the cluster's CPUs.

Output folder (default `results/tune/<experiment>`):

    trials.parquet   one row per trial: the parameters, mean, lcb, ucb, sd, seeds, runs, …
    best.yaml        the best strategy as a fragment `ds1ray sweep` and `ds1ray run --set` accept
    tune.json        the search: spec, seeds, points, algorithm, objective, timings

Example::

    from ds1ray.tune import run_tune
    result = run_tune("experiments/tune_marketing.yaml", trials=20, objective="lcb")
    result.trials.sort_values("lcb", ascending=False).head()
"""

from __future__ import annotations

import importlib.util
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ds1ray.errors import UserError
from ds1ray.sweep.results import write_frame, write_json
from ds1ray.sweep.space import Distribution
from ds1ray.sweep.validate import scenario_config
from ds1ray.tune.fragment import write_fragment
from ds1ray.tune.objective import TrialSetup, evaluate
from ds1ray.tune.spec import Objective, TuneSpec, load_tune

OPTUNA = "optuna (TPE) via ray.tune.search.optuna"
RANDOM = "random search (ray.tune BasicVariantGenerator; install optuna for TPE)"


@dataclass
class TuneResult:
    """A finished search: the trials, the best one, and where they were written."""

    trials: pd.DataFrame
    best: dict[str, Any]
    best_score: dict[str, float]
    objective: str
    algorithm: str
    out_dir: Path
    fragment: Path


def key_of(path: str) -> str:
    # Tune nests configuration keys on "/" and some searchers dislike dots: keep names plain.
    return path.replace(".", "__")


def path_of(key: str) -> str:
    return key.replace("__", ".")


def tune_domain(distribution: Distribution) -> Any:
    """The Ray Tune search domain of one parameter."""
    from ray import tune

    if distribution.choices is not None:
        return tune.choice(list(distribution.choices))
    assert distribution.low is not None and distribution.high is not None
    if distribution.integer:
        if distribution.log:
            return tune.lograndint(int(distribution.low), int(distribution.high) + 1)
        return tune.randint(int(distribution.low), int(distribution.high) + 1)
    if distribution.log:
        return tune.loguniform(distribution.low, distribution.high)
    return tune.uniform(distribution.low, distribution.high)


def search_algorithm(objective: str, seed: int) -> tuple[Any, str]:
    """Optuna's TPE if optuna is installed, else Tune's random search."""
    if importlib.util.find_spec("optuna") is not None:
        import optuna
        from optuna.samplers import TPESampler

        optuna.logging.set_verbosity(optuna.logging.WARNING)  # one line per trial would drown the summary
        from ray.tune.search.optuna import OptunaSearch

        return OptunaSearch(metric=objective, mode="max", sampler=TPESampler(seed=seed)), OPTUNA
    from ray.tune.search import BasicVariantGenerator

    return BasicVariantGenerator(random_state=seed), RANDOM


def _trial(params: dict[str, Any], setup: TrialSetup) -> dict[str, float]:
    """The Tune trainable: one trial = one cohort; its final result is the score."""
    return evaluate(setup, {path_of(key): value for key, value in params.items()})


def run_tune(
    experiment_path: str | Path,
    *,
    trials: int | None = None,
    objective: Objective | None = None,
    out_dir: str | Path | None = None,
    params: Mapping[str, Distribution] | None = None,
    address: str | None = None,
    search_seed: int | None = None,
) -> TuneResult:
    """Search the strategy parameters of `experiment_path`'s `tune:` section; see the module docstring.

    `trials`, `objective`, `search_seed` and `params` override the file's; `address` joins a Ray
    cluster (default: the Ray already initialised here, else a new local one).
    """
    started = time.perf_counter()
    experiment, spec = load_tune(experiment_path, dict(params) if params else None)
    chosen = {"trials": trials, "objective": objective, "search_seed": search_seed}
    spec = spec.model_copy(update={key: value for key, value in chosen.items() if value is not None})
    if spec.trials < 1:
        raise UserError(f"--trials must be at least 1, not {spec.trials}")
    base = spec.base or next(iter(experiment.strategies))
    base_overrides = {k: v for k, v in experiment.strategies[base].items() if k not in spec.params}
    setup = TrialSetup(
        config=scenario_config(experiment),
        experiment=f"{experiment.name}-tune",
        seeds=tuple(experiment.replicates.values()),
        points=tuple(experiment.points()),
        days=experiment.days,
        base_overrides=base_overrides,
    )
    out = Path(out_dir) if out_dir is not None else Path("results") / "tune" / experiment.name
    out.mkdir(parents=True, exist_ok=True)

    frame, algorithm, search_seconds = _search(setup, spec, out, address)
    best_row = frame.sort_values(spec.objective, ascending=False, kind="stable").iloc[0]
    best = {path: _plain(best_row[path]) for path in spec.params}
    best_score = {name: float(best_row[name]) for name in ("mean", "lcb", "ucb", "sd", "bankrupt_share")}
    write_frame(out / "trials.parquet", frame)
    fragment = write_fragment(
        out / "best.yaml",
        {**base_overrides, **best},
        comment=(
            f"Best of {len(frame)} trials of `ds1ray tune {experiment_path}` ({algorithm}); objective "
            f"{spec.objective}: mean net profit {best_score['mean']:.2f}, 95 % CI "
            f"[{best_score['lcb']:.2f}, {best_score['ucb']:.2f}] over {len(setup.seeds)} seeds × "
            f"{len(setup.points)} point(s), {setup.days} days."
        ),
    )
    write_json(
        out / "tune.json",
        {
            "experiment": experiment.name,
            "experiment_file": str(experiment_path),
            "tune": spec.model_dump(mode="json"),
            "base_strategy": base,
            "base_overrides": base_overrides,
            "seeds": list(setup.seeds),
            "points": list(setup.points),
            "days": setup.days,
            "algorithm": algorithm,
            "best": best,
            "best_score": best_score,
            "timings": {"search": round(search_seconds, 3), "total": round(time.perf_counter() - started, 3)},
        },
    )
    return TuneResult(frame, best, best_score, spec.objective, algorithm, out, fragment)


def _search(setup: TrialSetup, spec: TuneSpec, out: Path, address: str | None) -> tuple[pd.DataFrame, str, float]:
    # Tune's newer console output ignores verbose=0 and draws boxes; the classic reporter stays quiet.
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
    from ray import tune

    from ds1ray.sweep.workers import ray_session

    with ray_session(address) as cluster:
        algorithm, name = search_algorithm(spec.objective, spec.search_seed)
        tuner = tune.Tuner(
            tune.with_parameters(_trial, setup=setup),
            param_space={key_of(path): tune_domain(d) for path, d in spec.params.items()},
            tune_config=tune.TuneConfig(
                metric=spec.objective,
                mode="max",
                search_alg=algorithm,
                num_samples=spec.trials,
                max_concurrent_trials=max(1, int(cluster.resources.get("CPU", 1))),
            ),
            run_config=tune.RunConfig(
                name="trials", storage_path=str((out / "ray_tune").resolve()), verbose=0, log_to_file=True
            ),
        )
        started = time.perf_counter()
        grid = tuner.fit()
        seconds = time.perf_counter() - started
    if grid.errors:
        first = str(grid.errors[0]).strip().splitlines()
        raise UserError(f"{len(grid.errors)} trial(s) failed; the first: {first[-1] if first else 'unknown error'}")
    rows = []
    for number in range(len(grid)):
        result = grid[number]
        metrics = result.metrics or {}
        row: dict[str, Any] = {"trial": number}
        row.update({path_of(key): value for key, value in (result.config or {}).items()})
        row.update({name: metrics.get(name) for name in ("mean", "lcb", "ucb", "sd", "seeds", "runs",
                                                          "bankrupt_share", "final_cash", "roas")})
        rows.append(row)
    frame = pd.DataFrame(rows)
    frame["objective"] = spec.objective
    frame["rank"] = frame[spec.objective].rank(ascending=False, method="first").astype(int)
    return frame, name, seconds


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value
