"""Fixtures shared by every test folder."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

WriteYaml = Callable[..., Path]


@pytest.fixture
def write_yaml(tmp_path: Path) -> WriteYaml:
    """Write YAML text (dedented) to a file in tmp_path (`name`, default experiment.yaml); return its path."""

    def write(text: str, name: str = "experiment.yaml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
        return path

    return write


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
