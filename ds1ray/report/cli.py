"""`ds1ray report`: a self-contained HTML report from a finished sweep's folder.

    ds1ray report results/NAME [--out FILE.html] [--baseline NAME] [--by strategy]
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    report = subparsers.add_parser(
        "report",
        help="write an HTML report (figures, CIs, paired differences, sensitivity) of a finished sweep",
        description="Write a self-contained HTML report of a sweep: outcome distributions, paired and "
        "unpaired differences against a baseline, daily KPI bands, survival, sensitivity, and how to "
        "reproduce it.",
    )
    report.add_argument("results", type=Path, help="results folder of a finished sweep")
    report.add_argument("--out", type=Path, default=None, help="HTML file to write (default RESULTS/report.html)")
    report.add_argument("--by", default="strategy", help="column to group runs by (default strategy)")
    report.add_argument("--baseline", default=None, help="group to compare against (default 'baseline' or the first)")
    report.set_defaults(func=report_command)


def report_command(args: argparse.Namespace) -> int:
    from ds1ray.report.html import write_report

    path = write_report(args.results, args.out, by=args.by, baseline=args.baseline)
    print(f"report → {path} ({path.stat().st_size / 1024:,.0f} KiB)")
    return 0
