"""What the live port tests share: an embedded store, and the mock port a live port must look like."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ds1ray.cohort import Cohort
from ds1ray.config import load_config
from ds1ray.runspec import RunSpec
from ds1ray.store import Store, migrate_store, open_store


@pytest.fixture(name="store")
def store_fixture(tmp_path: Path) -> Iterator[Store]:
    """A migrated embedded store (the live business's `live_platform_ids` and event log)."""
    url = f"sqlite:///{tmp_path / 'store.sqlite3'}"
    migrate_store(url)
    with open_store(url) as opened:
        yield opened


def mock_port(name: str, day: int = 5) -> Any:
    """The simulated market's `name` port for a cohort of one, its world opened on `day`."""
    cohort = Cohort(load_config(), [RunSpec("live-shape", 0, "default")], 30)
    for d in range(day + 1):
        cohort.world.begin_day(d)
    return cohort.ports[name]
