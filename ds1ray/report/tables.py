"""The numbers behind a report, as DataFrames: outcomes, paired differences, bands, survival.

Every figure and table of `ds1ray report` is drawn from these frames, so what
the HTML shows and what Python gets are the same numbers.

Example::

    from ds1ray.report import tables
    from ds1ray.sweep import load_results
    frames = tables(load_results("results/quickstart"), baseline="baseline")
    frames["paired"][frames["paired"].metric == "net_profit"]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ds1ray.errors import UserError
from ds1ray.report.sensitivity import main_effects, sensitivity
from ds1ray.sweep.compare import compare
from ds1ray.sweep.results import Results

OUTCOME_METRICS: tuple[str, ...] = ("net_profit", "final_cash", "roas", "refund_rate")
"""The outcome distributions every report shows, per group."""

BAND_KPIS: tuple[str, ...] = ("cash", "revenue", "orders")
"""Daily KPIs drawn as bands (median and 10–90 %) over time."""

FLOW_KPIS = frozenset({"revenue", "orders", "ad_spend", "sessions", "checkouts", "refunds", "tickets"})
"""Per-day flows: single days are mostly zero or one order, so bands use a trailing mean."""

SMOOTH_DAYS = 7

SENSITIVITY_TARGET = "net_profit"


@dataclass(frozen=True)
class Grouping:
    """How runs are grouped: the column, the baseline group, and the groups in order."""

    by: str
    baseline: object
    groups: list[object]


def check_results(results: Results) -> None:
    """A report needs runs; say so in one line if there are none."""
    if results.runs.empty:
        raise UserError(f"{results.directory}: the sweep has no runs to report on (runs.parquet is empty)")


def grouping(results: Results, by: str = "strategy", baseline: str | None = None) -> Grouping:
    """The groups of `by` and the baseline (named, else 'baseline', else the first group)."""
    runs = results.runs
    if by not in runs.columns:
        raise UserError(
            f"cannot group by '{by}': runs have no such column (try strategy or a swept parameter: "
            + ", ".join(results.swept_parameters or ["none"])
            + ")"
        )
    groups = list(pd.unique(runs[by]))
    if baseline is None:
        chosen = next((g for g in groups if str(g) == "baseline"), groups[0])
    else:
        chosen = next((g for g in groups if str(g) == baseline), None)
        if chosen is None:
            raise UserError(
                f"unknown baseline '{baseline}' for --by {by}; the groups are: " + ", ".join(str(g) for g in groups)
            )
    return Grouping(by=by, baseline=chosen, groups=groups)


def outcomes(results: Results, grouping: Grouping, metrics: tuple[str, ...] = OUTCOME_METRICS) -> pd.DataFrame:
    """Per group and metric: n, mean and its 95 % CI, and the 10 / 50 / 90 % quantiles."""
    table = compare(results, by=grouping.by, baseline=str(grouping.baseline), metrics=(*metrics, "bankrupt"))
    table = table[["group", "metric", "n", "mean", "ci_low", "ci_high"]].copy()
    runs = results.runs
    quantiles = []
    for group, metric in zip(table["group"], table["metric"], strict=True):
        if metric == "bankrupt":
            quantiles.append((np.nan, np.nan, np.nan))
            continue
        values = runs.loc[runs[grouping.by] == group, metric].to_numpy(dtype=float, na_value=np.nan)
        values = values[~np.isnan(values)]
        quantiles.append(tuple(np.quantile(values, [0.1, 0.5, 0.9])) if len(values) else (np.nan,) * 3)
    table[["p10", "median", "p90"]] = pd.DataFrame(quantiles, index=table.index)
    return table.reset_index(drop=True)


def paired(results: Results, grouping: Grouping, metrics: tuple[str, ...] = OUTCOME_METRICS) -> pd.DataFrame:
    """Per non-baseline group and metric: the paired difference to the baseline and the unpaired one.

    Both intervals are around the same mean difference; the paired one uses the
    spread of the per-seed differences (runs matched on seed and every other
    swept parameter), the unpaired one (Welch) treats the two samples as
    independent. `width_ratio` = unpaired / paired width: how many times more
    runs an unpaired comparison would need, squared.
    """
    table = compare(results, by=grouping.by, baseline=str(grouping.baseline), metrics=(*metrics, "bankrupt"))
    table = table[table["group"] != grouping.baseline]
    half_unpaired = table["unpaired_ci_width"] / 2
    frame = pd.DataFrame(
        {
            "group": table["group"],
            "baseline": grouping.baseline,
            "metric": table["metric"],
            "n_pairs": table["n_pairs"].astype("Int64"),
            "diff_mean": table["diff_mean"],
            "paired_ci_low": table["diff_ci_low"],
            "paired_ci_high": table["diff_ci_high"],
            "unpaired_ci_low": table["diff_mean"] - half_unpaired,
            "unpaired_ci_high": table["diff_mean"] + half_unpaired,
        }
    )
    frame["width_ratio"] = table["unpaired_ci_width"] / table["paired_ci_width"].replace(0.0, np.nan)
    frame["significant"] = (frame["paired_ci_low"] > 0) | (frame["paired_ci_high"] < 0)
    frame.attrs["matched_on"] = table.attrs.get("matched_on", [])
    return frame.reset_index(drop=True)


def bands(results: Results, grouping: Grouping, kpis: tuple[str, ...] = BAND_KPIS) -> pd.DataFrame:
    """Per group, day and KPI: the 10 %, 50 % and 90 % quantiles over the group's runs.

    Flows (revenue, orders, …) are first averaged over each run's trailing
    `SMOOTH_DAYS` days and named `<kpi>_7d`; stocks (cash) are taken as they are.
    """
    daily = results.daily
    missing = [kpi for kpi in kpis if kpi not in daily.columns]
    if missing:
        raise UserError(f"{results.directory}: daily.parquet has no column(s) {', '.join(missing)}")
    group_of = results.runs.set_index("run_id")[grouping.by]
    frame = daily[["run_id", "day", *kpis]].sort_values(["run_id", "day"], kind="stable")
    names = {}
    for kpi in kpis:
        if kpi in FLOW_KPIS:
            names[kpi] = f"{kpi}_{SMOOTH_DAYS}d"
            trailing = frame.groupby("run_id", sort=False)[kpi].rolling(SMOOTH_DAYS, min_periods=1).mean()
            frame[kpi] = trailing.reset_index(level=0, drop=True)
    frame = frame.rename(columns=names).assign(group=frame["run_id"].map(group_of))
    value_columns = [names.get(kpi, kpi) for kpi in kpis]
    long = frame.melt(id_vars=["group", "day"], value_vars=value_columns, var_name="kpi")
    summary = long.groupby(["group", "kpi", "day"], sort=False)["value"].quantile(np.array([0.1, 0.5, 0.9])).unstack()
    summary.columns = ["p10", "median", "p90"]
    summary = summary.reset_index()
    order = {group: i for i, group in enumerate(grouping.groups)}
    summary["_order"] = summary["group"].map(order)
    summary = summary.sort_values(["_order", "kpi", "day"], kind="stable").drop(columns="_order")
    return summary.reset_index(drop=True)


def survival(results: Results, grouping: Grouping) -> pd.DataFrame:
    """Per group and day: the share of runs still solvent (not bankrupt on or before that day)."""
    runs = results.runs
    days = int(results.manifest.get("days") or (results.daily["day"].max() + 1))
    rows = []
    for group in grouping.groups:
        bankrupt = runs.loc[runs[grouping.by] == group, "bankrupt_day"]
        n = len(bankrupt)
        failed_on = bankrupt.dropna().to_numpy(dtype=np.int64)
        counts = np.bincount(np.clip(failed_on, 0, days - 1), minlength=days)
        failed_by = np.cumsum(counts)
        rows.append(
            pd.DataFrame({"group": group, "day": np.arange(days), "runs": n, "solvent_share": 1 - failed_by / n})
        )
    return pd.concat(rows, ignore_index=True)


def tables(results: Results, by: str = "strategy", baseline: str | None = None) -> dict[str, pd.DataFrame]:
    """Every table of a report: outcomes, paired, bands, survival, sensitivity, effects.

    `sensitivity` ranks the swept parameters by how much of net profit's
    variance each explains, per group, and names the method used
    (`ds1ray.report.sensitivity`); `effects` holds the conditional means behind it.
    """
    check_results(results)
    chosen = grouping(results, by, baseline)
    parameters = [p for p in results.swept_parameters if p != by and p in results.runs.columns]
    design = results.manifest.get("spec", {}).get("space", {})
    return {
        "outcomes": outcomes(results, chosen),
        "paired": paired(results, chosen),
        "bands": bands(results, chosen),
        "survival": survival(results, chosen),
        "sensitivity": sensitivity(results.runs, parameters, by, SENSITIVITY_TARGET, design),
        "effects": main_effects(results.runs, parameters, by, SENSITIVITY_TARGET),
    }
