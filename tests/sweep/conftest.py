"""Fixtures of the sweep tests: experiment files and one small local Ray per session."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

WriteExperiment = Callable[[str], Path]


@pytest.fixture
def write_experiment(tmp_path: Path) -> WriteExperiment:
    """Write YAML text (dedented) to an experiment file in tmp_path and return its path."""

    def write(text: str, name: str = "experiment.yaml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
        return path

    return write

