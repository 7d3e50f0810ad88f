"""`ds1ray sweep` and `ds1ray compare`: the sweep layer's sub-commands.

    ds1ray sweep experiments/quickstart.yaml [--out DIR] [--address RAY_ADDRESS]
                 [--cohort-size N] [--workers N] [--force] [--db URL]
    ds1ray compare results/quickstart [--by strategy] [--baseline NAME] [--metric M ...]

Heavy imports (Ray, the simulation) happen inside the commands, so `ds1ray
--help` and `ds1ray compare` stay quick.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ds1ray.errors import UserError


def register(subparsers: Any) -> None:
    sweep = subparsers.add_parser(
        "sweep",
        help="run an experiment's runs on Ray and write runs/daily Parquet tables",
        description="Run (or resume) a sweep: every space point × strategy × replicate seed.",
    )
    sweep.add_argument("experiment", type=Path, help="experiment YAML file")
    sweep.add_argument("--out", type=Path, default=None, help="results folder (default results/<name>)")
    sweep.add_argument("--address", default=None, help="Ray cluster address (default: a local Ray)")
    sweep.add_argument(
        "--cohort-size",
        type=int,
        default=None,
        help="runs per cohort (default ceil(runs / CPUs), at most 4,000)",
    )
    sweep.add_argument(
        "--workers",
        type=int,
        default=None,
        help="simulating actors (default: the cluster's CPUs)",
    )
    sweep.add_argument("--force", action="store_true", help="discard the folder's results of a changed experiment")
    sweep.add_argument("--db", default=None, metavar="URL", help="also record each cohort in this store")
    sweep.add_argument("--quiet", action="store_true", help="no progress on stderr")
    sweep.set_defaults(func=sweep_command)

    compare = subparsers.add_parser(
        "compare",
        help="means, 95 %% intervals and paired differences of a finished sweep",
        description="Compare groups of runs (by strategy or a swept parameter) with a baseline.",
    )
    compare.add_argument("results", type=Path, help="results folder of a finished sweep")
    compare.add_argument("--by", default="strategy", help="column to group by (default strategy)")
    compare.add_argument(
        "--baseline",
        default=None,
        help="group to compare against (default: 'baseline' or the first)",
    )
    compare.add_argument(
        "--metric",
        action="append",
        dest="metrics",
        default=None,
        help="outcome column to compare (repeatable; default the usual six)",
    )
    compare.set_defaults(func=compare_command)


def sweep_command(args: argparse.Namespace) -> int:
    if not args.experiment.is_file():
        raise UserError(f"{args.experiment}: no such experiment file")
    for option, value in (("--cohort-size", args.cohort_size), ("--workers", args.workers)):
        if value is not None and value < 1:
            raise UserError(f"{option} must be a positive number, not {value}")
    from ds1ray.sweep.runner import run_sweep

    summary = run_sweep(
        args.experiment,
        out_dir=args.out,
        address=args.address,
        cohort_size=args.cohort_size,
        progress=not args.quiet,
        workers=args.workers,
        force=args.force,
        db_url=args.db,
    )
    print(
        f"{summary.runs:,} runs ({summary.runs_simulated:,} simulated, "
        f"{summary.runs_reused:,} reused) "
        f"in {summary.cohorts} cohorts, {summary.seconds:.1f} s, "
        f"{summary.run_days_per_s:,.0f} run-days/s → {summary.out_dir}"
    )
    print(f"compare them: ds1ray compare {summary.out_dir}")
    return 0


def compare_command(args: argparse.Namespace) -> int:
    from ds1ray.sweep.compare import DEFAULT_METRICS, compare, format_comparison
    from ds1ray.sweep.results import load_results

    results = load_results(args.results)
    table = compare(results, by=args.by, baseline=args.baseline, metrics=args.metrics or DEFAULT_METRICS)
    baseline = table.attrs["baseline"]
    manifest = results.manifest
    print(
        f"{manifest.get('experiment')}: {len(results.runs):,} runs, {manifest.get('days')} days, "
        f"{len(manifest.get('seeds', []))} replicate seeds; means with 95 % CI, "
        f"paired differences against {args.by} = {baseline}"
    )
    print()
    print(format_comparison(table, args.by, baseline))
    sys.stdout.flush()
    return 0
