"""What `manifest.json` records, so anyone can see how a sweep's numbers were made.

The experiment spec and its hash, the merged configuration, the swept
parameters, strategies and seeds, the code (package version, git commit), the
cohorts (key, size, worker time), timings and the Ray cluster it ran on.
"""

from __future__ import annotations

import platform
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import ds1ray
from ds1ray.sweep.experiment import Experiment


def git_commit() -> str | None:
    """The commit of the ds1ray checkout (`-dirty` with local changes); None outside git."""
    package_dir = Path(ds1ray.__file__).resolve().parent
    try:
        commit = subprocess.run(
            ["git", "-C", str(package_dir), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(package_dir), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{commit}-dirty" if dirty else commit


def identity_manifest(
    experiment: Experiment,
    experiment_hash: str,
    config: dict[str, Any],
    total_runs: int,
    points: int,
) -> dict[str, Any]:
    """What the sweep computes, identical on every invocation of the same experiment.

    The store receives this part with each cohort and refuses a different one
    under the same experiment name, so nothing that changes between a first
    and a resuming invocation (clock, code checkout) belongs here.
    """
    return {
        "experiment": experiment.name,
        "experiment_hash": experiment_hash,
        "spec": experiment.model_dump(mode="json"),
        "scenario_overrides": experiment.scenario_overrides(),
        "swept_parameters": experiment.swept_paths(),
        "strategies": experiment.strategies,
        "seeds": experiment.replicates.values(),
        "days": experiment.days,
        "points": points,
        "runs": total_runs,
        "config": config,
    }


def invocation_manifest(experiment: Experiment) -> dict[str, Any]:
    """Where and with what code this invocation runs."""
    import ray

    return {
        "experiment_file": str(experiment.source) if experiment.source else None,
        "code": {
            "ds1ray_version": ds1ray.__version__,
            "git_commit": git_commit(),
            "python": platform.python_version(),
            "ray_version": ray.__version__,
        },
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
