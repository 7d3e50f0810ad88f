"""Sweep throughput: one workload of the quickstart scenario, three ways, in one invocation.

    python benchmarks/sweep_throughput.py [--runs 512] [--days 365] [--only a|b|c] [--repeat N] [--json FILE]

(a) each run alone in this process, without Ray (a cohort of one);
(b) all runs as one cohort in this process, without Ray;
(c) the `ds1ray sweep` path (`run_sweep`: plan, cohorts on a pool of Ray actors,
    Parquet files, manifest) on a local Ray with all CPUs; Ray's start-up is
    timed separately and not counted.

Each path reports run-days per second and the peak memory of all processes
involved: the proportional set size (PSS, so pages shared between processes
count once) summed over this process and all its descendants — Ray's own
processes and workers included — sampled once a second at the lowest priority.

A shared machine is noisy: `--repeat N` measures the paths N times, in rounds
(a, b, c, then again), and reports each path's median time; the ratios are
those of the medians, and each round's own (c)/(b) is printed too.

The workload is the quickstart experiment (its scenario and strategies) with
the replicate seeds raised so that it holds at least `--runs` runs (rounded up to
a multiple of the strategy count). Path (a) is a rate, so by default it is
measured on a sample of runs (`--a-sample`, 0 = all); the sample is printed.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psutil
import yaml

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = ROOT / "experiments" / "quickstart.yaml"


class PeakMemory:
    """Samples the summed PSS of this process tree in a background thread.

    One sample reads /proc/<pid>/smaps_rollup of every process (≈ 15–25 ms of CPU
    for a Ray session). The sampler must not compete with what it measures: path
    (c) keeps both CPUs busy, so every sample is time taken from a worker, while
    (b) leaves a CPU idle for it. A sampler at normal priority, ten times a second,
    took a quarter of a core from Ray's workers (nice 15); twice a second at nice
    19 it still took ≈ 3 % of one. It samples once a second at nice 19: a sweep's
    memory is a plateau lasting as long as its cohorts (seconds), not a spike.
    """

    def __init__(self, interval: float = 1.0) -> None:
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def tree_pss() -> int:
        me = psutil.Process()
        total = 0
        for process in [me, *me.children(recursive=True)]:
            try:
                total += process.memory_full_info().pss
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                continue
        return total

    def _run(self) -> None:
        # Linux threads have their own nice value: lower only this thread's priority.
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
        while not self._stop.is_set():
            self.peak = max(self.peak, self.tree_pss())
            self._stop.wait(self.interval)

    def __enter__(self) -> PeakMemory:
        self.peak = self.tree_pss()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.tree_pss())


@contextmanager
def measured(label: str, results: dict[str, Any]) -> Iterator[dict[str, Any]]:
    entry: dict[str, Any] = {}
    with PeakMemory() as memory:
        started = time.perf_counter()
        yield entry
        entry.setdefault("seconds", time.perf_counter() - started)
    entry["peak_memory_bytes"] = memory.peak
    results[label] = entry


def workload_experiment(runs: int, days: int, folder: Path) -> Path:
    """The quickstart experiment with enough replicate seeds for `runs` runs and `days` days."""
    spec = yaml.safe_load(QUICKSTART.read_text())
    strategies = len(spec["strategies"])
    spec["name"] = "throughput"
    spec["replicates"]["seeds"] = math.ceil(runs / strategies)
    spec["days"] = days
    path = folder / "throughput.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    # Relative paths in the scenario (overlay, script files) are resolved against the experiment file.
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=512)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--only", choices=("a", "b", "c"), action="append",
                        help="run only this path (repeatable)")
    parser.add_argument("--a-sample", type=int, default=64,
                        help="runs measured alone for path (a); 0 = all (default 64)")
    parser.add_argument("--cohort-size", type=int, default=None, help="path (c): cohort size (default: sweep's)")
    parser.add_argument("--repeat", type=int, default=1, help="measure each path this many times (median)")
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    args = parser.parse_args(argv)
    if args.runs < 1 or args.days < 1:
        parser.error("--runs and --days must be at least 1")
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    paths = set(args.only or ("a", "b", "c"))

    from ds1ray.sweep.experiment import load_experiment
    from ds1ray.sweep.validate import scenario_config

    with tempfile.TemporaryDirectory(prefix="ds1ray-bench-") as tmp:
        experiment_path = workload_experiment(args.runs, args.days, Path(tmp))
        experiment = load_experiment(experiment_path)
        config = scenario_config(experiment)
        runs = experiment.run_specs()
        n, days = len(runs), experiment.days
        print(f"workload: {n} runs × {days} days of the quickstart scenario "
              f"({len(experiment.strategies)} strategies × {experiment.replicates.seeds} seeds)", flush=True)

        rounds: list[dict[str, Any]] = []
        for round_index in range(args.repeat):
            if args.repeat > 1:
                print(f"round {round_index + 1} of {args.repeat}", flush=True)
            measured_round = one_round(paths, args, config, runs, experiment_path, Path(tmp) / f"out-{round_index}")
            rounds.append(measured_round)
        results = median_rounds(rounds)
        if args.repeat > 1:
            print(f"\nmedians of {args.repeat} rounds:")
            for path, entry in results.items():
                print(f"({path}) {entry['seconds']:.2f} s, {entry['run_days_per_s']:,.0f} run-days/s "
                      f"(rounds: {', '.join(f'{s:.2f}' for s in entry['round_seconds'])} s)")

    figures = summarise(results, days)
    print()
    for key in ("ratio_c_a", "ratio_c_b"):
        if key in figures:
            print(f"{key}: {figures[key]:.2f}")
    print(f"peak_memory_bytes: {figures['peak_memory_bytes']:,} ({figures['peak_memory_bytes'] / 2**30:.2f} GiB)")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0


def one_round(paths: set[str], args: argparse.Namespace, config: Any, runs: list[Any], experiment_path: Path,
              out: Path) -> dict[str, Any]:
    """Each chosen path measured once; `out` is path (c)'s results folder (removed after)."""
    from ds1ray.cohort import simulate

    n, days = len(runs), args.days
    measured_round: dict[str, Any] = {}
    if "a" in paths:
        sample = runs if args.a_sample <= 0 else runs[: min(args.a_sample, n)]
        with measured("a", measured_round) as entry:
            for run in sample:
                simulate(config, [run], days)
        entry["runs"] = len(sample)
        report("a", f"each run alone, no Ray ({len(sample)} of {n} runs)", entry, len(sample) * days)

    if "b" in paths:
        with measured("b", measured_round) as entry:
            simulate(config, runs, days)
        entry["runs"] = n
        report("b", "all runs as one cohort, no Ray", entry, n * days)

    if "c" in paths:
        c_entry = run_sweep_path(experiment_path, out, args.cohort_size, measured_round)
        shutil.rmtree(out)  # rounds would fill the disk
        report("c", f"ds1ray sweep on local Ray, {c_entry['cpus']} CPUs, {c_entry['cohorts']} cohorts "
                    f"(Ray start-up {c_entry['ray_start_seconds']:.1f} s, not counted)", c_entry, n * days)
        print(f"    cohort compute in the workers: {c_entry['cohort_seconds']} s; sweep phases: "
              f"{c_entry['timings']}; outside the cohorts: {c_entry['overhead_seconds']} s")
    if "b" in measured_round and "c" in measured_round:
        print(f"    this round's (c)/(b): {measured_round['b']['seconds'] / measured_round['c']['seconds']:.2f}")
    return measured_round


def run_sweep_path(experiment_path: Path, out: Path, cohort_size: int | None, results: dict[str, Any]
                   ) -> dict[str, Any]:
    import ray

    from ds1ray.sweep.runner import run_sweep

    with PeakMemory() as memory:
        started = time.perf_counter()
        ray.init(address="local", include_dashboard=False, log_to_driver=False)
        ray_start = time.perf_counter() - started
        cpus = int(ray.cluster_resources().get("CPU", 1))
        try:
            sweep_started = time.time()
            summary = run_sweep(experiment_path, out_dir=out, cohort_size=cohort_size, progress=False)
            sweep_finished = time.time()
        finally:
            ray.shutdown()
    manifest = json.loads((out / "manifest.json").read_text())
    cohorts = manifest.get("cohorts", [])
    # Where (c)'s time goes besides simulating: until the first worker starts its cohort, and after
    # the last one ends (result transfer, the last cohort's files and rows, runs.parquet, manifest).
    overhead = {
        "until_first_cohort_starts": min(c["worker_started_at"] for c in cohorts) - sweep_started,
        "after_last_cohort_ends": sweep_finished - max(c["worker_finished_at"] for c in cohorts),
    }
    entry = {
        "seconds": summary.seconds,
        # Each cohort's own compute time inside its worker: the rest of (c) is Ray and file overhead.
        "cohort_seconds": [round(float(c.get("seconds", 0.0)), 2) for c in manifest.get("cohorts", [])],
        "ray_start_seconds": ray_start,
        "cpus": cpus,
        "cohorts": summary.cohorts,
        "runs": summary.runs,
        "timings": {k: round(v, 3) for k, v in summary.timings.items()},
        "overhead_seconds": {k: round(v, 3) for k, v in overhead.items()},
        "peak_memory_bytes": memory.peak,
    }
    results["c"] = entry
    return entry


def report(path: str, label: str, entry: dict[str, Any], run_days: int) -> None:
    entry["run_days_per_s"] = run_days / entry["seconds"]
    print(f"({path}) {label}: {entry['seconds']:.2f} s, {entry['run_days_per_s']:,.0f} run-days/s, "
          f"peak memory {entry['peak_memory_bytes'] / 2**20:,.0f} MiB", flush=True)


def median_rounds(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """Each path's round with the median time (the lower middle one for an even count), with every round's time."""
    results: dict[str, Any] = {}
    for path in rounds[0]:
        entries = sorted((r[path] for r in rounds), key=lambda entry: entry["seconds"])
        median = dict(entries[(len(entries) - 1) // 2])
        median["round_seconds"] = [r[path]["seconds"] for r in rounds]
        median["peak_memory_bytes"] = max(entry["peak_memory_bytes"] for entry in entries)
        results[path] = median
    return results


def summarise(results: dict[str, Any], days: int) -> dict[str, Any]:
    figures: dict[str, Any] = {"days": days}
    for path, entry in results.items():
        figures[f"run_days_per_s_{path}"] = entry["run_days_per_s"]
        figures[f"runs_{path}"] = entry["runs"]
        figures[f"seconds_{path}"] = entry["seconds"]
        figures[f"peak_memory_bytes_{path}"] = entry["peak_memory_bytes"]
        figures[f"round_seconds_{path}"] = entry["round_seconds"]
    ratio: Callable[[str, str], float] = lambda x, y: results[x]["run_days_per_s"] / results[y]["run_days_per_s"]  # noqa: E731
    if "c" in results and "a" in results:
        figures["ratio_c_a"] = ratio("c", "a")
    if "c" in results and "b" in results:
        figures["ratio_c_b"] = ratio("c", "b")
    if "c" in results:
        figures["ray_start_seconds"] = results["c"]["ray_start_seconds"]
        figures["timings_c"] = results["c"]["timings"]
    figures["peak_memory_bytes"] = max(entry["peak_memory_bytes"] for entry in results.values())
    return figures


if __name__ == "__main__":
    sys.exit(main())
