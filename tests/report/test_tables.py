"""The report's tables: each number recomputed from the runs by hand, and bad input named."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ds1ray.errors import UserError
from ds1ray.report import tables
from ds1ray.report.tables import grouping, survival
from ds1ray.sweep import Results


def test_tables_offers_every_frame_of_the_report(results: Results) -> None:
    frames = tables(results)
    assert set(frames) == {"outcomes", "paired", "bands", "survival", "sensitivity", "effects"}
    assert all(len(frame) for frame in frames.values())


def test_outcome_means_and_quantiles_match_the_runs(results: Results) -> None:
    outcomes = tables(results)["outcomes"].set_index(["group", "metric"])
    runs = results.runs
    for group, frame in runs.groupby("strategy"):
        for metric in ("net_profit", "final_cash", "roas", "refund_rate"):
            row = outcomes.loc[(group, metric)]
            values = frame[metric].dropna()
            assert row["n"] == len(values)
            assert row["mean"] == pytest.approx(values.mean())
            assert row["ci_low"] <= row["mean"] <= row["ci_high"]
            assert row["median"] == pytest.approx(values.median())
        bankrupt = outcomes.loc[(group, "bankrupt")]
        assert bankrupt["mean"] == pytest.approx(frame["bankrupt_day"].notna().mean())


def test_paired_difference_is_the_mean_of_same_market_differences(results: Results) -> None:
    paired = tables(results, baseline="baseline")["paired"]
    row = paired[(paired["group"] == "equal") & (paired["metric"] == "net_profit")].iloc[0]
    runs = results.runs
    keys = ["seed", "market.traffic.cpm"]
    both = runs[runs["strategy"] == "equal"].merge(runs[runs["strategy"] == "baseline"], on=keys)
    differences = both["net_profit_x"] - both["net_profit_y"]
    assert row["n_pairs"] == len(differences) == 24
    assert row["diff_mean"] == pytest.approx(differences.mean())
    assert row["paired_ci_low"] < row["diff_mean"] < row["paired_ci_high"]
    assert row["unpaired_ci_low"] < row["diff_mean"] < row["unpaired_ci_high"]
    assert row["significant"] == (row["paired_ci_low"] > 0 or row["paired_ci_high"] < 0)
    assert set(paired["group"]) == {"equal", "lean"}


def test_common_random_numbers_make_the_paired_interval_narrower(results: Results) -> None:
    paired = tables(results)["paired"]
    profit = paired[paired["metric"] == "net_profit"]
    assert (profit["width_ratio"] > 1).all()


def test_bands_are_quantiles_of_each_day_over_the_groups_runs(results: Results) -> None:
    bands = tables(results)["bands"]
    daily = results.daily
    lean = set(results.runs.loc[results.runs["strategy"] == "lean", "run_id"])
    day_20 = daily[(daily["day"] == 20) & daily["run_id"].isin(lean)]
    row = bands[(bands["group"] == "lean") & (bands["kpi"] == "cash") & (bands["day"] == 20)].iloc[0]
    assert row["median"] == pytest.approx(day_20["cash"].median())
    assert row["p10"] == pytest.approx(day_20["cash"].quantile(0.1))
    assert row["p10"] <= row["median"] <= row["p90"]
    # Flows are trailing 7-day means of each run before the quantile.
    orders = daily[daily["run_id"].isin(lean)].sort_values(["run_id", "day"])
    week = orders[(orders["day"] >= 14) & (orders["day"] <= 20)].groupby("run_id")["orders"].mean()
    row = bands[(bands["group"] == "lean") & (bands["kpi"] == "orders_7d") & (bands["day"] == 20)].iloc[0]
    assert row["median"] == pytest.approx(week.median())


def synthetic(runs: pd.DataFrame, days: int) -> Results:
    return Results(runs=runs, manifest={"days": days, "swept_parameters": []}, directory=Path("synthetic"))


def test_survival_counts_runs_solvent_before_their_bankrupt_day() -> None:
    runs = pd.DataFrame(
        {
            "strategy": ["a", "a", "a", "a", "b"],
            "bankrupt_day": pd.array([2, None, 5, 2, None], dtype="Int64"),
        }
    )
    results = synthetic(runs, days=8)
    curve = survival(results, grouping(results)).set_index(["group", "day"])["solvent_share"]
    assert list(curve.loc["a"]) == [1.0, 1.0, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25]
    assert list(curve.loc["b"]) == [1.0] * 8


def test_an_unknown_baseline_names_the_groups(results: Results) -> None:
    with pytest.raises(UserError, match=r"unknown baseline 'nope'.*baseline, equal, lean"):
        tables(results, baseline="nope")


def test_grouping_by_an_unknown_column_names_the_choices(results: Results) -> None:
    with pytest.raises(UserError, match=r"cannot group by 'colour'.*market.traffic.cpm"):
        tables(results, by="colour")


def test_a_sweep_without_runs_is_refused() -> None:
    runs = pd.DataFrame({"strategy": pd.Series([], dtype=str), "bankrupt_day": pd.array([], dtype="Int64")})
    with pytest.raises(UserError, match="no runs to report on"):
        tables(synthetic(runs, days=5))


def test_grouping_by_a_swept_parameter_compares_its_values(results: Results) -> None:
    frames = tables(results, by="market.traffic.cpm")
    assert frames["outcomes"]["group"].nunique() == 4
    assert frames["sensitivity"].empty  # the one swept parameter is now the grouping
    assert np.isfinite(frames["paired"]["diff_mean"]).all()
