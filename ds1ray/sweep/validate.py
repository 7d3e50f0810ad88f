"""Checking an experiment against the configuration before anything runs.

`scenario_config` loads the experiment's overlay and applies its fixed
scenario overrides. `check_overrides` applies every distinct override set (one
per space point and strategy) to that configuration, so an unknown dotted path
or an out-of-bounds value stops the sweep before the first cohort, with the
experiment file and line where the value was set.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ds1ray.config import Config, apply_overrides, load_config
from ds1ray.config.errors import ConfigError
from ds1ray.seeding import canonical_params
from ds1ray.sweep.experiment import Experiment
from ds1ray.sweep.space import Point


def scenario_config(experiment: Experiment) -> Config:
    """The configuration every run of the experiment starts from."""
    overlay = experiment.overlay_path()
    if overlay is not None and not overlay.is_file():
        raise experiment.error(("scenario", "overlay"), f"overlay file {overlay} does not exist")
    config = load_config(overlay)
    overrides = experiment.scenario_overrides()
    if overrides:
        config = _apply(experiment, config, overrides, strategy=None)
    return config


def check_overrides(experiment: Experiment, config: Config, points: Sequence[Point]) -> int:
    """Apply each distinct (strategy, point) override set once; returns how many were checked."""
    seen: set[str] = set()
    for point in points:
        for label, strategy_overrides in experiment.strategies.items():
            overrides = {**strategy_overrides, **point}
            key = canonical_params(overrides)
            if key in seen:
                continue
            seen.add(key)
            _apply(experiment, config, overrides, strategy=label)
    return len(seen)


def _apply(experiment: Experiment, config: Config, overrides: dict[str, Any], strategy: str | None) -> Config:
    try:
        return apply_overrides(config, overrides)
    except ConfigError as error:
        culprit = _culprit(config, overrides)
        where = experiment.override_origin(culprit, strategy) if culprit else ("strategies", strategy or "")
        context = f" (with strategy '{strategy}')" if strategy else ""
        raise experiment.error(where, f"{error.problem}{context}") from None


def _culprit(config: Config, overrides: dict[str, Any]) -> str | None:
    """The first override that fails on its own; None if only their combination fails."""
    for path, value in overrides.items():
        try:
            apply_overrides(config, {path: value})
        except ConfigError:
            return path
    return None
