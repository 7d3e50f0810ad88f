"""Fixtures of the tune tests: a small experiment with a `tune:` section, one small Ray per session."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

SMALL_TUNE = """
name: tune_fixture
strategies:
  baseline: {ceo.daily_ad_budget: 40.0}
replicates:
  seeds: 3
  first_seed: 5
days: 25
tune:
  trials: 3
  objective: lcb
  search_seed: 1
  params:
    marketing.kill_roas: {low: 0.5, high: 3.0}
    marketing.allocation: {choices: [equal, bandit]}
"""


@pytest.fixture(scope="session")
def tuned(tmp_path_factory: pytest.TempPathFactory, ray_cluster: None) -> tuple[Path, str]:
    """`ds1ray tune` run once: (its output folder, what it printed)."""
    import contextlib
    import io

    from ds1ray.cli import main

    folder = tmp_path_factory.mktemp("tune")
    spec = folder / "tune_fixture.yaml"
    spec.write_text(textwrap.dedent(SMALL_TUNE).lstrip(), encoding="utf-8")
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert main(["tune", str(spec), "--out", str(folder / "out")]) == 0
    return folder / "out", printed.getvalue()
