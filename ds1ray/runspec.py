"""What identifies one simulated run, and what a cohort returns."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from ds1ray import seeding

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class RunSpec:
    """One run: an experiment, its parameter overrides and a replicate seed.

    `overrides` maps dotted paths to values: `<agent>.<param>` for a strategy
    (`marketing.allocation`) or `market.<group>.<param>` for the scenario
    (`market.traffic.cpm`). `strategy` is a label for comparisons.
    """

    experiment: str
    seed: int
    strategy: str = "default"
    overrides: Mapping[str, Any] = field(default_factory=dict)

    @property
    def params(self) -> dict[str, Any]:
        """Everything that makes two runs with the same seed differ."""
        return {"strategy": self.strategy, **self.overrides}

    @property
    def run_id(self) -> str:
        return seeding.run_id(self.experiment, self.params, self.seed)

    @property
    def run_key(self) -> int:
        return seeding.run_key(self.experiment, self.params, self.seed)

    @property
    def market_key(self) -> int:
        return seeding.market_key(self.seed)


@dataclass(eq=False)
class CohortResult:
    """Outcomes of a cohort as plain arrays; `runs` and `daily` give them as DataFrames.

    It holds NumPy arrays, not DataFrames, because a sweep's workers build one
    per cohort and ship it to the driver: arrays pickle as raw buffers, and a
    worker that never touches pandas does not import it (≈ 0.2 s of every
    worker's start). The tables follow the result-table contract of
    docs/architecture.md, without the swept-parameter columns (the sweep adds
    those).
    """

    run_ids: list[str]
    seeds: NDArray[np.int64]
    strategies: list[str]
    outcomes: dict[str, NDArray[Any]]
    """Per-run outcome columns, in the contract's order (money in dollars)."""
    bankrupt_day: NDArray[np.int64]
    """The day a run went bankrupt; −1 if it never did."""
    market_ceiling: NDArray[np.float64]
    days: int
    daily_kpis: dict[str, NDArray[Any]]
    """Per-day KPI columns, run by run (all days of the first run, then the next; money in dollars):
    the daily table's own layout, so building the table copies nothing."""

    @cached_property
    def runs(self) -> pd.DataFrame:
        """One row per run (built on first use)."""
        import pandas as pd

        runs = pd.DataFrame({
            "run_id": self.run_ids,
            "seed": np.asarray(self.seeds, dtype=np.int64),
            "strategy": self.strategies,
        })
        for name, values in self.outcomes.items():
            runs[name] = values
        never = self.bankrupt_day < 0
        runs["bankrupt_day"] = pd.array(np.where(never, 0, self.bankrupt_day), dtype="Int64")
        runs.loc[never, "bankrupt_day"] = pd.NA
        runs["market_ceiling"] = self.market_ceiling
        return runs

    @cached_property
    def daily(self) -> pd.DataFrame:
        """One row per run per day, run by run (built on first use)."""
        import pandas as pd

        return pd.DataFrame(self.daily_columns(np.repeat(np.array(self.run_ids, dtype=object), self.days)))

    def daily_columns(self, run_id: Any) -> dict[str, Any]:
        """The daily table's columns, run by run; `run_id` is the column to put first (any array type)."""
        columns: dict[str, Any] = {
            "run_id": run_id,
            "day": np.tile(np.arange(self.days, dtype=np.int64), len(self.run_ids)),
        }
        columns.update(self.daily_kpis)
        return columns
