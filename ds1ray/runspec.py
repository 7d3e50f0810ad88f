"""What identifies one simulated run, and what a cohort returns."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ds1ray import seeding


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


@dataclass
class CohortResult:
    """Outcomes of a cohort: `runs` (one row per run) and `daily` (per run per day).

    Columns are the result-table contract of docs/architecture.md, without the
    swept-parameter columns (the sweep adds those).
    """

    runs: pd.DataFrame
    daily: pd.DataFrame
