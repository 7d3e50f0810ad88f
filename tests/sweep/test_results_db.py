"""load_results reads a sweep recorded with --db back from the database, equal to its folder."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from ds1ray.errors import UserError
from ds1ray.store import open_store
from ds1ray.sweep import load_results
from ds1ray.sweep.store_hook import record_cohort


def _folder_sweep(tmp_path: Path) -> Path:
    """A finished sweep folder, made by the real sweep path on a tiny experiment."""
    from ds1ray.sweep.runner import run_sweep

    experiment = tmp_path / "tiny.yaml"
    experiment.write_text(
        "name: tiny\n"
        "strategies:\n  baseline: {}\n  equal: {marketing.allocation: equal}\n"
        "replicates: {seeds: 2, first_seed: 1}\n"
        "days: 20\n"
    )
    return run_sweep(experiment, out_dir=tmp_path / "out", progress=False, workers=1).out_dir


@pytest.mark.ray
def test_a_sweep_read_from_the_database_equals_the_one_read_from_its_folder(tmp_path: Path, ray_cluster: None) -> None:
    folder = load_results(_folder_sweep(tmp_path))
    url = f"sqlite:///{tmp_path / 'store.sqlite3'}"
    open_store(url, migrate=True).close()
    record_cohort(url, "tiny", {"swept_parameters": []}, folder.runs, folder.daily, "all")

    from_db = load_results(url, experiment="tiny")

    pd.testing.assert_frame_equal(from_db.runs, folder.runs, check_exact=True)
    pd.testing.assert_frame_equal(from_db.daily, folder.daily, check_exact=True)
    assert from_db.directory is None
    assert from_db.manifest == {"swept_parameters": []}


def test_reading_from_a_database_needs_the_experiment_name() -> None:
    with pytest.raises(UserError, match="experiment=NAME"):
        load_results("sqlite:////nowhere/store.sqlite3")


def test_an_experiment_the_database_does_not_hold_is_one_clear_error(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.sqlite3'}"
    open_store(url, migrate=True).close()
    with pytest.raises(UserError, match="not recorded"):
        load_results(url, experiment="never-run")
