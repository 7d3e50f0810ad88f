"""`ds1ray check [--overlay FILE]`: validate every manifest and report drift.

Prints each finding as `file:line: key.path: problem` and exits 1 if there is any;
otherwise prints a one-line summary of what was checked.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ds1ray.config.drift import check, lint_overlay
from ds1ray.config.errors import ConfigError, Finding
from ds1ray.config.loader import load_config
from ds1ray.config.locate import default_root, resolve_overlay
from ds1ray.config.overrides import parameter_paths


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "check",
        help="validate the manifests, overlays and seeds and report drift",
        description="Validate agent_config.yaml, event_bus.yaml, the bootstrap base with one "
        "overlay and the seed files, and report drift between them, the event contracts, the "
        "ports and the agents' code. Exits non-zero on any finding.",
    )
    parser.add_argument(
        "--overlay",
        metavar="FILE",
        default=None,
        help="the bootstrap overlay to check (default: bootstrap.simulation.yaml)",
    )
    parser.add_argument(
        "--root",
        metavar="DIR",
        type=Path,
        default=None,
        help="folder holding overlays/ and seeds/ (default: the working directory "
        "if it has them, else the copies shipped with ds1ray)",
    )
    parser.add_argument(
        "--params",
        action="store_true",
        help="list every parameter path an experiment may set (<agent>.<parameter>, market.<…>) "
        "with its allowed values, instead of checking",
    )
    parser.set_defaults(func=run_check)


def run_check(args: argparse.Namespace) -> int:
    if args.params:
        config = load_config(args.overlay, root=args.root)
        paths = parameter_paths(config)
        width = max(map(len, paths))
        for path, allowed in paths.items():
            print(f"{path:<{width}}  {allowed}".rstrip())
        return 0
    findings, summary = collect_findings(args.overlay, args.root)
    for finding in findings:
        print(finding)
    if findings:
        print(f"ds1ray check: {len(findings)} finding(s)", file=sys.stderr)
        return 1
    print(summary)
    return 0


def collect_findings(overlay: str | None, root: Path | None) -> tuple[list[Finding], str]:
    """All findings for `overlay`, and a summary line for when there are none."""
    root = (root or default_root()).resolve()
    try:
        config = load_config(overlay, root=root, strict=False)
    except ConfigError as error:
        # Loading stops at the first problem; for overlay problems that can be listed without
        # loading (keys the base lacks, literal secrets), list them all.
        try:
            listed = lint_overlay(resolve_overlay(overlay, root), root)
        except ConfigError:
            listed = []
        return (listed or [error.finding]), ""
    findings = check(config, config.overlay)
    modes = config.bootstrap.adapters.modes()
    live = [port for port, mode in modes.items() if mode == "live"]
    summary = (
        f"ds1ray check: OK — {len(config.sources)} files, {len(config.agents)} agents, "
        f"{len(config.events.events)} events, overlay {config.overlay.name} "
        f"(environment {config.bootstrap.environment}; live adapters: {', '.join(live) or 'none'})"
    )
    return findings, summary
