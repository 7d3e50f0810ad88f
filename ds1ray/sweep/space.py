"""Parameter spaces: the points a sweep visits.

A space is a grid (Cartesian product of value lists) times, optionally, `n`
sampled points: `random` (independent uniform draws) or `lhs` (a Latin
hypercube, `scipy.stats.qmc.LatinHypercube`). Each sampled parameter is a range
(`low`, `high`, optionally `integer` or `log`) or a list of `choices`. Sampling
is seeded by the experiment's `space_seed`, so the same file always gives the
same points.

Example::

    cpm = Distribution(low=8, high=20)
    points = expand_points({"marketing.allocation": ["equal", "bandit"]}, random=None,
                           lhs=SampledSpace(n=4, params={"market.traffic.cpm": cpm}), space_seed=0)
    # 2 × 4 = 8 points, each a dict: dotted path → value
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field, model_validator
from scipy.stats import qmc

Point = dict[str, Any]


class Distribution(BaseModel):
    """One sampled parameter: a numeric range or a list of choices."""

    model_config = ConfigDict(extra="forbid")

    low: float | None = None
    high: float | None = None
    integer: bool = Field(False, description="draw whole numbers low..high, both included")
    log: bool = Field(False, description="uniform in log(value): for scales such as budgets")
    choices: list[Any] | None = Field(None, min_length=1)

    @model_validator(mode="after")
    def _one_form(self) -> Distribution:
        is_range = self.low is not None or self.high is not None
        if is_range == (self.choices is not None):
            raise ValueError("give either low and high, or choices")
        if is_range:
            if self.low is None or self.high is None:
                raise ValueError("a range needs both low and high")
            if self.low > self.high:
                raise ValueError(f"low ({self.low}) is above high ({self.high})")
            if self.log and self.low <= 0:
                raise ValueError("a log range needs low > 0")
            if self.integer and (self.low != int(self.low) or self.high != int(self.high)):
                raise ValueError("an integer range needs whole-number low and high")
        elif self.integer or self.log:
            raise ValueError("integer and log apply to ranges, not choices")
        return self

    def from_unit(self, u: NDArray[np.float64]) -> list[Any]:
        """Map uniforms in [0, 1) to values; strata of `u` stay strata of the values."""
        if self.choices is not None:
            index = np.minimum((u * len(self.choices)).astype(np.int64), len(self.choices) - 1)
            return [self.choices[i] for i in index]
        assert self.low is not None and self.high is not None
        if self.integer:
            span = int(self.high) - int(self.low) + 1
            whole = int(self.low) + np.minimum((u * span).astype(np.int64), span - 1)
            return [int(v) for v in whole]
        if self.log:
            values = np.exp(math.log(self.low) + u * (math.log(self.high) - math.log(self.low)))
        else:
            values = self.low + u * (self.high - self.low)
        return [float(v) for v in values]


class SampledSpace(BaseModel):
    """`n` points sampled over `params` (dotted path → distribution)."""

    model_config = ConfigDict(extra="forbid")

    n: int = Field(ge=1, le=1_000_000)
    params: dict[str, Distribution] = Field(min_length=1)


def expand_points(
    grid: Mapping[str, list[Any]],
    random: SampledSpace | None,
    lhs: SampledSpace | None,
    space_seed: int,
) -> list[Point]:
    """The points of a space in canonical order: grid-major, then samples.

    Points that coincide (random choices can repeat) are kept once: two equal
    points would be the same runs twice.
    """
    grid_points = [dict(zip(grid, values, strict=True)) for values in itertools.product(*grid.values())]
    sampled = _sample(random, lhs, space_seed)
    points: list[Point] = []
    seen: set[str] = set()
    for grid_point, sample in itertools.product(grid_points, sampled):
        point = {**grid_point, **sample}
        key = repr(sorted(point.items(), key=lambda item: item[0]))
        if key not in seen:
            seen.add(key)
            points.append(point)
    return points


def _sample(random: SampledSpace | None, lhs: SampledSpace | None, space_seed: int) -> list[Point]:
    sampled = random or lhs
    if sampled is None:
        return [{}]
    dims = len(sampled.params)
    # One generator per space seed; numpy's SeedSequence spreads a small seed over the state.
    rng = np.random.default_rng(np.random.SeedSequence(space_seed))
    sampler = qmc.LatinHypercube(d=dims, seed=rng) if lhs is not None else None
    unit = sampler.random(sampled.n) if sampler is not None else rng.random((sampled.n, dims))
    columns = {path: dist.from_unit(unit[:, j]) for j, (path, dist) in enumerate(sampled.params.items())}
    return [{path: values[i] for path, values in columns.items()} for i in range(sampled.n)]
