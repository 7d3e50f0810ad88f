"""Copy the repository's `overlays/` and `seeds/` into the package (`ds1ray/defaults/`).

The top-level folders are the source of truth that users edit; the package carries a copy
so that `ds1ray` works from any folder. Run `python -m ds1ray.config.sync_defaults` after
changing a manifest; `tests/config/test_sync_defaults.py` fails while the copies differ.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from ds1ray.config.locate import PACKAGED_ROOT

REPOSITORY_ROOT = Path(__file__).resolve().parent.parent.parent
"""The checkout this package was installed from (editable installs)."""


def sync_defaults(source: Path = REPOSITORY_ROOT, target: Path = PACKAGED_ROOT) -> list[Path]:
    """Copy `source/overlays/*.yaml` and `source/seeds/*.yaml` into `target`; return the copies.

    Files in `target` that no longer exist in `source` are removed, so the package never
    ships a manifest the repository dropped.
    """
    written = []
    for folder in ("overlays", "seeds"):
        (target / folder).mkdir(parents=True, exist_ok=True)
        wanted = {path.name for path in (source / folder).glob("*.yaml")}
        for stale in (target / folder).glob("*.yaml"):
            if stale.name not in wanted:
                stale.unlink()
        for name in sorted(wanted):
            written.append(Path(shutil.copyfile(source / folder / name, target / folder / name)))
    return written


if __name__ == "__main__":
    for copied in sync_defaults():
        print(copied)
