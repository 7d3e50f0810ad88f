"""Comparisons: t intervals, paired differences under common random numbers, baseline errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from ds1ray.errors import UserError
from ds1ray.sweep.compare import compare, format_comparison, mean_ci, welch_ci_width


def _runs(seeds: int = 30, effect: float = 5.0) -> pd.DataFrame:
    """Two strategies and a grid parameter; each seed's market moves both strategies alike."""
    rng = np.random.default_rng(0)
    market = rng.normal(0, 100, seeds)  # large, shared by both strategies (common random numbers)
    rows = []
    for cpm in (10.0, 20.0):
        for strategy, shift in (("baseline", 0.0), ("greedy", effect)):
            for seed in range(seeds):
                noise = rng.normal(0, 1)
                rows.append(
                    {
                        "run_id": f"{strategy}-{cpm}-{seed}",
                        "seed": seed,
                        "strategy": strategy,
                        "market.traffic.cpm": cpm,
                        "revenue": 1.0,
                        "net_profit": market[seed] + shift + noise - cpm,
                        "bankrupt_day": pd.NA if seed % 3 else 50,
                    }
                )
    frame = pd.DataFrame(rows)
    frame["bankrupt_day"] = frame["bankrupt_day"].astype("Int64")
    return frame


def test_mean_ci_is_the_student_t_interval() -> None:
    values = np.array([1.0, 2.0, 4.0, 7.0])
    mean, low, high = mean_ci(values)
    half = stats.t.ppf(0.975, 3) * values.std(ddof=1) / 2
    assert (mean, low, high) == pytest.approx((3.5, 3.5 - half, 3.5 + half))


def test_mean_ci_of_a_single_value_has_no_interval() -> None:
    mean, low, high = mean_ci(np.array([3.0]))
    assert mean == 3.0 and np.isnan(low) and np.isnan(high)


def test_welch_width_matches_scipy() -> None:
    a, b = np.array([1.0, 3.0, 4.0, 8.0]), np.array([2.0, 2.5, 9.0])
    ci = stats.ttest_ind(a, b, equal_var=False).confidence_interval(0.95)
    assert welch_ci_width(a, b) == pytest.approx(ci.high - ci.low)


def test_paired_difference_recovers_the_effect_with_a_much_narrower_interval() -> None:
    table = compare(_runs(), metrics=["net_profit"])
    greedy = table[table.group == "greedy"].iloc[0]
    assert greedy.n_pairs == 60
    assert greedy.diff_ci_low < 5.0 < greedy.diff_ci_high
    assert greedy.paired_ci_width * 20 < greedy.unpaired_ci_width
    baseline = table[table.group == "baseline"].iloc[0]
    assert np.isnan(baseline.diff_mean)
    assert table.attrs["matched_on"] == ["seed", "market.traffic.cpm"]


def test_bankrupt_share_is_the_mean_of_runs_with_a_bankrupt_day() -> None:
    table = compare(_runs(), metrics=["bankrupt"])
    assert table["mean"].tolist() == pytest.approx([10 / 30, 10 / 30])


def test_grouping_by_a_swept_parameter_pairs_on_seed_and_strategy() -> None:
    table = compare(_runs(), by="market.traffic.cpm", baseline="10.0", metrics=["net_profit"])
    high = table[table.group == 20.0].iloc[0]
    assert high.diff_mean == pytest.approx(-10.0, abs=1.0)
    assert table.attrs["matched_on"] == ["seed", "strategy"]


def test_the_baseline_defaults_to_the_group_named_baseline() -> None:
    runs = _runs()
    runs = pd.concat([runs[runs.strategy == "greedy"], runs[runs.strategy == "baseline"]])
    assert compare(runs, metrics=["net_profit"]).attrs["baseline"] == "baseline"


def test_an_unknown_baseline_names_the_groups_there_are() -> None:
    with pytest.raises(
        UserError,
        match="unknown baseline 'cheap' for --by strategy; the groups are: baseline, greedy",
    ):
        compare(_runs(), baseline="cheap", metrics=["net_profit"])


def test_an_unknown_metric_or_grouping_column_is_a_user_error() -> None:
    with pytest.raises(UserError, match="unknown metric"):
        compare(_runs(), metrics=["profit"])
    with pytest.raises(UserError, match="cannot group by 'colour'"):
        compare(_runs(), by="colour")


def test_the_text_table_shows_each_metric_with_intervals_and_paired_widths() -> None:
    table = compare(_runs(), metrics=["net_profit", "bankrupt"])
    text = format_comparison(table, "strategy", "baseline")
    assert text.startswith("net_profit\n")
    assert "Δ vs baseline (paired)" in text and "CI width paired/unpaired" in text
    assert "\nbankrupt\n" in text


def test_grouping_by_a_column_that_leaves_pairs_ambiguous_is_a_user_error() -> None:
    with pytest.raises(UserError, match=r"cannot pair group .* not unique"):
        # Without its parameter column, two runs share each (seed, strategy).
        compare(_runs().drop(columns="market.traffic.cpm"), metrics=["net_profit"])
