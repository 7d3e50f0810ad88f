"""What the live-port tests share: a store on a temporary SQLite file, the mock ports of a cohort of one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ds1ray.adapters.mock import mock_ports
from ds1ray.cohort import build_world, resolve_runs
from ds1ray.config import load_config
from ds1ray.runspec import RunSpec
from ds1ray.store import Store, migrate_store, open_store

RUN = np.zeros(1, np.int64)  # the live business is row 0 of a cohort of one


def sqlite_store(tmp_path: Path) -> Store:
    """A migrated store on a fresh SQLite file (the caller closes it)."""
    url = f"sqlite:///{tmp_path / 'store.sqlite3'}"
    migrate_store(url)
    return open_store(url)


def mock_twin(port: str) -> Any:
    """The mock adapter of `port` over a simulated cohort of one: what the live port must match in form."""
    config = load_config()
    runs = [RunSpec("mock", 0)]
    world = build_world(config, resolve_runs(config, runs), runs, 30)
    world.begin_day(0)
    return mock_ports(world)[port]


def same_form(live: Any, mock: Any) -> bool:
    """Arrays (or tuples of arrays) of the same shapes and dtypes."""
    if isinstance(live, tuple):
        return isinstance(mock, tuple) and len(live) == len(mock) and all(
            same_form(a, b) for a, b in zip(live, mock, strict=True))
    return bool(live.shape == mock.shape and live.dtype == mock.dtype)
