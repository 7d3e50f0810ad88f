"""One trial of a search: a strategy over a cohort of replicate seeds, simulated as one cohort.

Every trial meets the same replicate seeds (and the experiment's space points,
if it has any), so two trials differ by their parameters only — common random
numbers make the comparison between trials as sharp as a paired one. The
trial's runs go to `simulate` in one call: the cohort is vectorised over runs,
so a trial costs one cohort, never one simulation per seed.

Scores, over the replicate seeds (a seed's net profit is averaged over the
space's points first, so the seeds are the independent units):
- `mean`: mean net profit per run;
- `lcb`: the lower end of the two-sided 95 % Student-t interval of that mean —
  a strategy must be good *and* reliably so to score well.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from ds1ray.config import Config
from ds1ray.runspec import RunSpec
from ds1ray.sweep.space import Point


@dataclass(frozen=True)
class TrialSetup:
    """What every trial shares: the scenario's configuration, seeds, points, horizon, base strategy."""

    config: Config
    experiment: str
    seeds: tuple[int, ...]
    points: tuple[Point, ...]
    days: int
    base_overrides: Mapping[str, Any]

    def run_specs(self, params: Mapping[str, Any]) -> list[RunSpec]:
        """The trial's runs: every point × every seed, all with the trial's strategy."""
        overrides = {**self.base_overrides, **params}
        return [
            RunSpec(self.experiment, seed, "trial", {**overrides, **point})
            for point in self.points
            for seed in self.seeds
        ]


def score(net_profit_per_seed: np.ndarray, level: float = 0.95) -> dict[str, float]:
    """Mean, its two-sided `level` interval and standard deviation over seeds."""
    n = len(net_profit_per_seed)
    mean = float(net_profit_per_seed.mean())
    if n < 2:
        return {"mean": mean, "lcb": float("nan"), "ucb": float("nan"), "sd": float("nan"), "seeds": float(n)}
    sd = float(net_profit_per_seed.std(ddof=1))
    half = float(stats.t.ppf(0.5 + level / 2, n - 1)) * sd / np.sqrt(n)
    return {"mean": mean, "lcb": mean - half, "ucb": mean + half, "sd": sd, "seeds": float(n)}


def evaluate(setup: TrialSetup, params: Mapping[str, Any]) -> dict[str, float]:
    """Simulate the trial's cohort once and score it (see the module docstring)."""
    from ds1ray.cohort import simulate

    runs = simulate(setup.config, setup.run_specs(params), setup.days).runs
    per_seed = runs.groupby("seed", sort=True)["net_profit"].mean().to_numpy(dtype=float)
    result = score(per_seed)
    result.update(
        runs=float(len(runs)),
        bankrupt_share=float(runs["bankrupt_day"].notna().mean()),
        final_cash=float(runs["final_cash"].mean()),
        roas=float(runs["roas"].mean()),
    )
    return result

