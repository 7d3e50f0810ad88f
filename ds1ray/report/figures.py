"""The report's figures, drawn with matplotlib (Agg) and returned as PNG data URIs.

Each function takes the frames of `ds1ray.report.tables` and returns one
`data:image/png;base64,…` string, so the HTML needs no file beside it and no
network to show its pictures.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")  # no display: reports are written by servers and CI as often as by people

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

METRIC_LABELS = {
    "net_profit": "net profit ($)",
    "final_cash": "final cash ($)",
    "roas": "ROAS (revenue / ad spend)",
    "refund_rate": "refund rate (refunds / orders)",
    "bankrupt": "bankrupt share",
    "cash": "cash ($)",
    "revenue": "revenue per day ($)",
    "orders": "orders per day",
    "revenue_7d": "revenue per day, 7-day mean ($)",
    "orders_7d": "orders per day, 7-day mean",
}


def to_data_uri(figure: Figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=96, bbox_inches="tight")
    plt.close(figure)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _colours(groups: Sequence[object]) -> dict[object, tuple[float, float, float, float]]:
    palette = plt.get_cmap("tab10")
    return {group: palette(i % 10) for i, group in enumerate(groups)}


def outcome_distributions(
    runs: pd.DataFrame, outcomes: pd.DataFrame, by: str, groups: Sequence[object], metrics: Sequence[str]
) -> str:
    """Box plots (10–90 % whiskers) per group and metric, the mean and its 95 % CI over them."""
    figure, axes = plt.subplots(1, len(metrics), figsize=(4.2 * len(metrics), 3.6), squeeze=False)
    colours = _colours(groups)
    for ax, metric in zip(axes[0], metrics, strict=True):
        data = [runs.loc[runs[by] == g, metric].dropna().to_numpy(dtype=float) for g in groups]
        boxes = ax.boxplot(data, whis=(10, 90), showfliers=False, patch_artist=True, widths=0.55)
        for patch, group in zip(boxes["boxes"], groups, strict=True):
            patch.set_facecolor((*colours[group][:3], 0.35))
        rows = outcomes[outcomes["metric"] == metric].set_index("group")
        for position, group in enumerate(groups, start=1):
            mean, low, high = rows.loc[rows.index == group, ["mean", "ci_low", "ci_high"]].to_numpy(float)[0]
            ax.errorbar(position, mean, yerr=[[mean - low], [high - mean]], fmt="D", color="black",
                        markersize=4, capsize=4)
        ax.set_xticks(range(1, len(groups) + 1), [str(g) for g in groups], rotation=20, ha="right")
        ax.set_title(METRIC_LABELS.get(metric, metric), fontsize=10)
        ax.grid(axis="y", alpha=0.3)
    figure.suptitle("Box: quartiles, whiskers 10–90 %; ◆ mean with 95 % CI", fontsize=9, y=1.02)
    return to_data_uri(figure)


def paired_versus_unpaired(paired: pd.DataFrame, metrics: Sequence[str]) -> str:
    """For each metric, each group's difference to the baseline with both 95 % intervals."""
    height = 1.4 + 0.5 * max(1, paired["group"].nunique())
    figure, axes = plt.subplots(1, len(metrics), figsize=(4.2 * len(metrics), height), squeeze=False, sharey=True)
    for ax, metric in zip(axes[0], metrics, strict=True):
        rows = paired[paired["metric"] == metric].reset_index(drop=True)
        y = np.arange(len(rows))
        ax.errorbar(rows["diff_mean"], y + 0.15,
                    xerr=[rows["diff_mean"] - rows["paired_ci_low"], rows["paired_ci_high"] - rows["diff_mean"]],
                    fmt="o", color="tab:blue", capsize=3, label="paired (same seeds)")
        ax.errorbar(rows["diff_mean"], y - 0.15,
                    xerr=[rows["diff_mean"] - rows["unpaired_ci_low"], rows["unpaired_ci_high"] - rows["diff_mean"]],
                    fmt="s", color="tab:orange", capsize=3, label="unpaired (Welch)")
        ax.axvline(0, color="grey", linewidth=0.8)
        ax.set_yticks(y, [str(g) for g in rows["group"]])
        ax.set_ylim(-0.6, len(rows) - 0.4)
        ax.set_title(f"Δ {METRIC_LABELS.get(metric, metric)}", fontsize=10)
        ax.grid(axis="x", alpha=0.3)
    axes[0][0].legend(fontsize=8, loc="best")
    baseline = paired["baseline"].iloc[0] if len(paired) else "baseline"
    figure.suptitle(f"Difference to {baseline}: mean with 95 % CI, paired vs unpaired", fontsize=9, y=1.02)
    return to_data_uri(figure)


def kpi_bands(bands: pd.DataFrame, groups: Sequence[object], kpis: Sequence[str]) -> str:
    """Median line and 10–90 % band of each daily KPI over time, one colour per group."""
    figure, axes = plt.subplots(1, len(kpis), figsize=(4.6 * len(kpis), 3.4), squeeze=False)
    colours = _colours(groups)
    for ax, kpi in zip(axes[0], kpis, strict=True):
        for group in groups:
            rows = bands[(bands["group"] == group) & (bands["kpi"] == kpi)]
            ax.plot(rows["day"], rows["median"], color=colours[group], linewidth=1.2, label=str(group))
            ax.fill_between(rows["day"], rows["p10"], rows["p90"], color=colours[group], alpha=0.15, linewidth=0)
        ax.set_title(METRIC_LABELS.get(kpi, kpi), fontsize=10)
        ax.set_xlabel("day")
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=8)
    figure.suptitle("Median (line) and 10–90 % band over runs; revenue and orders as 7-day trailing means",
                    fontsize=9, y=1.02)
    return to_data_uri(figure)


def survival_curves(survival: pd.DataFrame, groups: Sequence[object]) -> str:
    """Share of runs still solvent by day, per group."""
    figure, ax = plt.subplots(figsize=(6.4, 3.4))
    colours = _colours(groups)
    for group in groups:
        rows = survival[survival["group"] == group]
        ax.step(rows["day"], rows["solvent_share"], where="post", color=colours[group], label=str(group))
    ax.set_ylim(min(0.0, float(survival["solvent_share"].min()) - 0.02), 1.02)
    ax.set_xlabel("day")
    ax.set_ylabel("share of runs solvent")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return to_data_uri(figure)


def sensitivity_bars(sensitivity: pd.DataFrame, groups: Sequence[object]) -> str:
    """Horizontal bars of each parameter's index per group (first-order share, with its bootstrap CI)."""
    parameters = list(pd.unique(sensitivity.sort_values("index", ascending=True)["parameter"]))
    figure, ax = plt.subplots(figsize=(7.0, 0.9 + 0.5 * len(parameters) * max(1, len(groups)) / 2))
    colours = _colours(groups)
    height = 0.8 / max(1, len(groups))
    for i, group in enumerate(groups):
        rows = sensitivity[sensitivity["group"] == group].set_index("parameter").reindex(parameters)
        y = np.arange(len(parameters)) + (i - (len(groups) - 1) / 2) * height
        first_order = rows["first_order"].to_numpy(dtype=float)
        low = rows["first_order_ci_low"].to_numpy(dtype=float)
        high = rows["first_order_ci_high"].to_numpy(dtype=float)
        xerr = np.nan_to_num(np.vstack([first_order - low, high - first_order]), nan=0.0).clip(min=0)
        ax.barh(y, rows["index"].to_numpy(dtype=float), height=height, color=colours[group], label=str(group))
        ax.errorbar(first_order, y, xerr=xerr, fmt="none", ecolor="black", capsize=2, linewidth=0.8)
    ax.set_yticks(np.arange(len(parameters)), parameters)
    ax.set_xlabel("share of net-profit variance (index)")
    ax.grid(axis="x", alpha=0.3)
    ax.legend(fontsize=8)
    return to_data_uri(figure)


def main_effect_lines(effects: pd.DataFrame, groups: Sequence[object]) -> str:
    """Mean net profit (95 % CI) in each slice of each swept parameter, one line per group."""
    parameters = list(pd.unique(effects["parameter"]))
    figure, axes = plt.subplots(1, len(parameters), figsize=(4.4 * len(parameters), 3.4), squeeze=False)
    colours = _colours(groups)
    for ax, parameter in zip(axes[0], parameters, strict=True):
        for group in groups:
            rows = effects[(effects["group"] == group) & (effects["parameter"] == parameter)]
            ax.errorbar(rows["x"], rows["mean"], yerr=[rows["mean"] - rows["ci_low"], rows["ci_high"] - rows["mean"]],
                        color=colours[group], marker="o", markersize=3, capsize=2, label=str(group))
        rows = effects[effects["parameter"] == parameter].drop_duplicates("x")
        if not rows["numeric"].all():
            ax.set_xticks(rows["x"], rows["slice"])
        ax.axhline(0, color="grey", linewidth=0.8)
        ax.set_title(parameter, fontsize=10)
        ax.set_ylabel("mean net profit ($)")
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=8)
    return to_data_uri(figure)
