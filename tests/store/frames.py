"""Result frames shaped like a sweep's (docs/architecture.md, "Result tables")."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

FLOAT_OUTCOMES = (
    "revenue", "cogs", "ad_spend", "payment_fees", "refunds", "chargebacks", "ai_cost",
    "fixed_costs", "net_profit", "starting_cash", "final_cash",
)


def make_cohort(
    cohort: int, runs: int = 6, days: int = 4, *, day_major: bool = False, seed: int = 0
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One cohort's runs and daily frames with varied dtypes, NaN and missing values."""
    rng = np.random.default_rng(seed + cohort)
    run_ids = [f"c{cohort}-r{index}" for index in range(runs)]
    frame = pd.DataFrame({
        "run_id": pd.Series(run_ids, dtype="str"),
        "seed": rng.integers(0, 2**62, runs),
        "strategy": pd.Series([f"s{index % 3}" for index in range(runs)], dtype="str"),
        "marketing.allocation": rng.choice([0.25, 0.5, 0.75], runs),
        "pricing.markup_tier": rng.integers(1, 4, runs),
        "support.channel": pd.Series(rng.choice(["email", "chat"], runs), dtype="str"),
        "ops.auto_reorder": rng.choice([True, False], runs),
    })
    for name in FLOAT_OUTCOMES:
        frame[name] = np.round(rng.uniform(-5000, 50000, runs), 2)
    frame["orders"] = rng.integers(0, 900, runs)
    frame["tickets"] = rng.integers(0, 90, runs)
    frame["conversion_rate"] = rng.uniform(0, 0.1, runs)
    frame["roas"] = rng.uniform(0, 4, runs)
    frame.loc[0, "roas"] = np.nan  # no ad spend: ROAS undefined
    frame["refund_rate"] = rng.uniform(0, 0.2, runs)
    frame["bankrupt_day"] = pd.array(
        [int(rng.integers(1, days)) if index % 4 == 3 else None for index in range(runs)],
        dtype="Int64",
    )
    cells = runs * days
    daily = pd.DataFrame({
        "run_id": pd.Series(np.repeat(np.array(run_ids, dtype=object), days), dtype="str"),
        "day": np.tile(np.arange(days, dtype=np.int64), runs),
        "cash": np.round(rng.uniform(-1000, 9000, cells), 2),
        "revenue": np.round(rng.uniform(0, 900, cells), 2),
        "ad_spend": np.round(rng.uniform(0, 90, cells), 2),
        "orders": rng.integers(0, 30, cells),
        "sessions": rng.integers(0, 3000, cells),
        "checkouts": rng.integers(0, 60, cells),
        "refunds": rng.integers(0, 3, cells),
        "tickets": rng.integers(0, 5, cells),
        "active_products": rng.integers(1, 9, cells),
        "roas": rng.uniform(0, 5, cells),
    })
    daily.loc[1, "roas"] = np.nan
    daily.loc[2, "roas"] = np.inf  # revenue without ad spend
    daily.loc[3, "cash"] = -np.inf
    if day_major:
        daily = daily.sort_values(["day", "run_id"], kind="stable", key=_run_order(run_ids))
        daily = daily.reset_index(drop=True)
    return frame, daily


def _run_order(run_ids: list[str]) -> Callable[[pd.Series], pd.Series]:
    position = {run_id: index for index, run_id in enumerate(run_ids)}
    return lambda column: column.map(position) if column.name == "run_id" else column
