"""Which swept parameters drive net profit: a variance-based index where the design allows.

A sweep's space is a grid, a Latin hypercube or random samples, not the
Saltelli design that classic Sobol estimators need. The first-order Sobol
index S_i = Var(E[Y | X_i]) / Var(Y) can still be estimated from conditional
means, because LHS and random designs leave every other parameter spread
evenly within any slice of X_i, and a full grid holds every combination:

- **levels** — a parameter with few distinct values (a grid axis, choices):
  E[Y | X_i] is the mean of Y at each value;
- **binned** — a parameter with many distinct values (LHS, random): the runs
  are cut into equal-count bins of X_i (about √(distinct values) of them) and
  E[Y | X_i] is the mean of Y in each bin.

Both are the correlation ratio η², bias-corrected like ε² in ANOVA
((SS_between − (k−1)·MS_within) / SS_total): replicate noise alone would
otherwise make every parameter look a little important. A 95 % interval comes
from a bootstrap over runs.

Where a parameter's slices hold too few runs (under `MIN_RUNS_PER_SLICE`), the
conditional means are noise; where each slice is a single point of the space
while other parameters vary, their effects cannot be told apart. In both
cases the report falls back to the **standardised
regression coefficient** (SRC: OLS of standardised Y on all standardised
numeric parameters); SRC² is the share of variance the parameter explains if
the response is linear. The `method` column says which was used for each row.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ds1ray.sweep.compare import mean_ci

MIN_RUNS_PER_SLICE = 10
"""Fewest runs behind one conditional mean for the variance-based estimate to be used."""

MAX_LEVELS = 6
"""Up to this many distinct values (a grid axis, choices), each value is its own slice; above it
(Latin-hypercube and random draws), values are binned."""

BOOTSTRAP_SAMPLES = 200

LEVELS = "first-order variance (levels)"
BINNED = "first-order variance (binned)"
REGRESSION = "standardised regression (SRC²)"

SENSITIVITY_COLUMNS = [
    "group",
    "parameter",
    "design",
    "method",
    "index",
    "first_order",
    "first_order_ci_low",
    "first_order_ci_high",
    "src",
    "slices",
    "min_runs_per_slice",
    "rank",
]
EFFECT_COLUMNS = ["group", "parameter", "slice", "x", "numeric", "n", "mean", "ci_low", "ci_high"]


def design_of(parameter: str, space: Mapping[str, Any]) -> str:
    """Where the experiment's space varies `parameter`: grid, lhs, random (or unknown)."""
    if parameter in (space.get("grid") or {}):
        return "grid"
    for kind in ("lhs", "random"):
        sampled = space.get(kind) or {}
        if parameter in (sampled.get("params") or {}):
            return kind
    return "unknown"


def is_numeric(values: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)


def is_binned(values: pd.Series) -> bool:
    """Many distinct numbers are cut into bins; few values, or labels, are their own slices."""
    return is_numeric(values) and values.nunique(dropna=True) > MAX_LEVELS


def slices(values: pd.Series) -> tuple[np.ndarray, list[Any], np.ndarray]:
    """Slice index per run, a label per slice and its x position (level or bin median).

    Few distinct values (or non-numeric ones): one slice per value. Many:
    equal-count bins, about √(distinct values) of them, at least 3.
    """
    numeric = is_numeric(values)
    distinct = values.nunique(dropna=True)
    if not is_binned(values):
        codes, levels = pd.factorize(values, sort=True)
        at = np.asarray(levels, dtype=float) if numeric else np.arange(len(levels), dtype=float)
        return codes.astype(np.int64), [str(level) for level in levels], at
    bins = max(3, round(np.sqrt(distinct)))
    codes = pd.qcut(values.rank(method="dense"), bins, labels=False, duplicates="drop").to_numpy(dtype=np.int64)
    count = int(codes.max()) + 1
    x = values.to_numpy(dtype=float)
    labels: list[Any] = []
    positions: list[float] = []
    for code in range(count):
        inside = x[codes == code]
        labels.append(f"{inside.min():.4g}–{inside.max():.4g}")
        positions.append(float(np.median(inside)))
    return codes, labels, np.asarray(positions)


def correlation_ratio(y: np.ndarray, codes: np.ndarray, count: int) -> float:
    """Bias-corrected η²: the share of Var(y) explained by the slice means (≥ 0)."""
    n = len(y)
    total = float(((y - y.mean()) ** 2).sum())
    if n <= count or total == 0:
        return 0.0
    sizes = np.bincount(codes, minlength=count)
    sums = np.bincount(codes, weights=y, minlength=count)
    present = sizes > 0
    means = sums[present] / sizes[present]
    between = float((sizes[present] * (means - y.mean()) ** 2).sum())
    within = total - between
    k = int(present.sum())
    corrected = (between - (k - 1) * within / (n - k)) / total
    return max(0.0, corrected)


@dataclass(frozen=True)
class FirstOrder:
    """A first-order index with its bootstrap interval and how many runs its thinnest slice held."""

    index: float
    low: float
    high: float
    slices: int
    min_runs_per_slice: int
    confounded: bool


def first_order(frame: pd.DataFrame, parameter: str, parameters: Sequence[str], target: str, seed: int) -> FirstOrder:
    """Var(E[target | parameter]) / Var(target) over the runs in `frame`.

    The units are the space's points (runs averaged over their seeds): runs of
    one point share every parameter value, so counting them as independent
    would credit a parameter with the other parameters' variation among the
    few points in its slice. Where each slice is a single point, nothing else
    varies inside it and the runs themselves are the units.

    The interval resamples replicate seeds (every point met the same seeds, so
    a seed is one market drawn for all points); without a complete
    point × seed table it resamples the units instead.
    """
    grouped = frame.groupby(list(parameters), sort=False, dropna=False)[target]
    points = grouped.mean().reset_index().assign(_runs=grouped.size().to_numpy())
    codes, labels, _ = slices(points[parameter])
    count = len(labels)
    runs_per_slice = np.bincount(codes, weights=points["_runs"].to_numpy(dtype=float), minlength=count)
    others_vary = any(points[p].nunique(dropna=False) > 1 for p in parameters if p != parameter)
    by_point = len(points) > count
    run_codes = slices(frame[parameter])[0]

    def estimate(y: np.ndarray, point_means: np.ndarray, point_codes: np.ndarray, y_codes: np.ndarray) -> float:
        total = float(y.var())
        if total == 0:
            return 0.0
        if by_point:
            return correlation_ratio(point_means, point_codes, count) * float(point_means.var()) / total
        return correlation_ratio(y, y_codes, count)

    y = frame[target].to_numpy(dtype=float)
    index = estimate(y, points[target].to_numpy(dtype=float), codes, run_codes)
    table = _point_seed_table(frame, parameters, target, len(points))
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(BOOTSTRAP_SAMPLES):
        if table is not None:
            sample = table[:, rng.integers(0, table.shape[1], table.shape[1])]
            draws.append(estimate(sample.ravel(), sample.mean(axis=1), codes, np.repeat(codes, sample.shape[1])))
        elif by_point:
            pick = rng.integers(0, len(points), len(points))
            means = points[target].to_numpy(dtype=float)[pick]
            draws.append(correlation_ratio(means, codes[pick], count) * float(means.var()) / float(y.var() or 1.0))
        else:
            pick = rng.integers(0, len(y), len(y))
            draws.append(correlation_ratio(y[pick], run_codes[pick], count))
    low, high = np.quantile(draws, [0.025, 0.975])
    return FirstOrder(
        index=index,
        low=float(low),
        high=float(high),
        slices=count,
        min_runs_per_slice=int(runs_per_slice.min()),
        # One point per slice while other parameters vary: their effects cannot be told apart.
        confounded=len(points) <= count and others_vary,
    )


def _point_seed_table(frame: pd.DataFrame, parameters: Sequence[str], target: str, points: int) -> np.ndarray | None:
    """Target by (point, seed), points in `groupby` order; None unless every point has every seed once."""
    if "seed" not in frame.columns:
        return None
    keys = frame.groupby(list(parameters), sort=False, dropna=False).ngroup().to_numpy()
    seeds, seed_codes = np.unique(frame["seed"].to_numpy(), return_inverse=True)
    if len(frame) != points * len(seeds):
        return None
    table = np.full((points, len(seeds)), np.nan)
    table[keys, seed_codes] = frame[target].to_numpy(dtype=float)
    return None if np.isnan(table).any() else table


def standardised_regression(frame: pd.DataFrame, parameters: Sequence[str], target: str) -> dict[str, float]:
    """SRC of each numeric parameter (OLS of standardised target on standardised parameters)."""
    numeric = [
        p
        for p in parameters
        if is_numeric(frame[p]) and frame[p].std(ddof=0) > 0
    ]
    y = frame[target].to_numpy(dtype=float)
    if not numeric or y.std() == 0:
        return {}
    x = frame[numeric].to_numpy(dtype=float)
    x = (x - x.mean(axis=0)) / x.std(axis=0)
    coefficients, *_ = np.linalg.lstsq(x, (y - y.mean()) / y.std(), rcond=None)
    return dict(zip(numeric, (float(c) for c in coefficients), strict=True))


def sensitivity(
    runs: pd.DataFrame,
    parameters: Sequence[str],
    by: str,
    target: str,
    space: Mapping[str, Any],
) -> pd.DataFrame:
    """One row per (group, swept parameter), ranked within each group by `index`.

    `index` is the first-order variance share where every slice holds at least
    `MIN_RUNS_PER_SLICE` runs, else SRC²; `method` says which.
    """
    rows = []
    for group_number, (group, frame) in enumerate(runs.groupby(by, sort=False)):
        frame = frame.dropna(subset=[target])
        src = standardised_regression(frame, parameters, target)
        group_rows: list[dict[str, Any]] = []
        for parameter_number, parameter in enumerate(parameters):
            if frame[parameter].nunique(dropna=False) < 2:
                continue
            estimate = first_order(frame, parameter, parameters, target, seed=1000 * group_number + parameter_number)
            variance_based = estimate.min_runs_per_slice >= MIN_RUNS_PER_SLICE and not estimate.confounded
            method = (BINNED if is_binned(frame[parameter]) else LEVELS) if variance_based else REGRESSION
            coefficient = src.get(parameter, np.nan)
            group_rows.append(
                {
                    "group": group,
                    "parameter": parameter,
                    "design": design_of(parameter, space),
                    "method": method,
                    "index": estimate.index if variance_based else coefficient**2,
                    "first_order": estimate.index,
                    "first_order_ci_low": estimate.low,
                    "first_order_ci_high": estimate.high,
                    "src": coefficient,
                    "slices": estimate.slices,
                    "min_runs_per_slice": estimate.min_runs_per_slice,
                }
            )
        ranked = sorted(group_rows, key=_rank_key)
        for rank, row in enumerate(ranked, start=1):
            rows.append({**row, "rank": rank})
    return pd.DataFrame(rows, columns=SENSITIVITY_COLUMNS)


def _rank_key(row: dict[str, Any]) -> float:
    index = float(row["index"])
    return 1.0 if np.isnan(index) else -index  # largest first; an unknown index last


def main_effects(runs: pd.DataFrame, parameters: Sequence[str], by: str, target: str) -> pd.DataFrame:
    """Mean of `target` (with its 95 % t interval) in each slice of each parameter, per group."""
    rows = []
    for group, frame in runs.groupby(by, sort=False):
        for parameter in parameters:
            codes, labels, positions = slices(frame[parameter])
            numeric = is_numeric(frame[parameter])
            y = frame[target].to_numpy(dtype=float)
            for code, (label, x) in enumerate(zip(labels, positions, strict=True)):
                inside = y[codes == code]
                mean, low, high = mean_ci(inside)
                rows.append(
                    {
                        "group": group,
                        "parameter": parameter,
                        "slice": label,
                        "x": x,
                        "numeric": numeric,
                        "n": len(inside),
                        "mean": mean,
                        "ci_low": low,
                        "ci_high": high,
                    }
                )
    return pd.DataFrame(rows, columns=EFFECT_COLUMNS)
