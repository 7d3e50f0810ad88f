"""End-to-end sweeps on a small local Ray: invariance, resume, manifest, store recording."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from ds1ray.errors import UserError
from ds1ray.sweep import load_results, run_sweep
from ds1ray.sweep.results import CohortStore
from ds1ray.sweep.workers import ClusterInfo
from tests.sweep.conftest import WriteExperiment

pytestmark = [pytest.mark.ray, pytest.mark.usefixtures("ray_cluster")]

SMALL = """
name: small
strategies:
  baseline: {}
  equal: {marketing.allocation: equal}
space:
  grid:
    ceo.daily_ad_budget: [60.0, 200.0]
replicates: {seeds: 3, first_seed: 5}
days: 20
"""
RUNS = 2 * 2 * 3


def _sweep(path: Path, out: Path, **options: object) -> pd.DataFrame:
    summary = run_sweep(path, out_dir=out, progress=False, **options)  # type: ignore[arg-type]
    assert summary.runs == RUNS
    return load_results(out).runs


def test_outcomes_do_not_depend_on_cohort_size_or_worker_count(
    write_experiment: WriteExperiment, tmp_path: Path
) -> None:
    path = write_experiment(SMALL)
    one_by_one = _sweep(path, tmp_path / "a", cohort_size=1, workers=1)
    one_cohort = _sweep(path, tmp_path / "b", cohort_size=RUNS, workers=1)
    mixed = _sweep(path, tmp_path / "c", cohort_size=5, workers=2)
    pd.testing.assert_frame_equal(one_by_one, one_cohort)
    pd.testing.assert_frame_equal(one_by_one, mixed)
    pd.testing.assert_frame_equal(load_results(tmp_path / "a").daily, load_results(tmp_path / "c").daily)


def test_runs_table_has_identity_then_swept_parameters_then_outcomes(
    write_experiment: WriteExperiment, tmp_path: Path
) -> None:
    runs = _sweep(write_experiment(SMALL), tmp_path / "out", cohort_size=4)
    assert list(runs.columns[:4]) == ["run_id", "seed", "strategy", "ceo.daily_ad_budget"]
    assert {"net_profit", "final_cash", "roas", "refund_rate", "orders", "bankrupt_day"} <= set(runs.columns)
    assert runs["run_id"].is_unique and len(runs) == RUNS
    cells = runs.groupby(["strategy", "ceo.daily_ad_budget"])["seed"].apply(sorted)
    assert all(seeds == [5, 6, 7] for seeds in cells)  # common random numbers: same seeds everywhere
    # Every run's daily rows: one per day, in order.
    daily = load_results(tmp_path / "out").daily
    assert daily.groupby("run_id")["day"].apply(list).map(lambda days: days == list(range(20))).all()


def test_manifest_records_spec_config_seeds_cohorts_timings_and_cluster(
    write_experiment: WriteExperiment, tmp_path: Path
) -> None:
    _sweep(write_experiment(SMALL), tmp_path / "out", cohort_size=5)
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["experiment"] == "small" and manifest["days"] == 20
    assert manifest["seeds"] == [5, 6, 7]
    assert manifest["swept_parameters"] == ["ceo.daily_ad_budget"]
    assert manifest["config"]["agents"]["marketing"]
    assert [c["runs"] for c in manifest["cohorts"]] == [5, 5, 2]
    assert {"prepare", "ray_start", "simulate", "assemble", "total"} <= set(manifest["timings"])
    assert manifest["ray"]["cluster_resources"]["CPU"] == 2.0
    assert manifest["code"]["ds1ray_version"]


def test_a_sweep_missing_some_cohorts_simulates_only_those_and_gives_the_same_tables(
    write_experiment: WriteExperiment, tmp_path: Path
) -> None:
    path, out = write_experiment(SMALL), tmp_path / "out"
    complete = _sweep(path, out, cohort_size=4)
    store = CohortStore(out)
    lost = store.done_keys()[0]
    store.runs_path(lost).unlink()  # as if the sweep died while writing this cohort
    (out / "runs.parquet").unlink()
    summary = run_sweep(path, out_dir=out, cohort_size=4, progress=False)
    assert (summary.runs_simulated, summary.runs_reused) == (4, 8)
    assert store.done_keys() == sorted(store.done_keys()) and lost in store.done_keys()
    pd.testing.assert_frame_equal(load_results(out).runs, complete)


def test_rerunning_a_finished_sweep_simulates_nothing(write_experiment: WriteExperiment, tmp_path: Path) -> None:
    path, out = write_experiment(SMALL), tmp_path / "out"
    first = _sweep(path, out)
    summary = run_sweep(path, out_dir=out, progress=False)
    assert summary.runs_simulated == 0 and summary.runs_reused == RUNS
    pd.testing.assert_frame_equal(load_results(out).runs, first)


def test_a_changed_experiment_in_the_same_folder_is_refused_unless_forced(
    write_experiment: WriteExperiment, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    _sweep(write_experiment(SMALL), out)
    changed = write_experiment(SMALL.replace("days: 20", "days: 21"), name="changed.yaml")
    with pytest.raises(UserError, match="different version of experiment 'small'"):
        run_sweep(changed, out_dir=out, progress=False)
    assert len(load_results(out).daily) == RUNS * 20  # nothing lost
    run_sweep(changed, out_dir=out, progress=False, force=True)
    assert len(load_results(out).daily) == RUNS * 21


def test_a_bad_override_fails_before_anything_runs(write_experiment: WriteExperiment, tmp_path: Path) -> None:
    path = write_experiment(SMALL.replace("[60.0, 200.0]", "[60.0, -5.0]"))
    with pytest.raises(UserError, match=r"space\.grid\.ceo\.daily_ad_budget"):
        run_sweep(path, out_dir=tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists()


def test_with_a_database_each_cohort_is_recorded_once_across_reruns(
    write_experiment: WriteExperiment, tmp_path: Path
) -> None:
    from ds1ray.store import open_store

    url = f"sqlite:///{tmp_path / 'sweeps.sqlite3'}"
    open_store(url, migrate=True).close()
    path, out = write_experiment(SMALL), tmp_path / "out"
    run_sweep(path, out_dir=out, cohort_size=5, progress=False, db_url=url)
    (out / "runs.parquet").unlink()
    run_sweep(path, out_dir=out, cohort_size=5, progress=False, db_url=url)
    with open_store(url) as store:
        runs, daily = store.load_sweep("small")
    assert sorted(runs["run_id"]) == sorted(load_results(out).runs["run_id"])
    assert len(daily) == RUNS * 20


def test_an_interrupted_sweep_stops_its_workers_before_its_ray_session_ends(
    write_experiment: WriteExperiment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ds1ray.sweep import runner

    events: list[str] = []

    @contextmanager
    def session(address: str | None) -> Iterator[ClusterInfo]:
        try:
            yield ClusterInfo(address=None, started_here=True, start_seconds=0.0, resources={"CPU": 2.0}, nodes=1)
        finally:
            events.append("session ended")  # where the real one shuts Ray down

    def cohorts(cohorts: list[Any], *args: Any, **kwargs: Any) -> Iterator[Any]:
        try:
            yield cohorts[0], None, {}
        finally:
            events.append("workers stopped")  # where the real generator kills its actors

    def interrupt(result: Any) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "ray_session", session)
    monkeypatch.setattr(runner, "run_cohorts", cohorts)
    monkeypatch.setattr(runner, "daily_table", interrupt)
    with pytest.raises(KeyboardInterrupt):
        run_sweep(write_experiment(SMALL), out_dir=tmp_path / "out", progress=False)
    assert events == ["workers stopped", "session ended"]


def test_an_interrupted_sweep_keeps_finished_cohorts_and_resumes(
    write_experiment: WriteExperiment, tmp_path: Path
) -> None:
    import ray

    path = write_experiment(SMALL.replace("seeds: 3", "seeds: 15").replace("days: 20", "days: 60"))
    out = tmp_path / "out"
    command = [
        sys.executable,
        "-m",
        "ds1ray.cli",
        "sweep",
        str(path),
        "--out",
        str(out),
        "--address",
        ray.get_runtime_context().gcs_address,
        "--cohort-size",
        "1",
        "--workers",
        "1",
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not list((out / "cohorts").glob("*.runs.parquet")) and time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "interrupted" in stderr and "run the same command to resume" in stderr
    kept = len(CohortStore(out).done_keys())
    assert 1 <= kept < 60 and not (out / "runs.parquet").exists()
    # The daily table was being written as cohorts finished: neither it nor its temporary file is left.
    assert not (out / "daily.parquet").exists() and not list(out.glob(".*tmp*"))
    summary = run_sweep(path, out_dir=out, cohort_size=1, progress=False)
    assert summary.runs_reused == kept and summary.runs_simulated == 60 - kept
    assert len(load_results(out).runs) == 60


def test_the_cli_sweeps_then_compares(
    write_experiment: WriteExperiment, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from ds1ray.cli import main

    out = tmp_path / "out"
    assert main(["sweep", str(write_experiment(SMALL)), "--out", str(out), "--cohort-size", "6"]) == 0
    captured = capsys.readouterr()
    assert "12 runs (12 simulated, 0 reused) in 2 cohorts" in captured.out
    assert "sweep small: 12/12 runs (100 %)" in captured.err
    assert main(["compare", str(out), "--baseline", "baseline"]) == 0
    text = capsys.readouterr().out
    assert "net_profit" in text and "Δ vs baseline (paired)" in text and "equal" in text
    assert main(["compare", str(out), "--baseline", "nobody"]) == 2
    assert "unknown baseline 'nobody'" in capsys.readouterr().err


@pytest.mark.skipif(os.environ.get("DS1_SKIP_MULTINODE") == "1", reason="DS1_SKIP_MULTINODE=1")
def test_a_two_node_cluster_gives_the_same_results_as_one_node(
    write_experiment: WriteExperiment, tmp_path: Path
) -> None:
    path = write_experiment(SMALL)
    single = _sweep(path, tmp_path / "single", cohort_size=3)
    # A second Ray cannot start in this process: the two-node cluster runs in a child process.
    script = f"""
import ray
from ray.cluster_utils import Cluster
from ds1ray.sweep import run_sweep
cluster = Cluster(initialize_head=True, head_node_args={{"num_cpus": 1, "include_dashboard": False}})
cluster.add_node(num_cpus=1)
cluster.wait_for_nodes()
ray.init(address=cluster.address, include_dashboard=False, log_to_driver=False)
try:
    run_sweep({str(path)!r}, out_dir={str(tmp_path / "multi")!r}, cohort_size=3, progress=False)
finally:
    ray.shutdown()
    cluster.shutdown()
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    multi = load_results(tmp_path / "multi")
    assert multi.manifest["ray"]["nodes"] == 2, multi.manifest["ray"]
    nodes = {c["node"] for c in multi.manifest["cohorts"]}
    assert len(nodes) == 2, multi.manifest["cohorts"]
    pd.testing.assert_frame_equal(multi.runs, single)


def test_a_worker_killed_mid_sweep_is_restarted_and_the_results_do_not_change(
    write_experiment: WriteExperiment, tmp_path: Path
) -> None:
    import threading

    import psutil

    path = write_experiment(SMALL.replace("seeds: 3", "seeds: 10").replace("days: 20", "days: 90"))
    reference = _sweep_all(path, tmp_path / "reference")
    killed: list[int] = []

    def kill_one_worker() -> None:
        # Only this test's own Ray workers: descendants of this process, never anyone else's.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            for child in psutil.Process().children(recursive=True):
                try:
                    if child.cmdline()[:1] == ["ray::CohortWorker.simulate"]:
                        child.kill()
                        killed.append(child.pid)
                        return
                except psutil.Error:
                    continue
            time.sleep(0.02)

    killer = threading.Thread(target=kill_one_worker)
    killer.start()
    try:
        runs = _sweep_all(path, tmp_path / "out")
    finally:
        killer.join()
    assert killed, "no worker was found running a cohort"
    pd.testing.assert_frame_equal(runs, reference)


def _sweep_all(path: Path, out: Path) -> pd.DataFrame:
    run_sweep(path, out_dir=out, cohort_size=10, workers=2, progress=False)
    return load_results(out).runs
