"""Fixtures of the sweep tests: experiment files and one small local Ray per session."""

from __future__ import annotations

import pytest

from tests.conftest import WriteYaml

WriteExperiment = WriteYaml


@pytest.fixture
def write_experiment(write_yaml: WriteYaml) -> WriteExperiment:
    """Write YAML text (dedented) to an experiment file in tmp_path and return its path."""
    return write_yaml

