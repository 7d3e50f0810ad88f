"""`ds1ray promote OVERLAY`: rehearse a candidate overlay in simulation, then make it the live one.

The smoke suite, in order, stops at the first failure and names it:

1. the overlay as written: keys the base lacks, literal secrets (`lint_overlay`);
2. it loads: manifests, overlay and seed files valid (`load_config`);
3. no drift between manifests, contracts, ports and agent code (`ds1ray.config.check`);
4. a short simulated cohort with it completes and its books balance
   (`ds1ray.cohort.simulate`, whose result checks the ledger identity).

Only then is the candidate copied over `overlays/bootstrap.live.yaml` (the
overlay `ds1ray live up` uses by default), after the current one is kept as
`overlays/backups/bootstrap.live.<UTC time>.yaml`. A running instance keeps
the configuration it started with until `ds1ray live down` and `up`.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from ds1ray.config import ConfigError, check, lint_overlay, load_config
from ds1ray.config.locate import default_root, resolve_overlay
from ds1ray.errors import UserError
from ds1ray.runspec import RunSpec

LIVE_OVERLAY = "bootstrap.live.yaml"
BACKUP_FOLDER = "backups"
SMOKE_DAYS = 30
SMOKE_SEEDS = (0, 1)


@dataclass
class SmokeReport:
    """What the smoke suite checked, and the first problem (None when it passed)."""

    passed: list[str] = field(default_factory=list)
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


def smoke(candidate: Path, root: Path, *, days: int = SMOKE_DAYS) -> SmokeReport:
    """Run the smoke suite on `candidate`; see the module docstring."""
    from ds1ray.cohort import simulate

    report = SmokeReport()
    errors = [f for f in lint_overlay(candidate, root) if f.severity == "error"]
    if errors:
        report.problem = f"{errors[0]}" + (f" ({len(errors) - 1} more)" if len(errors) > 1 else "")
        return report
    report.passed.append("overlay keys and secret references")
    try:
        config = load_config(candidate, root=root, strict=False)
    except ConfigError as error:
        report.problem = str(error)
        return report
    report.passed.append("manifests, overlay and seeds load")
    drift = [f for f in check(config, candidate) if f.severity == "error"]
    if drift:
        report.problem = f"drift: {drift[0]}" + (f" ({len(drift) - 1} more: run `ds1ray check`)"
                                                 if len(drift) > 1 else "")
        return report
    report.passed.append("no drift (ds1ray check)")
    runs = [RunSpec("promote-smoke", seed=seed) for seed in SMOKE_SEEDS]
    try:
        result = simulate(config, runs, days)
    except Exception as error:  # any failure of the rehearsal refuses the promotion, named
        report.problem = f"the {days}-day simulation failed: {type(error).__name__}: {error}"
        return report
    report.passed.append(f"{len(result.runs)} simulated runs of {days} days, books balanced")
    return report


def install(candidate: Path, root: Path, *, now: datetime | None = None) -> tuple[Path, Path | None]:
    """Copy `candidate` over the live overlay, keeping the old one; (installed, backup)."""
    target = root / "overlays" / LIVE_OVERLAY
    backup = None
    if target.exists():
        if target.resolve() == candidate.resolve():
            return target, None
        stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
        backup = root / "overlays" / BACKUP_FOLDER / f"bootstrap.live.{stamp}.yaml"
        backup.parent.mkdir(exist_ok=True)
        shutil.copy2(target, backup)
    shutil.copyfile(candidate, target)
    return target, backup


def promote(overlay: str, *, root: Path | None = None, days: int = SMOKE_DAYS) -> tuple[SmokeReport, Path, Path | None]:
    """Smoke-test `overlay` and install it; raises `UserError` naming why it was refused."""
    root = (root or default_root()).resolve()
    candidate = resolve_overlay(overlay, root)
    report = smoke(candidate, root, days=days)
    if not report.ok:
        raise UserError(f"{candidate} was not promoted: {report.problem}")
    installed, backup = install(candidate, root)
    return report, installed, backup
