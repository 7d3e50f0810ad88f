"""Fixtures shared by every test folder."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[None]:
    """One local Ray with two CPUs for the whole session, shared by the sweep, report and tune tests."""
    import ray

    started_here = not ray.is_initialized()
    if started_here:
        # address="local": never join a cluster another process left running on this shared machine.
        ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    if started_here:
        ray.shutdown()
