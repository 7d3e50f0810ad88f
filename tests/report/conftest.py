"""Fixtures of the report tests: one small real sweep per session, on one small local Ray."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from ds1ray.sweep import Results, load_results, run_sweep

SMALL_SWEEP = """
name: report_fixture
scenario:
  script:
    - {day: 20, kind: market_crash}
strategies:
  baseline: {}
  equal: {marketing.allocation: equal}
  lean: {ceo.daily_ad_budget: 20.0}
space:
  lhs:
    n: 4
    params:
      market.traffic.cpm: {low: 8.0, high: 24.0}
space_seed: 3
replicates:
  seeds: 6
  first_seed: 10
days: 40
"""



@pytest.fixture(scope="session")
def sweep_dir(tmp_path_factory: pytest.TempPathFactory, ray_cluster: None) -> Path:
    """A finished sweep: 3 strategies × 4 LHS points × 6 seeds × 40 days (72 runs)."""
    folder = tmp_path_factory.mktemp("report_sweep")
    spec = folder / "report_fixture.yaml"
    spec.write_text(textwrap.dedent(SMALL_SWEEP).lstrip(), encoding="utf-8")
    return run_sweep(spec, out_dir=folder / "results", progress=False).out_dir


@pytest.fixture(scope="session")
def results(sweep_dir: Path) -> Results:
    return load_results(sweep_dir)
