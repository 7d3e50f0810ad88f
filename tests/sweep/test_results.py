"""The results folder: cohort files, claiming a folder, streaming assembly, load_results."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ds1ray.errors import UserError
from ds1ray.sweep.results import CohortStore, DailyAssembly, assemble, atomic_write, load_results, write_json


def _cohort(run_ids: list[str], days: int = 3) -> tuple[pd.DataFrame, pd.DataFrame]:
    runs = pd.DataFrame(
        {
            "run_id": run_ids,
            "seed": range(len(run_ids)),
            "strategy": "baseline",
            "net_profit": [float(i) for i in range(len(run_ids))],
            "bankrupt_day": pd.array([None] * len(run_ids), dtype="Int64"),
        }
    )
    daily = pd.DataFrame(
        {
            "run_id": [r for r in run_ids for _ in range(days)],
            "day": [d for _ in run_ids for d in range(days)],
            "cash": [float(d) for _ in run_ids for d in range(days)],
        }
    )
    # Cohorts may return rows in any order; assembly must not care.
    return runs.iloc[::-1], daily.iloc[::-1]


def test_atomic_write_leaves_no_file_when_writing_fails(tmp_path: Path) -> None:
    def broken(tmp: Path) -> None:
        tmp.write_text("half")
        raise OSError("disk full")

    with pytest.raises(OSError):
        atomic_write(tmp_path / "x.json", broken)
    assert list(tmp_path.iterdir()) == []


def test_a_cohort_counts_as_done_only_when_its_runs_file_exists(tmp_path: Path) -> None:
    store = CohortStore(tmp_path)
    store.claim("exp", "h1", force=False)
    runs, daily = _cohort(["a", "b"])
    store.write("k1", runs, daily, {"key": "k1"})
    (store.dir / "k2.daily.parquet").write_bytes(b"partial")  # died before its runs file
    assert store.done_keys() == ["k1"]
    assert sorted(store.done_run_ids()["k1"]) == ["a", "b"]


def test_claiming_a_folder_of_another_experiment_version_fails_unless_forced(
    tmp_path: Path,
) -> None:
    store = CohortStore(tmp_path)
    store.claim("exp", "h1", force=False)
    store.write("k1", *_cohort(["a"]), {"key": "k1"})
    with pytest.raises(UserError, match=r"different version of experiment 'exp'.*--force"):
        CohortStore(tmp_path).claim("exp", "h2", force=False)
    assert CohortStore(tmp_path).done_keys() == ["k1"]
    CohortStore(tmp_path).claim("exp", "h2", force=True)
    assert CohortStore(tmp_path).done_keys() == []


def test_claiming_again_with_the_same_hash_keeps_the_cohorts_and_drops_temporary_files(
    tmp_path: Path,
) -> None:
    store = CohortStore(tmp_path)
    store.claim("exp", "h1", force=False)
    store.write("k1", *_cohort(["a"]), {"key": "k1"})
    (store.dir / ".k2.runs.parquet.tmp-123").write_bytes(b"junk")
    store.claim("exp", "h1", force=False)
    assert store.done_keys() == ["k1"]
    assert not list(store.dir.glob(".*tmp*"))


def test_assembly_orders_runs_canonically_and_streams_daily_cohort_by_cohort(
    tmp_path: Path,
) -> None:
    store = CohortStore(tmp_path)
    store.claim("exp", "h", force=False)
    order = {run_id: i for i, run_id in enumerate(["r0", "r1", "r2", "r3", "r4"])}
    store.write("late", *_cohort(["r3", "r4"]), {})
    store.write("early", *_cohort(["r0", "r1", "r2"]), {})
    counts = assemble(store, order, store.done_keys())
    assert counts == (5, 15)
    runs = pd.read_parquet(tmp_path / "runs.parquet")
    assert list(runs["run_id"]) == ["r0", "r1", "r2", "r3", "r4"]
    assert str(runs["bankrupt_day"].dtype) == "Int64"
    daily = pd.read_parquet(tmp_path / "daily.parquet")
    assert list(daily["run_id"]) == [r for r in order for _ in range(3)]
    assert list(daily["day"]) == [0, 1, 2] * 5
    # One row group per cohort: written one cohort at a time.
    assert pq.ParquetFile(tmp_path / "daily.parquet").num_row_groups == 2


def _written(store: CohortStore, key: str, run_ids: list[str]) -> pa.Table:
    runs, daily = _cohort(run_ids)
    store.write(key, runs, daily, {})
    return pa.Table.from_pandas(daily, preserve_index=False)


@pytest.mark.parametrize("keep", [0, 2])
def test_daily_assembly_writes_cohorts_in_sequence_whatever_order_they_finish_in(tmp_path: Path, keep: int) -> None:
    store = CohortStore(tmp_path)
    store.claim("exp", "h", force=False)
    ids = [f"r{i}" for i in range(6)]
    order = {run_id: i for i, run_id in enumerate(ids)}
    tables = {key: _written(store, key, ids[2 * i : 2 * i + 2]) for i, key in enumerate(["a", "b", "c"])}
    with DailyAssembly(store, order, ["a", "b", "c"], keep=keep) as daily:
        daily.add("c", tables["c"])  # finished first, waits (in memory, or in its file when keep=0)
        daily.add("b", tables["b"])
        assert not (tmp_path / "daily.parquet").exists()
        daily.add("a", tables["a"])
        assert daily.finish() == 18
    written = pd.read_parquet(tmp_path / "daily.parquet")
    assert list(written["run_id"]) == [r for r in ids for _ in range(3)]
    assert list(written["day"]) == [0, 1, 2] * 6
    assert not list(tmp_path.glob(".*tmp*"))


def test_daily_assembly_that_misses_a_cohort_fails_and_leaves_nothing(tmp_path: Path) -> None:
    store = CohortStore(tmp_path)
    store.claim("exp", "h", force=False)
    with pytest.raises(RuntimeError, match=r"1 cohort\(s\) never came in \(first: b\)"), \
            DailyAssembly(store, {"r0": 0, "r1": 1}, ["a", "b"]) as daily:
        daily.add("a", _written(store, "a", ["r0"]))
        with pytest.raises(KeyError, match="not one of this sweep's cohorts"):
            daily.add("z")
        daily.finish()
    assert not (tmp_path / "daily.parquet").exists() and not list(tmp_path.glob(".*tmp*"))


def test_load_results_reads_tables_and_manifest_and_unpacks(tmp_path: Path) -> None:
    store = CohortStore(tmp_path)
    store.claim("exp", "h", force=False)
    store.write("k", *_cohort(["r0", "r1"]), {})
    assemble(store, {"r0": 0, "r1": 1}, ["k"])
    write_json(tmp_path / "manifest.json", {"experiment": "exp", "swept_parameters": []})
    results = load_results(tmp_path)
    runs, daily, manifest = results
    assert list(runs["run_id"]) == ["r0", "r1"]
    assert len(daily) == 6 and results.daily is daily
    assert manifest["experiment"] == "exp"


def test_load_results_of_an_unfinished_sweep_says_how_to_finish_it(tmp_path: Path) -> None:
    store = CohortStore(tmp_path)
    store.claim("exp", "h", force=False)
    store.write("k", *_cohort(["r0"]), {})
    with pytest.raises(UserError, match=r"no finished sweep here .*1 cohort file.*ds1ray sweep"):
        load_results(tmp_path)


def test_load_results_of_a_missing_folder_names_it(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no such results folder"):
        load_results(tmp_path / "absent")


def test_the_folder_lock_records_experiment_and_hash(tmp_path: Path) -> None:
    CohortStore(tmp_path).claim("exp", "h9", force=False)
    assert json.loads((tmp_path / "cohorts" / "sweep.json").read_text()) == {
        "experiment": "exp",
        "experiment_hash": "h9",
    }
