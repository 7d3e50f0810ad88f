"""`run_sweep`: an experiment file in, a results folder out.

Steps, in order, each before the next can go wrong:
1. read the experiment, build the scenario's configuration, and apply every
   distinct override set once, so a bad value stops the sweep before anything runs;
2. bind the results folder to the experiment's hash and find the cohorts an
   earlier, interrupted invocation finished (their runs are not run again);
3. split the remaining runs into cohorts and simulate them on a pool of Ray
   actors, writing each cohort's files as soon as it finishes;
4. assemble `runs.parquet`, `daily.parquet` and `manifest.json`.

Example::

    from ds1ray.sweep import run_sweep
    summary = run_sweep("experiments/quickstart.yaml")
    summary.out_dir, summary.runs, summary.run_days_per_s
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, closing
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from ds1ray.errors import UserError
from ds1ray.runspec import CohortResult
from ds1ray.sweep.experiment import experiment_hash, load_experiment
from ds1ray.sweep.manifest import identity_manifest, invocation_manifest
from ds1ray.sweep.plan import Cohort, default_cohort_size, partition
from ds1ray.sweep.progress import Progress
from ds1ray.sweep.results import MANIFEST_FILE, CohortStore, DailyAssembly, assemble_runs, daily_table, write_json
from ds1ray.sweep.space import Point
from ds1ray.sweep.store_hook import CohortRecorder
from ds1ray.sweep.validate import check_overrides, scenario_config
from ds1ray.sweep.workers import ClusterInfo, ray_session, run_cohorts


@dataclass
class SweepSummary:
    """What a sweep did: where its results are and how fast it went."""

    experiment: str
    out_dir: Path
    runs: int
    runs_simulated: int
    runs_reused: int
    cohorts: int
    days: int
    seconds: float
    simulate_seconds: float
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def run_days_per_s(self) -> float:
        """Simulated run-days per second of the simulating phase (reused runs excluded)."""
        if self.simulate_seconds <= 0:
            return 0.0
        return self.runs_simulated * self.days / self.simulate_seconds


def run_sweep(
    experiment_path: str | Path,
    out_dir: str | Path | None = None,
    address: str | None = None,
    cohort_size: int | None = None,
    progress: bool = True,
    *,
    workers: int | None = None,
    force: bool = False,
    db_url: str | None = None,
) -> SweepSummary:
    """Run (or resume) the sweep of `experiment_path`; see the module docstring.

    `out_dir` defaults to `results/<experiment name>`; `address` joins a Ray
    cluster (default: the Ray already initialised here, else a new local one);
    `cohort_size` defaults to ceil(runs / CPUs) capped at 4,000; `workers`
    defaults to the cluster's CPUs; `force` discards a folder's results of a
    changed experiment; `db_url` also records each cohort in the store.
    """
    started = time.perf_counter()
    timings: dict[str, float] = {}
    if cohort_size is not None and cohort_size < 1:
        raise UserError(f"cohort size must be a positive number of runs, not {cohort_size}")
    if workers is not None and workers < 1:
        raise UserError(f"workers must be at least 1, not {workers}")

    experiment = load_experiment(experiment_path)
    config = scenario_config(experiment)
    points = experiment.points()
    check_overrides(experiment, config, points)
    runs = experiment.run_specs(points)
    config_dict = config.to_dict()
    digest = experiment_hash(experiment, config_dict)
    identity = identity_manifest(experiment, digest, config_dict, len(runs), len(points))
    manifest = {**identity, **invocation_manifest(experiment)}
    timings["prepare"] = time.perf_counter() - started

    out = Path(out_dir) if out_dir is not None else Path("results") / experiment.name
    store = CohortStore(out)
    store.claim(experiment.name, digest, force=force)
    recorder = CohortRecorder.open(db_url) if db_url else None
    order = {run.run_id: position for position, run in enumerate(runs)}
    dtypes = parameter_dtypes(points, experiment.swept_paths())
    finished = _finished_cohorts(store, order)
    done = {run_id for run_ids in finished.values() for run_id in run_ids}
    pending = [run for run in runs if run.run_id not in done]

    meter = Progress(experiment.name, len(runs), experiment.days, enabled=progress)
    cluster: ClusterInfo | None = None
    cohorts: list[Cohort] = []
    simulate_started = time.perf_counter()
    # The daily table is written as cohorts finish; an interrupted sweep drops the unfinished table.
    with ExitStack() as unfinished:
        assembly: DailyAssembly | None = None
        try:
            if recorder is not None:
                for key in store.done_keys():
                    recorder.record(experiment.name, identity, *store.read(key), key)
            if pending:
                with ray_session(address) as cluster:
                    timings["ray_start"] = cluster.start_seconds
                    size = cohort_size or default_cohort_size(len(runs), cluster.cpus)
                    cohorts = partition(pending, size, digest)
                    assembly = unfinished.enter_context(_daily_assembly(store, order, finished, cohorts))
                    pool = min(workers or cluster.cpus, len(cohorts))
                    meter.note(
                        f"{len(pending):,} runs to simulate in {len(cohorts)} cohort(s) of ≤ {size:,} "
                        f"on {pool} worker(s); Ray ready in {cluster.start_seconds:.1f} s"
                    )
                    meter.start(already_done=len(done))
                    simulate_started = time.perf_counter()
                    # Appending to daily.parquet and writing the cohort's own files are two Parquet encodes
                    # (pyarrow releases the GIL): done side by side, the last cohort's tail is one encode long.
                    appender = unfinished.enter_context(ThreadPoolExecutor(1, thread_name_prefix="daily"))
                    # Closed inside the Ray session, however the loop ends: the generator kills its actors as it
                    # closes, and left to the garbage collector (after an interrupt) it did so once Ray was shut
                    # down, where ray.kill starts or joins some other Ray and can hang the exit.
                    with closing(run_cohorts(cohorts, config, experiment.days, pool,
                                             on_wait=meter.in_flight)) as simulated:
                        for cohort, result, info in simulated:
                            daily = daily_table(result)
                            appended = appender.submit(assembly.add, cohort.key, daily)
                            runs_df = _with_parameters(cohort, result, dtypes)
                            store.write(cohort.key, runs_df, daily, _cohort_info(cohort, info, order))
                            if recorder is not None:
                                recorder.record(experiment.name, identity, runs_df, result.daily, cohort.key)
                            appended.result()
                            meter.advance(len(cohort.runs))
            timings["simulate"] = time.perf_counter() - simulate_started if pending else 0.0
        except KeyboardInterrupt:
            meter.finish()
            kept = sum(len(ids) for ids in store.done_run_ids().values())
            meter.note(
                f"interrupted; {kept:,} of {len(runs):,} runs are kept in {store.dir}, run the same command to resume"
            )
            raise
        finally:
            meter.finish()
            if recorder is not None:
                recorder.close()

        assemble_started = time.perf_counter()
        keys = store.done_keys()
        if assembly is None:  # nothing was left to simulate: the whole table comes from the cohort files
            assembly = unfinished.enter_context(_daily_assembly(store, order, finished, []))
        assembly.finish()
        assemble_runs(store, order, keys)
    timings["assemble"] = time.perf_counter() - assemble_started
    timings["total"] = time.perf_counter() - started
    manifest.update(
        cohorts=sorted((store.info(key) for key in keys), key=lambda c: c.get("first_position", 0)),
        timings={name: round(seconds, 3) for name, seconds in timings.items()},
        ray=cluster.to_dict() if cluster else _previous_ray(out),
        finished_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    write_json(out / MANIFEST_FILE, manifest)
    return SweepSummary(
        experiment=experiment.name,
        out_dir=out,
        runs=len(runs),
        runs_simulated=len(pending),
        runs_reused=len(done),
        cohorts=len(keys),
        days=experiment.days,
        seconds=timings["total"],
        simulate_seconds=timings["simulate"],
        timings=timings,
    )


def _finished_cohorts(store: CohortStore, order: dict[str, int]) -> dict[str, list[str]]:
    """Key → run ids of every finished cohort in the folder (all of them this experiment's runs)."""
    finished = store.done_run_ids()
    for key, run_ids in finished.items():
        unknown = [run_id for run_id in run_ids if run_id not in order]
        if unknown:
            raise UserError(
                f"{store.dir}: cohort {key} holds run {unknown[0]}, "
                "which this experiment does not have; "
                "pass --force to discard the folder's results"
            )
    return finished


def _daily_assembly(store: CohortStore, order: dict[str, int], finished: dict[str, list[str]],
                    cohorts: list[Cohort]) -> DailyAssembly:
    """The daily table's assembly over the finished cohorts and those about to run."""
    run_ids = {**finished, **{cohort.key: cohort.run_ids for cohort in cohorts}}
    return DailyAssembly.of_cohorts(store, order, run_ids, done=finished)


def parameter_dtypes(points: list[Point], paths: list[str]) -> dict[str, Any]:
    """One dtype per swept parameter, from all its values: every cohort's column agrees."""
    return {path: pd.Series([point[path] for point in points]).dtype for path in paths}


def _with_parameters(cohort: Cohort, result: CohortResult, dtypes: dict[str, Any]) -> pd.DataFrame:
    """The cohort's runs table with one column per swept parameter after `strategy`."""
    if sorted(result.run_ids) != sorted(cohort.run_ids):
        raise RuntimeError(f"cohort {cohort.key}: the simulation returned other runs than it was given")
    runs_df = result.runs
    by_id = {run.run_id: run.overrides for run in cohort.runs}
    position = list(runs_df.columns).index("strategy") + 1
    runs_df = runs_df.copy()
    for offset, (path, dtype) in enumerate(dtypes.items()):
        values = [by_id[run_id][path] for run_id in runs_df["run_id"]]
        runs_df.insert(position + offset, path, pd.Series(values, index=runs_df.index, dtype=dtype))
    return runs_df


def _cohort_info(cohort: Cohort, info: dict[str, Any], order: dict[str, int]) -> dict[str, Any]:
    return {
        "key": cohort.key,
        "runs": len(cohort.runs),
        "first_run_id": cohort.runs[0].run_id,
        "first_position": order[cohort.runs[0].run_id],
        "seconds": round(float(info["seconds"]), 3),
        "node": info.get("node"),
        "pid": info.get("pid"),
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        # The worker's own clock (Unix seconds): when its simulation of the cohort began and ended.
        "worker_started_at": round(float(info.get("started_at", 0.0)), 3),
        "worker_finished_at": round(float(info.get("finished_at", 0.0)), 3),
    }


def _previous_ray(out: Path) -> dict[str, Any] | None:
    """Nothing was left to simulate: keep the cluster the earlier invocation recorded."""
    path = out / MANIFEST_FILE
    if not path.exists():
        return None
    previous: dict[str, Any] | None = json.loads(path.read_text(encoding="utf-8")).get("ray")
    return previous
