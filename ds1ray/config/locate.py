"""Where the manifests are: a folder that holds `overlays/` and `seeds/`.

`ds1ray` ships a copy of the repository's `overlays/` and `seeds/` inside the package
(`ds1ray/defaults/`), so the commands work from any folder. A working directory that
has its own `overlays/agent_config.yaml` wins: that is a user's editable copy.
The repository's top-level folders are the source of truth; `python -m
ds1ray.config.sync_defaults` copies them into the package and a test proves the two are
identical.
"""

from __future__ import annotations

from pathlib import Path

from ds1ray.config.errors import ConfigError

PACKAGED_ROOT = Path(__file__).resolve().parent.parent / "defaults"
"""The manifests and seeds shipped inside the package."""

BASE_MANIFESTS: tuple[str, ...] = ("agent_config.yaml", "event_bus.yaml", "bootstrap.base.yaml")
DEFAULT_OVERLAY = "bootstrap.simulation.yaml"


def default_root() -> Path:
    """The working directory if it holds manifests, else the package's own copy."""
    here = Path.cwd()
    if (here / "overlays" / "agent_config.yaml").is_file():
        return here
    return PACKAGED_ROOT


def resolve_overlay(overlay: str | Path | None, root: Path) -> Path:
    """The overlay file: a path as given (relative to the working directory); a bare name is
    also looked up in `root/overlays`, short names too (`live` → `bootstrap.live.yaml`)."""
    if overlay is None:
        return root / "overlays" / DEFAULT_OVERLAY
    given = Path(overlay)
    if given.is_file():
        return given
    if given.parent != Path("."):
        raise ConfigError("overlay file not found", file=str(given))
    for candidate in (
        root / "overlays" / given.name,
        root / "overlays" / f"bootstrap.{given.name}.yaml",
    ):
        if candidate.is_file():
            return candidate
    raise ConfigError(f"overlay not found (looked for {given} and in {root / 'overlays'})", file=str(given))
