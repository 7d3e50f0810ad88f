"""`ds1ray tune` end to end on Ray Tune: trials, the best strategy, and its fragment round trip."""

from __future__ import annotations

import contextlib
import io
import textwrap
from pathlib import Path

import pandas as pd
import pytest
import yaml

from ds1ray.cli import main
from ds1ray.cohort import simulate
from ds1ray.runspec import RunSpec
from ds1ray.sweep import load_experiment
from ds1ray.sweep.validate import check_overrides, scenario_config
from ds1ray.tune import read_fragment, run_arguments
from ds1ray.tune.search import OPTUNA, RANDOM


def test_trials_are_written_with_scores_and_ranks(tuned: tuple[Path, str]) -> None:
    out, printed = tuned
    trials = pd.read_parquet(out / "trials.parquet")
    assert len(trials) == 3
    assert {"marketing.kill_roas", "marketing.allocation", "mean", "lcb", "ucb", "runs"} <= set(trials.columns)
    assert trials["marketing.kill_roas"].between(0.5, 3.0).all()
    assert set(trials["marketing.allocation"]) <= {"equal", "bandit"}
    assert (trials["lcb"] <= trials["mean"]).all()
    assert (trials["runs"] == 3).all()  # 3 seeds, one cohort per trial
    assert sorted(trials["rank"]) == [1, 2, 3]
    assert "3 trials" in printed


def test_the_best_strategy_maximises_the_objective(tuned: tuple[Path, str]) -> None:
    out, _ = tuned
    trials = pd.read_parquet(out / "trials.parquet")
    best = trials.loc[trials["lcb"].idxmax()]
    fragment = read_fragment(out / "best.yaml")
    assert fragment["marketing.kill_roas"] == pytest.approx(best["marketing.kill_roas"])
    assert fragment["marketing.allocation"] == best["marketing.allocation"]
    assert fragment["ceo.daily_ad_budget"] == 40.0  # the base strategy's overrides come along


def test_the_search_algorithm_is_named(tuned: tuple[Path, str]) -> None:
    import importlib.util
    import json

    out, printed = tuned
    recorded = json.loads((out / "tune.json").read_text())
    algorithm = recorded["algorithm"]
    assert recorded["tune"]["search_seed"] == 1  # from the file's tune section
    assert algorithm == (OPTUNA if importlib.util.find_spec("optuna") else RANDOM)
    assert algorithm in printed


def test_the_fragment_runs_with_ds1ray_run_set(tuned: tuple[Path, str]) -> None:
    out, _ = tuned
    arguments = run_arguments(read_fragment(out / "best.yaml"))
    header = (out / "best.yaml").read_text().splitlines()[1]
    assert header == "# Run it:   ds1ray run " + " ".join(arguments)
    with contextlib.redirect_stdout(io.StringIO()) as printed:
        assert main(["run", "--days", "3", *arguments]) == 0
    assert "day" in printed.getvalue()


def test_the_fragment_sweeps_as_a_strategy(tuned: tuple[Path, str], tmp_path: Path) -> None:
    out, _ = tuned
    overrides = read_fragment(out / "best.yaml")
    strategies = yaml.safe_load((out / "best.yaml").read_text())["strategies"]
    spec = tmp_path / "uses_tuned.yaml"
    spec.write_text(
        textwrap.dedent("""
            name: uses_tuned
            replicates: {seeds: 2, first_seed: 5}
            days: 5
            """).lstrip()
        + yaml.safe_dump({"strategies": {"baseline": {}, **strategies}}),
        encoding="utf-8",
    )
    experiment = load_experiment(spec)
    assert experiment.strategies["tuned"] == overrides
    config = scenario_config(experiment)
    assert check_overrides(experiment, config, experiment.points()) == 2  # what `ds1ray sweep` checks first
    runs = experiment.run_specs()
    # A run id hashes the run's exact overrides: the sweep's runs carry the fragment's strategy.
    tuned_ids = [run.run_id for run in runs if run.strategy == "tuned"]
    assert tuned_ids == [RunSpec("uses_tuned", seed, "tuned", overrides).run_id for seed in (5, 6)]
    result = simulate(config, runs, experiment.days).runs
    assert list(result["strategy"]) == ["baseline", "baseline", "tuned", "tuned"]


def test_a_missing_experiment_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tune", str(tmp_path / "none.yaml")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"ds1ray tune: error: {tmp_path / 'none.yaml'}: no such experiment file"]


def test_a_bad_param_flag_is_one_line(write_yaml, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_yaml("name: t\nstrategies: {baseline: {}}\nreplicates: {seeds: 2}\ndays: 5\n")
    assert main(["tune", str(path), "--param", "marketing.kill_roas=0:99"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "99.0 is outside" in err[0]
