"""Comparing the groups of a sweep: means, 95 % intervals, and paired differences.

For each group (by default each strategy) and each metric: the mean and its
95 % confidence interval (Student's t). Against a baseline group, the paired
difference: runs are matched on the replicate seed and every other swept
parameter, so both sides met the same market (common random numbers), and the
interval of the mean difference is set beside the interval an unpaired (Welch)
comparison of the same runs would give. Their ratio is what pairing buys.

Example::

    from ds1ray.sweep import compare, load_results
    table = compare(load_results("results/quickstart"), baseline="baseline")
    table[table.metric == "net_profit"]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from ds1ray.errors import UserError
from ds1ray.sweep.results import Results

DEFAULT_METRICS: tuple[str, ...] = (
    "net_profit",
    "final_cash",
    "roas",
    "refund_rate",
    "orders",
    "bankrupt",
)
"""`bankrupt` is derived: 1 for a run with a `bankrupt_day`, else 0 (mean: bankrupt share)."""

COLUMNS = [
    "group",
    "metric",
    "n",
    "mean",
    "ci_low",
    "ci_high",
    "n_pairs",
    "diff_mean",
    "diff_ci_low",
    "diff_ci_high",
    "paired_ci_width",
    "unpaired_ci_width",
]


def mean_ci(values: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """Mean and the t interval around it; NaN bounds below two values."""
    values = values[~np.isnan(values)]
    n = len(values)
    if n == 0:
        return float("nan"), float("nan"), float("nan")
    mean = float(values.mean())
    if n < 2:
        return mean, float("nan"), float("nan")
    half = float(stats.t.ppf(0.5 + level / 2, n - 1) * values.std(ddof=1) / np.sqrt(n))
    return mean, mean - half, mean + half


def welch_ci_width(a: np.ndarray, b: np.ndarray, level: float = 0.95) -> float:
    """Width of the Welch interval of mean(a) − mean(b), treating the samples as independent."""
    n_a, n_b = len(a), len(b)
    if n_a < 2 or n_b < 2:
        return float("nan")
    var_a, var_b = a.var(ddof=1) / n_a, b.var(ddof=1) / n_b
    se = np.sqrt(var_a + var_b)
    if se == 0:
        return 0.0
    dof = (var_a + var_b) ** 2 / (var_a**2 / (n_a - 1) + var_b**2 / (n_b - 1))
    return float(2 * stats.t.ppf(0.5 + level / 2, dof) * se)


def compare(
    results: Results | pd.DataFrame,
    by: str = "strategy",
    baseline: str | None = None,
    metrics: Sequence[str] = DEFAULT_METRICS,
    level: float = 0.95,
) -> pd.DataFrame:
    """One row per (group, metric): see the module docstring and `COLUMNS`.

    `results` is a `Results` or a runs DataFrame. `baseline` defaults to the
    group named "baseline" if there is one, else the first group. Paired
    columns are NaN on the baseline's own rows.
    """
    if isinstance(results, Results):
        runs, swept = results.runs, results.swept_parameters
    else:
        runs, swept = results, _parameter_columns(results)
    runs = _with_bankrupt(runs)
    if by not in runs.columns:
        raise UserError(f"cannot group by '{by}': runs have no such column (try strategy or a swept parameter)")
    unknown = [m for m in metrics if m not in runs.columns]
    if unknown:
        raise UserError(f"unknown metric(s) {', '.join(unknown)}; runs have {', '.join(runs.columns)}")
    groups = list(pd.unique(runs[by]))
    if baseline is None:
        baseline_key = next((g for g in groups if str(g) == "baseline"), groups[0] if groups else None)
    else:
        baseline_key = next((g for g in groups if str(g) == baseline), None)
        if baseline_key is None:
            raise UserError(
                f"unknown baseline '{baseline}' for --by {by}; the groups are: " + ", ".join(str(g) for g in groups)
            )
    match_on = [c for c in ("seed", "strategy", *swept) if c != by and c in runs.columns]
    base_runs = runs[runs[by] == baseline_key]
    rows = []
    for group in groups:
        group_runs = runs[runs[by] == group]
        paired = None
        if group != baseline_key:
            paired = _pair(group_runs, base_runs, match_on, group)
        for metric in metrics:
            values = group_runs[metric].to_numpy(dtype=float, na_value=np.nan)
            mean, low, high = mean_ci(values, level)
            row = {
                "group": group,
                "metric": metric,
                "n": int((~np.isnan(values)).sum()),
                "mean": mean,
                "ci_low": low,
                "ci_high": high,
            }
            row.update(_paired(paired, metric, level))
            rows.append(row)
    table = pd.DataFrame(rows, columns=COLUMNS)
    table.attrs.update(by=by, baseline=baseline_key, matched_on=match_on)
    return table


def _pair(runs: pd.DataFrame, base: pd.DataFrame, match_on: list[str], group: object) -> pd.DataFrame:
    try:
        return runs.merge(base, on=match_on, suffixes=("", "__base"), validate="one_to_one")
    except pd.errors.MergeError:
        raise UserError(
            f"cannot pair group {group} with the baseline: runs are not unique on "
            f"({', '.join(match_on)}); group by strategy or by a swept parameter"
        ) from None


def _paired(paired: pd.DataFrame | None, metric: str, level: float) -> dict[str, float]:
    nan = float("nan")
    if paired is None:
        return {
            "n_pairs": nan,
            "diff_mean": nan,
            "diff_ci_low": nan,
            "diff_ci_high": nan,
            "paired_ci_width": nan,
            "unpaired_ci_width": nan,
        }
    ours = paired[metric].to_numpy(dtype=float, na_value=np.nan)
    theirs = paired[f"{metric}__base"].to_numpy(dtype=float, na_value=np.nan)
    both = ~np.isnan(ours) & ~np.isnan(theirs)
    ours, theirs = ours[both], theirs[both]
    diff_mean, diff_low, diff_high = mean_ci(ours - theirs, level)
    return {
        "n_pairs": float(len(ours)),
        "diff_mean": diff_mean,
        "diff_ci_low": diff_low,
        "diff_ci_high": diff_high,
        "paired_ci_width": diff_high - diff_low,
        "unpaired_ci_width": welch_ci_width(ours, theirs, level),
    }


def _parameter_columns(runs: pd.DataFrame) -> list[str]:
    """Swept parameters of a bare runs table: the columns between `strategy` and the outcomes."""
    columns = list(runs.columns)
    if "strategy" not in columns or "revenue" not in columns:
        return []
    return columns[columns.index("strategy") + 1 : columns.index("revenue")]


def _with_bankrupt(runs: pd.DataFrame) -> pd.DataFrame:
    if "bankrupt" in runs.columns or "bankrupt_day" not in runs.columns:
        return runs
    return runs.assign(bankrupt=runs["bankrupt_day"].notna().astype(float))


def format_comparison(table: pd.DataFrame, by: str, baseline: object) -> str:
    """The comparison as text: one block per metric."""
    blocks = []
    for metric, rows in table.groupby("metric", sort=False):
        shown = pd.DataFrame(
            {
                by: rows["group"].astype(str),
                "n": rows["n"],
                "mean": rows["mean"].map(_num),
                "95% CI": [f"[{_num(lo)}, {_num(hi)}]" for lo, hi in zip(rows["ci_low"], rows["ci_high"], strict=True)],
                f"Δ vs {baseline} (paired)": [
                    "" if np.isnan(d) else f"{_num(d)} [{_num(lo)}, {_num(hi)}]"
                    for d, lo, hi in zip(rows["diff_mean"], rows["diff_ci_low"], rows["diff_ci_high"], strict=True)
                ],
                "CI width paired/unpaired": [
                    "" if np.isnan(p) else f"{_num(p)} / {_num(u)}"
                    for p, u in zip(rows["paired_ci_width"], rows["unpaired_ci_width"], strict=True)
                ],
            }
        )
        blocks.append(f"{metric}\n{shown.to_string(index=False)}")
    return "\n\n".join(blocks)


def _num(value: float) -> str:
    if value is None or np.isnan(value):
        return "–"
    return f"{value:,.4g}" if abs(value) < 10 else f"{value:,.2f}"
