"""The report's conclusions in words, each with its uncertainty, drawn from the tables.

Nothing here is written by hand: every sentence is a number of `tables()` put
into words (which group earns most, which differences to the baseline are
clear of zero under pairing, which parameter drives net profit), so a report
regenerated from new results says what the new results say.
"""

from __future__ import annotations

import math

import pandas as pd


def money(value: float) -> str:
    if value is None or math.isnan(value):
        return "–"
    sign = "−" if value < 0 else ""
    return f"{sign}${abs(value):,.0f}"


def share(value: float) -> str:
    return "–" if value is None or math.isnan(value) else f"{100 * value:.1f} %"


def interval(low: float, high: float, fmt: str = "money") -> str:
    render = money if fmt == "money" else share
    return f"[{render(low)}, {render(high)}]"


def findings(frames: dict[str, pd.DataFrame], by: str) -> list[str]:
    """Sentences stating what the sweep shows, with 95 % intervals."""
    outcomes, paired, sensitivity = frames["outcomes"], frames["paired"], frames["sensitivity"]
    sentences = []
    profit = outcomes[outcomes["metric"] == "net_profit"].sort_values("mean", ascending=False)
    best = profit.iloc[0]
    sentences.append(
        f"Highest mean net profit: {by} = {best['group']} with {money(best['mean'])} per run "
        f"(95 % CI {interval(best['ci_low'], best['ci_high'])}, n = {int(best['n'])})."
    )
    for _, row in paired[paired["metric"] == "net_profit"].iterrows():
        verdict = "clearly" if row["significant"] else "not clearly"
        direction = "better" if row["diff_mean"] > 0 else "worse"
        unpaired_zero = row["unpaired_ci_low"] <= 0 <= row["unpaired_ci_high"]
        note = " — an unpaired comparison of the same runs could not tell (its CI spans zero)" if (
            row["significant"] and unpaired_zero) else ""
        sentences.append(
            f"{row['group']} vs {row['baseline']}: Δ net profit {money(row['diff_mean'])} per run, paired 95 % CI "
            f"{interval(row['paired_ci_low'], row['paired_ci_high'])} over {row['n_pairs']} pairs "
            f"(unpaired {interval(row['unpaired_ci_low'], row['unpaired_ci_high'])}, "
            f"{row['width_ratio']:.1f}× wider): {verdict} {direction}{note}."
        )
    bankrupt = outcomes[outcomes["metric"] == "bankrupt"]
    if len(bankrupt) and bankrupt["mean"].max() > 0:
        parts = [f"{row['group']} {share(row['mean'])} {interval(row['ci_low'], row['ci_high'], 'share')}"
                 for _, row in bankrupt.iterrows()]
        sentences.append("Share of runs that went bankrupt: " + "; ".join(parts) + ".")
    refund = paired[(paired["metric"] == "refund_rate") & paired["significant"]]
    for _, row in refund.iterrows():
        sentences.append(
            f"Refund rate of {row['group']} vs {row['baseline']}: {100 * row['diff_mean']:+.2f} points "
            f"(paired 95 % CI {100 * row['paired_ci_low']:+.2f} to {100 * row['paired_ci_high']:+.2f})."
        )
    if len(sensitivity):
        top = sensitivity[sensitivity["rank"] == 1]
        for _, row in top.iterrows():
            sentences.append(
                f"For {by} = {row['group']}, net profit depends most on {row['parameter']} "
                f"(index {row['index']:.2f}, {row['method']}; first-order 95 % CI "
                f"{row['first_order_ci_low']:.2f}–{row['first_order_ci_high']:.2f})."
            )
    return sentences
