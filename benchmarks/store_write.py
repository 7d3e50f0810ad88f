"""Benchmark: writing a sweep's results to PostgreSQL (COPY) vs to Parquet files.

Generates a realistic result set (N runs × D days, the result-table contract
of docs/architecture.md), splits it into cohorts the way a sweep does (the
sweep's default size: ceil(N / CPUs), at most 2,000 runs), then, in one
process and one run, writes the same cohorts

  * as Parquet, as the sweep writes them: per cohort `<key>.daily.parquet`,
    `<key>.json`, `<key>.runs.parquet` (`ds1ray.sweep.results.CohortStore`:
    pandas/pyarrow, atomic renames), one cohort after another;
  * into PostgreSQL with `Store.record_sweep_cohorts(..., parallel=P)`
    (binary COPY, one durably committed transaction per cohort, P at once);
  * into PostgreSQL with P = 1 (`record_sweep_cohort` one after another), for
    comparison,

and prints the times and the ratio (the target is PostgreSQL ≤ 1.5 × Parquet).
The sweep's final `runs.parquet`/`daily.parquet` assembly, which reads the
cohort files back, is timed too but not counted in the Parquet time, so the
Parquet side is never slower than the sweep's own path.

    python benchmarks/store_write.py [--runs 10000] [--days 365]
        [--db postgresql://postgres@127.0.0.1:5432/ds1ray_bench] [--cohort-size N]
        [--parallel 2] [--repeat 1] [--json FILE]

The database is created and migrated if missing; the benchmark's experiment is
deleted afterwards unless --keep.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import psutil
import psycopg
import pyarrow as pa
from psycopg import sql

from ds1ray.store import Store, migrate_store, open_store
from ds1ray.sweep.plan import default_cohort_size
from ds1ray.sweep.results import CohortStore, assemble

DEFAULT_DB = "postgresql://postgres@127.0.0.1:5432/ds1ray_bench"


def make_results(runs: int, days: int, seed: int = 7) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Runs and daily frames shaped and valued like a sweep's (cents-exact dollars)."""
    rng = np.random.default_rng(seed)
    run_ids = [f"exp-bench-{index:06d}" for index in range(runs)]
    allocation = rng.choice([0.2, 0.4, 0.6, 0.8], runs)
    markup = rng.choice([1.8, 2.2, 2.6, 3.0], runs)
    cells = runs * days
    sessions = rng.poisson(rng.uniform(80, 600, runs).repeat(days)).astype(np.int64)
    checkouts = rng.binomial(sessions, 0.06).astype(np.int64)
    orders = rng.binomial(checkouts, 0.55).astype(np.int64)
    revenue_cents = orders * rng.integers(1500, 6500, cells)
    ad_cents = rng.integers(0, 25_000, cells)
    refunds = rng.binomial(orders, 0.04).astype(np.int64)
    tickets = rng.binomial(orders + 1, 0.08).astype(np.int64)
    net_cents = revenue_cents * 45 // 100 - ad_cents - 3_300
    cash_cents = 500_000 + np.cumsum(net_cents.reshape(runs, days), axis=1).ravel()
    daily = pd.DataFrame({
        "run_id": pd.Series(np.repeat(np.array(run_ids, dtype=object), days), dtype="str"),
        "day": np.tile(np.arange(days, dtype=np.int64), runs),
        "cash": cash_cents / 100,
        "revenue": revenue_cents / 100,
        "ad_spend": ad_cents / 100,
        "orders": orders,
        "sessions": sessions,
        "checkouts": checkouts,
        "refunds": refunds,
        "tickets": tickets,
        "active_products": rng.integers(1, 12, cells).astype(np.int64),
        "roas": np.where(ad_cents > 0, revenue_cents / np.maximum(ad_cents, 1), 0.0),
    })
    per_run = {
        name: daily[name].to_numpy().reshape(runs, days).sum(axis=1)
        for name in ("revenue", "ad_spend", "orders", "tickets", "refunds", "sessions")
    }
    revenue = np.round(per_run["revenue"], 2)
    cogs = np.round(revenue * 0.42, 2)
    fees = np.round(revenue * 0.029 + per_run["orders"] * 0.30, 2)
    refunds_usd = np.round(revenue * 0.03, 2)
    ai_cost = np.round(rng.uniform(20, 90, runs), 2)
    fixed = np.full(runs, 33.0 * days)
    net = np.round(revenue - cogs - per_run["ad_spend"] - fees - refunds_usd - ai_cost - fixed, 2)
    bankrupt_day = np.where(net < -5000, rng.integers(days // 10, max(days, 2), runs), -1)
    bankrupt = pd.array([day if day >= 0 else None for day in bankrupt_day.tolist()],
                        dtype="Int64")
    runs_frame = pd.DataFrame({
        "run_id": pd.Series(run_ids, dtype="str"),
        "seed": rng.integers(0, 2**62, runs),
        "strategy": pd.Series([f"alloc={a}|markup={m}" for a, m in zip(allocation, markup,
                                                                     strict=True)], dtype="str"),
        "marketing.allocation": allocation,
        "pricing.markup": markup,
        "revenue": revenue, "cogs": cogs, "ad_spend": np.round(per_run["ad_spend"], 2),
        "payment_fees": fees, "refunds": refunds_usd, "chargebacks": np.zeros(runs),
        "ai_cost": ai_cost, "fixed_costs": fixed, "net_profit": net,
        "starting_cash": np.full(runs, 5000.0), "final_cash": np.round(5000.0 + net, 2),
        "orders": per_run["orders"].astype(np.int64),
        "tickets": per_run["tickets"].astype(np.int64),
        "conversion_rate": per_run["orders"] / np.maximum(per_run["sessions"], 1),
        "roas": revenue / np.maximum(per_run["ad_spend"], 0.01),
        "refund_rate": per_run["refunds"] / np.maximum(per_run["orders"], 1),
        "bankrupt_day": bankrupt,
    })
    return runs_frame, daily


@dataclass
class Timing:
    wall: float
    client_cpu: float  # this process, all threads
    server_cpu: float = 0.0  # the PostgreSQL backends serving this benchmark's database


def cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


def server_cpu_seconds(process: psutil.Process) -> float:
    """A backend's CPU time; 0 once it has exited (a closed connection: not the writer's)."""
    try:
        return cpu_seconds(process)
    except psutil.NoSuchProcess:
        return 0.0


def backend_processes(database: str) -> list[psutil.Process]:
    """The server processes of connections to `database` (a local server; else none)."""
    found = []
    for process in psutil.process_iter(["name", "cmdline"]):
        command = " ".join(process.info["cmdline"] or [])
        if command.startswith("postgres:") and f" {database} " in command:
            found.append(process)
    return found


Cohorts = list[tuple[pd.DataFrame, pd.DataFrame, str]]


def split_cohorts(runs: pd.DataFrame, daily: pd.DataFrame, cohort_size: int) -> Cohorts:
    """(runs, daily, key) per cohort of `cohort_size` consecutive runs, like the sweep's plan."""
    days = len(daily) // len(runs)
    cohorts = []
    for index, start in enumerate(range(0, len(runs), cohort_size)):
        part = runs.iloc[start:start + cohort_size].reset_index(drop=True)
        rows = daily.iloc[start * days:(start + len(part)) * days].reset_index(drop=True)
        cohorts.append((part, rows, f"cohort-{index}"))
    return cohorts


def write_parquet(folder: Path, cohorts: Cohorts) -> Timing:
    """The sweep's own cohort files (CohortStore.write: two Parquet files and a JSON each)."""
    store = CohortStore(folder)
    store.dir.mkdir(parents=True, exist_ok=True)
    me = psutil.Process()
    started, cpu = time.perf_counter(), cpu_seconds(me)
    for runs, daily, key in cohorts:
        store.write(key, runs, daily, {"key": key, "runs": len(runs)})
    return Timing(time.perf_counter() - started, cpu_seconds(me) - cpu)


def assemble_seconds(folder: Path, cohorts: Cohorts) -> float:
    """The sweep's final runs.parquet/daily.parquet from the cohort files (not counted)."""
    store = CohortStore(folder)
    order = {run_id: position for position, run_id in enumerate(
        pd.concat([runs["run_id"] for runs, _, _ in cohorts], ignore_index=True))}
    started = time.perf_counter()
    assemble(store, order, store.done_keys())
    return time.perf_counter() - started


def fsync_seconds(folder: Path) -> float:
    """What making the Parquet files durable would add (PostgreSQL's commit includes it)."""
    started = time.perf_counter()
    for path in folder.rglob("*.parquet"):
        descriptor = os.open(path, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
    return time.perf_counter() - started


def write_store(store: Store, experiment: str, cohorts: Cohorts, parallel: int) -> Timing:
    manifest = {"experiment": experiment, "benchmark": "store_write"}
    me = psutil.Process()
    backends = backend_processes(store.location.database)
    server_before = {process.pid: server_cpu_seconds(process) for process in backends}
    started, cpu = time.perf_counter(), cpu_seconds(me)
    if parallel == 1:
        written = [store.record_sweep_cohort(experiment, manifest, *cohort) for cohort in cohorts]
    else:
        written = store.record_sweep_cohorts(experiment, manifest, cohorts, parallel=parallel)
    wall, client = time.perf_counter() - started, cpu_seconds(me) - cpu
    assert all(written), "the benchmark's experiment was already recorded"
    server = sum(server_cpu_seconds(process) - server_before[process.pid] for process in backends)
    return Timing(wall, client, server)


def delete_experiment(store: Store, experiment: str) -> None:
    def delete(tx: Any) -> None:
        experiment_id = tx.scalar("SELECT id FROM experiments WHERE name = %s", [experiment])
        for table in ("sweep_daily", "sweep_runs", "sweep_cohorts"):
            tx.execute(f"DELETE FROM {table} WHERE experiment_id = %s", [experiment_id])
        tx.execute("DELETE FROM experiments WHERE id = %s", [experiment_id])

    store.run(delete)
    # Reclaim the space now, outside the timings, so every round starts alike.
    with psycopg.connect(store.location.url, autocommit=True) as connection:
        for table in ("sweep_daily", "sweep_runs"):
            connection.execute(sql.SQL("VACUUM {}").format(sql.Identifier(table)))


def warm_pool(store: Store, connections: int) -> None:
    """Open the pooled connections the concurrent write uses before timing (the pool grows lazily)."""
    with ThreadPoolExecutor(max_workers=connections) as threads:
        list(threads.map(lambda _: store.run(lambda tx: tx.scalar("SELECT pg_sleep(0.3)")),
                         range(connections)))


def check_durable(store: Store) -> None:
    """The comparison is only fair if every commit waits for its WAL flush."""
    setting = store.run(lambda tx: tx.scalar("SHOW synchronous_commit"))
    fsync = store.run(lambda tx: tx.scalar("SHOW fsync"))
    if setting != "on" or fsync != "on":
        raise SystemExit(f"synchronous_commit={setting}, fsync={fsync}: the server does not "
                         "commit durably, so the comparison would be unfair")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--db", default=os.environ.get("DS1_BENCH_DATABASE_URL", DEFAULT_DB))
    parser.add_argument("--cohort-size", type=int, default=None,
                        help="runs per cohort (default: the sweep's, ceil(runs / CPUs) ≤ 2,000)")
    parser.add_argument("--parallel", type=int, default=2,
                        help="cohorts written to PostgreSQL at once (pooled connections)")
    parser.add_argument("--repeat", type=int, default=1, help="write both this many times")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark's rows")
    args = parser.parse_args(argv)

    print(f"generating {args.runs:,} runs × {args.days} days …", flush=True)
    runs, daily = make_results(args.runs, args.days)
    cohort_size = args.cohort_size or default_cohort_size(args.runs, os.cpu_count() or 1)
    cohorts = split_cohorts(runs, daily, cohort_size)
    print(f"{len(cohorts)} cohort(s) of ≤ {cohort_size:,} runs; PostgreSQL: {args.parallel} "
          f"at once, and one after another for comparison", flush=True)
    migrate_store(args.db)
    rounds = []
    with open_store(args.db) as store:
        check_durable(store)
        warm_pool(store, args.parallel)
        for round_index in range(args.repeat):
            experiment = f"bench-store-write-{os.getpid()}-{round_index}"
            with tempfile.TemporaryDirectory() as folder:
                parquet = write_parquet(Path(folder), cohorts)
                parquet_fsync = fsync_seconds(Path(folder))
                assembled = assemble_seconds(Path(folder), cohorts)
                parquet_bytes = sum(f.stat().st_size for f in Path(folder).rglob("*.parquet"))
            postgres = write_store(store, experiment, cohorts, args.parallel)
            if not args.keep:
                delete_experiment(store, experiment)
            serial = write_store(store, f"{experiment}-serial", cohorts, 1)
            if not args.keep:
                delete_experiment(store, f"{experiment}-serial")
            load = os.getloadavg()[0]
            rounds.append({
                "parquet_seconds": parquet.wall, "postgres_seconds": postgres.wall,
                "ratio": postgres.wall / parquet.wall,
                "postgres_serial_seconds": serial.wall,
                "serial_ratio": serial.wall / parquet.wall,
                "parquet_cpu_seconds": parquet.client_cpu,
                "postgres_client_cpu_seconds": postgres.client_cpu,
                "postgres_server_cpu_seconds": postgres.server_cpu,
                "postgres_serial_client_cpu_seconds": serial.client_cpu,
                "postgres_serial_server_cpu_seconds": serial.server_cpu,
                "parquet_fsync_seconds": parquet_fsync,
                "parquet_assemble_seconds": assembled,
                "ratio_with_assembly": postgres.wall / (parquet.wall + assembled),
                "parquet_bytes": parquet_bytes, "load_average": load,
            })
            print(f"round {round_index + 1}: Parquet {parquet.wall:.2f} s (+{parquet_fsync:.2f} s "
                  f"fsync, +{assembled:.2f} s final assembly: not counted), PostgreSQL "
                  f"×{args.parallel} {postgres.wall:.2f} s, ratio {postgres.wall / parquet.wall:.2f}"
                  f"; one at a time {serial.wall:.2f} s, ratio {serial.wall / parquet.wall:.2f}"
                  f"  | CPU s: Parquet {parquet.client_cpu:.2f}, PostgreSQL ×{args.parallel} "
                  f"client {postgres.client_cpu:.2f} + server {postgres.server_cpu:.2f}, one at "
                  f"a time {serial.client_cpu:.2f} + {serial.server_cpu:.2f}  "
                  f"(load average {load:.1f} on {os.cpu_count()} CPUs)", flush=True)
    ratios = sorted(r["ratio"] for r in rounds)
    median = statistics.median(ratios)
    serial_median = statistics.median(r["serial_ratio"] for r in rounds)
    assembly_median = statistics.median(r["ratio_with_assembly"] for r in rounds)
    result = {
        "runs": args.runs, "days": args.days, "daily_rows": len(daily),
        "cohort_size": cohort_size, "cohorts": len(cohorts), "parallel": args.parallel,
        "rounds": rounds, "ratio_median": median, "serial_ratio_median": serial_median,
        "ratio_with_assembly_median": assembly_median,
        "ratio_min": ratios[0], "ratio_max": ratios[-1],
        "target_ratio": 1.5,
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                    "pandas": pd.__version__, "pyarrow": pa.__version__},
    }
    print(f"{len(daily):,} daily rows + {args.runs:,} runs in {len(cohorts)} cohorts: "
          f"PostgreSQL (×{args.parallel})/Parquet = {median:.2f} (median of {len(rounds)} "
          f"round(s); {ratios[0]:.2f} … {ratios[-1]:.2f}); one at a time {serial_median:.2f}; "
          f"target ≤ 1.5.  Against the sweep's whole Parquet output (cohort files + final "
          f"assembly): {assembly_median:.2f}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
