"""The results folder of a sweep: cohort files while it runs, tables when it is done.

Layout of DIR::

    cohorts/sweep.json              the experiment hash this folder belongs to
    cohorts/<key>.daily.parquet     per cohort, written as the cohort finishes …
    cohorts/<key>.json              … with where and how long it ran …
    cohorts/<key>.runs.parquet      … runs last: its presence marks the cohort done
    runs.parquet                    one row per run (canonical order)
    daily.parquet                   one row per run per day
    manifest.json                   spec, configuration, seeds, cohorts, timings, cluster

Every file is written to a temporary name and renamed, so a crash never leaves
half a file under a real name. `daily.parquet` is appended to cohort by cohort
while the sweep runs (`DailyAssembly`): the daily table of a large sweep never
sits in memory whole, and only the last cohort's rows are left to write when
the simulation ends. `runs.parquet` is assembled from the cohorts' runs files.

Example::

    from ds1ray.sweep import load_results
    results = load_results("results/quickstart")
    results.runs.groupby("strategy")["net_profit"].mean()
    runs, daily, manifest = results          # also unpackable
"""

from __future__ import annotations

import json
import os
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ds1ray.errors import UserError
from ds1ray.runspec import CohortResult

RUNS_FILE = "runs.parquet"
DAILY_FILE = "daily.parquet"
MANIFEST_FILE = "manifest.json"
COHORTS_DIR = "cohorts"
LOCK_FILE = "sweep.json"


def atomic_write(path: Path, write: Any) -> None:
    """Call `write(temporary_path)`, then rename the result onto `path`."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_json(path: Path, data: Mapping[str, Any]) -> None:
    text = json.dumps(data, indent=2, sort_keys=False, default=str) + "\n"
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_frame(path: Path, frame: pd.DataFrame | pa.Table) -> None:
    if isinstance(frame, pa.Table):
        atomic_write(path, lambda tmp: pq.write_table(frame, tmp))
    else:
        atomic_write(path, lambda tmp: frame.to_parquet(tmp, index=False))


class CohortStore:
    """The cohort files of one results folder, bound to one experiment hash."""

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        self.dir = out_dir / COHORTS_DIR

    def claim(self, experiment: str, experiment_hash: str, *, force: bool) -> None:
        """Bind the folder to this experiment; another version's cohorts raise, or go if forced."""
        self.dir.mkdir(parents=True, exist_ok=True)
        for stale in self.dir.glob(".*.tmp-*"):
            stale.unlink(missing_ok=True)
        lock = self.dir / LOCK_FILE
        if lock.exists():
            held = json.loads(lock.read_text(encoding="utf-8"))
            if held.get("experiment_hash") != experiment_hash:
                if not force:
                    raise UserError(
                        f"{self.out_dir} holds results of a different version of experiment "
                        f"'{held.get('experiment')}' (hash {held.get('experiment_hash')}, now "
                        f"{experiment_hash}); pass --force to discard them "
                        "or --out to write elsewhere"
                    )
                self._discard()
        write_json(lock, {"experiment": experiment, "experiment_hash": experiment_hash})

    def _discard(self) -> None:
        for pattern in ("*.parquet", "*.json"):
            for path in self.dir.glob(pattern):
                path.unlink()
        for name in (RUNS_FILE, DAILY_FILE, MANIFEST_FILE):
            (self.out_dir / name).unlink(missing_ok=True)

    def runs_path(self, key: str) -> Path:
        return self.dir / f"{key}.runs.parquet"

    def daily_path(self, key: str) -> Path:
        return self.dir / f"{key}.daily.parquet"

    def done_keys(self) -> list[str]:
        return sorted(p.name.removesuffix(".runs.parquet") for p in self.dir.glob("*.runs.parquet"))

    def done_run_ids(self) -> dict[str, list[str]]:
        """Cohort key → its run ids, for every finished cohort in the folder."""
        return {
            key: pq.read_table(self.runs_path(key), columns=["run_id"]).column(0).to_pylist()
            for key in self.done_keys()
        }

    def info_path(self, key: str) -> Path:
        return self.dir / f"{key}.json"

    def write(self, key: str, runs: pd.DataFrame, daily: pd.DataFrame | pa.Table, info: Mapping[str, Any]) -> None:
        # Runs last: a cohort counts as done only once its runs file exists.
        write_frame(self.daily_path(key), daily)
        write_json(self.info_path(key), info)
        write_frame(self.runs_path(key), runs)

    def info(self, key: str) -> dict[str, Any]:
        path = self.info_path(key)
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {"key": key}

    def read(self, key: str) -> tuple[pd.DataFrame, pd.DataFrame]:
        return pd.read_parquet(self.runs_path(key)), pd.read_parquet(self.daily_path(key))


def assemble(store: CohortStore, order: Mapping[str, int], keys: Sequence[str]) -> tuple[int, int]:
    """Write `runs.parquet` and `daily.parquet` from the cohort files; returns their row counts.

    `order` maps run id → canonical position. Runs are sorted by it; daily rows
    come cohort by cohort (cohorts ordered by their first run), each sorted by
    (run, day), through one `ParquetWriter`. A sweep does the daily half while
    it runs (`DailyAssembly`); this is both halves at once, from the files.
    """
    run_ids = {key: ids for key, ids in store.done_run_ids().items() if key in keys}
    with DailyAssembly.of_cohorts(store, order, run_ids, done=keys) as daily:
        daily_rows = daily.finish()
    return assemble_runs(store, order, keys), daily_rows


def assemble_runs(store: CohortStore, order: Mapping[str, int], keys: Sequence[str]) -> int:
    """Write `runs.parquet` from the cohorts' runs files, in canonical order; returns its row count."""
    parts = [pd.read_parquet(store.runs_path(key)) for key in keys]
    runs_all = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    if len(runs_all):
        runs_all = runs_all.iloc[runs_all["run_id"].map(order).argsort(kind="stable")]
    write_frame(store.out_dir / RUNS_FILE, runs_all.reset_index(drop=True))
    return len(runs_all)


def daily_table(result: CohortResult) -> pa.Table:
    """A cohort's daily rows as an Arrow table, without a round trip through pandas."""
    run_ids = pa.array(result.run_ids, pa.large_string())
    per_row = pa.array(np.repeat(np.arange(len(result.run_ids), dtype=np.int64), result.days))
    return pa.table(result.daily_columns(run_ids.take(per_row)))


class DailyAssembly:
    """`daily.parquet`, written cohort by cohort, in `sequence`, as the cohorts become available.

    A sweep adds each cohort as it finishes, so the table is all but written when
    the last cohort comes in: the sweep does not read every cohort file back
    after the simulation, it only appends the last cohort. A cohort that comes
    in before its predecessors waits: in memory while at most `keep` do (the
    table it was given), else in its cohort file, read back when its turn
    comes. Rows go to a temporary file that `finish` renames onto
    `daily.parquet` (`abort` removes it), so an interrupted sweep never leaves
    half a table under the real name.
    """

    def __init__(self, store: CohortStore, order: Mapping[str, int], sequence: Sequence[str], keep: int = 2) -> None:
        self.store, self.order, self.sequence, self.keep = store, order, list(sequence), keep
        self.path = store.out_dir / DAILY_FILE
        self._tmp = self.path.with_name(f".{self.path.name}.tmp-{os.getpid()}")
        self._writer: pq.ParquetWriter | None = None
        self._waiting: dict[str, pa.Table | None] = {}
        self._next = 0
        self.rows = 0

    @classmethod
    def of_cohorts(cls, store: CohortStore, order: Mapping[str, int], run_ids: Mapping[str, Sequence[str]],
                   done: Collection[str]) -> DailyAssembly:
        """The assembly of the cohorts in `run_ids` (key → its run ids), in order of their first run,
        with the `done` ones already added (their rows are read from their cohort files)."""
        first = {key: min(order[run_id] for run_id in ids) for key, ids in run_ids.items()}
        assembly = cls(store, order, sorted(first, key=first.__getitem__))
        for key in assembly.sequence:
            if key in done:
                assembly.add(key)
        return assembly

    def __enter__(self) -> DailyAssembly:
        return self

    def __exit__(self, *exc: object) -> None:
        self.abort()

    def add(self, key: str, table: pa.Table | None = None) -> None:
        """Cohort `key` is done; `table` is its daily rows (None: read its cohort file).

        The cohort's file must be complete before the next call (or `finish`): a cohort
        that has to wait may be read back from it then.
        """
        if key not in self.sequence:
            raise KeyError(f"cohort {key} is not one of this sweep's cohorts")
        self._waiting[key] = table
        while self._next < len(self.sequence) and self.sequence[self._next] in self._waiting:
            next_key = self.sequence[self._next]
            waiting = self._waiting.pop(next_key)
            self._append(waiting if waiting is not None else pq.read_table(self.store.daily_path(next_key)))
            self._next += 1
        # Only now may a table be dropped for its file: the cohort just added may be being written
        # by the caller at this moment, and it is read back no earlier than at the next call.
        if key in self._waiting and sum(t is not None for t in self._waiting.values()) > self.keep:
            self._waiting[key] = None

    def _append(self, table: pa.Table) -> None:
        table = _in_canonical_order(table.replace_schema_metadata(None), self.order)
        if self._writer is None:
            self._writer = pq.ParquetWriter(self._tmp, table.schema)
        # Cohorts may infer slightly different types (an all-null column); unify them.
        self._writer.write_table(table.cast(self._writer.schema))
        self.rows += table.num_rows

    def finish(self) -> int:
        """Close the table and put it in place; returns its row count."""
        missing = self.sequence[self._next:]
        if missing:
            raise RuntimeError(f"daily.parquet: {len(missing)} cohort(s) never came in (first: {missing[0]})")
        if self._writer is None:
            raise ValueError("daily.parquet: a sweep without cohorts has no daily table")
        self._writer.close()
        self._writer = None
        os.replace(self._tmp, self.path)
        return self.rows

    def abort(self) -> None:
        """Drop the unfinished table (a no-op after `finish`)."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        self._tmp.unlink(missing_ok=True)


def _in_canonical_order(daily: pa.Table, order: Mapping[str, int]) -> pa.Table:
    """The cohort's daily rows sorted by (canonical run position, day).

    A cohort's rows already come in that order, so this mostly checks: run ids are
    mapped once per run (not once per row), and the table is only reordered when
    the check fails.
    """
    codes = pc.dictionary_encode(daily["run_id"]).combine_chunks()
    positions = np.array([order[run_id] for run_id in codes.dictionary.to_pylist()], np.int64)
    position = positions[codes.indices.to_numpy(zero_copy_only=False)]
    day = daily["day"].to_numpy()
    step_position, step_day = np.diff(position), np.diff(day)
    if np.all((step_position > 0) | ((step_position == 0) & (step_day > 0))):
        return daily
    return daily.take(np.lexsort((day, position)))


@dataclass
class Results:
    """A finished sweep: `runs`, `daily` (read on first use) and `manifest`.

    Unpacks as `runs, daily, manifest = load_results(dir)`.
    """

    runs: pd.DataFrame
    manifest: dict[str, Any]
    directory: Path | None
    """The results folder, or None when the sweep was read from a database."""
    _daily: pd.DataFrame | None = field(default=None, repr=False)

    @property
    def daily(self) -> pd.DataFrame:
        if self._daily is None:
            assert self.directory is not None, "results read from a database load daily eagerly"
            self._daily = pd.read_parquet(self.directory / DAILY_FILE)
        return self._daily

    @property
    def swept_parameters(self) -> list[str]:
        """The parameter columns of `runs`, in the experiment's order."""
        return list(self.manifest.get("swept_parameters", []))

    def __iter__(self) -> Iterator[Any]:
        return iter((self.runs, self.daily, self.manifest))


def load_results(source: str | Path, *, experiment: str | None = None) -> Results:
    """Read a finished sweep from its folder, or from a database (`ds1ray sweep --db URL`).

    `source` is a results folder, or a database URL (`postgresql://…`, `sqlite:///…`)
    together with `experiment`, the experiment's name. An unfinished or missing
    sweep is a `UserError`.
    """
    if isinstance(source, str) and "://" in source:
        if experiment is None:
            raise UserError(f"reading results from a database needs the experiment's name: "
                            f"load_results({source!r}, experiment=NAME)")
        return _load_from_store(source, experiment)
    directory = Path(source)
    if not directory.is_dir():
        raise UserError(f"{directory}: no such results folder")
    manifest_path = directory / MANIFEST_FILE
    runs_path = directory / RUNS_FILE
    if not manifest_path.exists() or not runs_path.exists():
        done = len(CohortStore(directory).done_keys()) if (directory / COHORTS_DIR).is_dir() else 0
        raise UserError(
            f"{directory}: no finished sweep here (no {MANIFEST_FILE} or {RUNS_FILE}; "
            f"{done} cohort file(s) done); run `ds1ray sweep EXPERIMENT.yaml --out {directory}` "
            "to finish it"
        )
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    return Results(runs=pd.read_parquet(runs_path), manifest=manifest, directory=directory)


def _load_from_store(url: str, experiment: str) -> Results:
    """A sweep recorded with `--db`: its runs, daily KPIs and identity manifest, as written."""
    from ds1ray.store import open_store
    from ds1ray.store.sweeps import load_sweep

    store = open_store(url)
    try:
        runs, daily = load_sweep(store, experiment)
        def read_manifest(tx: Any) -> dict[str, Any]:
            row = tx.execute("SELECT manifest FROM experiments WHERE name = %s", [experiment]).fetchone()
            return dict(tx.dialect.load_json(row[0]))  # load_sweep has already proved the row exists

        manifest = store.run(read_manifest)
    finally:
        store.close()
    return Results(runs=runs, manifest=manifest, directory=None, _daily=daily)
