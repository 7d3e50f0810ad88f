"""Sensitivity: variance-based indices from conditional means, and the regression fallback."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ds1ray.report.sensitivity import (
    BINNED,
    LEVELS,
    REGRESSION,
    correlation_ratio,
    main_effects,
    sensitivity,
    slices,
)

LHS_SPACE = {"grid": {}, "lhs": {"n": 40, "params": {"a": {}, "b": {}}}, "random": None}


def lhs_runs(rng: np.random.Generator, points: int = 40, seeds: int = 10) -> pd.DataFrame:
    """Runs of a Latin-hypercube-like design where y = 4·a + noise and b does nothing."""
    a = (rng.permutation(points) + rng.random(points)) / points
    b = (rng.permutation(points) + rng.random(points)) / points
    frame = pd.DataFrame({"a": np.repeat(a, seeds), "b": np.repeat(b, seeds)})
    frame["seed"] = np.tile(np.arange(seeds), points)
    frame["strategy"] = "only"
    frame["net_profit"] = 4.0 * frame["a"] + rng.normal(0.0, 1.0, len(frame))
    return frame


def test_the_parameter_that_drives_profit_ranks_first_with_its_true_share() -> None:
    runs = lhs_runs(np.random.default_rng(1))
    table = sensitivity(runs, ["a", "b"], "strategy", "net_profit", LHS_SPACE).set_index("parameter")
    signal = float(np.var(4.0 * runs["a"]))
    true_share = signal / (signal + 1.0)  # Var(4·a) / (Var(4·a) + Var(noise))
    assert table.loc["a", "rank"] == 1
    assert table.loc["a", "method"] == BINNED
    assert abs(table.loc["a", "index"] - true_share) < 0.05
    assert table.loc["b", "index"] < 0.05
    assert table.loc["b", "first_order_ci_low"] == 0.0
    assert table.loc["a", "first_order_ci_low"] > table.loc["b", "first_order_ci_high"]


def test_bias_correction_keeps_pure_noise_near_zero() -> None:
    rng = np.random.default_rng(2)
    y = rng.normal(size=400)
    codes = np.repeat(np.arange(20), 20)
    raw_between = sum(20 * (y[codes == k].mean() - y.mean()) ** 2 for k in range(20)) / ((y - y.mean()) ** 2).sum()
    assert raw_between > 0.02  # the uncorrected ratio credits noise to the parameter …
    assert correlation_ratio(y, codes, 20) < 0.02  # … the corrected one does not


def test_a_grid_axis_uses_its_levels() -> None:
    rng = np.random.default_rng(3)
    runs = pd.DataFrame({"markup": np.repeat([1.5, 2.5, 3.5], 60), "strategy": "s"})
    runs["net_profit"] = runs["markup"].map({1.5: -1.0, 2.5: 1.0, 3.5: 0.0}) + rng.normal(0, 0.1, len(runs))
    space = {"grid": {"markup": [1.5, 2.5, 3.5]}}
    row = sensitivity(runs, ["markup"], "strategy", "net_profit", space).iloc[0]
    assert row["method"] == LEVELS
    assert row["design"] == "grid"
    assert row["index"] > 0.95  # the level means explain almost all variance, though no line does
    assert row["src"] ** 2 < 0.3  # a straight line explains a quarter


def test_too_few_runs_per_slice_falls_back_to_regression() -> None:
    rng = np.random.default_rng(4)
    runs = pd.DataFrame({"x": np.arange(30, dtype=float), "strategy": "s"})
    runs["net_profit"] = 2.0 * runs["x"] + rng.normal(0, 1, len(runs))
    row = sensitivity(runs, ["x"], "strategy", "net_profit", {"random": {"params": {"x": {}}}}).iloc[0]
    assert row["method"] == REGRESSION
    assert row["index"] == row["src"] ** 2
    assert row["src"] > 0.95


def test_indices_are_computed_within_each_group() -> None:
    rng = np.random.default_rng(5)
    runs = pd.concat([lhs_runs(rng).assign(strategy="driven"), lhs_runs(rng).assign(strategy="flat")])
    flat = runs["strategy"] == "flat"
    runs.loc[flat, "net_profit"] = rng.normal(0.0, 1.0, int(flat.sum()))
    table = sensitivity(runs, ["a", "b"], "strategy", "net_profit", LHS_SPACE)
    a = table[table["parameter"] == "a"].set_index("group")["index"]
    assert a["driven"] > 0.4
    assert a["flat"] < 0.05


def test_labels_are_their_own_slices_and_numbers_are_binned_when_many() -> None:
    codes, labels, _ = slices(pd.Series(["equal", "bandit", "equal", "bandit"]))
    assert labels == ["bandit", "equal"]
    assert list(codes) == [1, 0, 1, 0]
    codes, labels, positions = slices(pd.Series(np.linspace(0, 1, 100)))
    assert len(labels) == 10  # √100 equal-count bins
    assert np.bincount(codes).min() == 10
    assert np.all(np.diff(positions) > 0)


def test_main_effects_are_slice_means_of_profit() -> None:
    runs = pd.DataFrame({"p": [1, 1, 2, 2], "strategy": "s", "net_profit": [1.0, 3.0, 10.0, 20.0]})
    effects = main_effects(runs, ["p"], "strategy", "net_profit").set_index("slice")
    assert effects.loc["1", "mean"] == 2.0
    assert effects.loc["2", "mean"] == 15.0
    assert effects.loc["2", "ci_low"] < 15.0 < effects.loc["2", "ci_high"]
