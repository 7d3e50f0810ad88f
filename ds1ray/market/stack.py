"""Per-run parameters as arrays: the view a cohort's vectorised code reads.

A cohort mixes runs with different strategies and scenarios, so every numeric
parameter is an array over runs. `Stacked([model_run0, model_run1, …])` turns
attribute access into that array (`stacked.traffic.cpm` → shape (runs,)),
recursing into nested models, lists (same length in every run) and dicts (same
keys). Strings become object arrays, compared element-wise.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from pydantic import BaseModel


class Stacked:
    """Attribute access over a list of equally shaped pydantic models, one per run."""

    def __init__(self, models: Sequence[BaseModel]) -> None:
        if not models:
            raise ValueError("Stacked needs at least one model")
        self._models = list(models)

    def __len__(self) -> int:
        return len(self._models)

    def __getattr__(self, name: str) -> Any:
        # Called only for a name not yet in the instance's dict: the stacked value is kept there, so each
        # later read is a plain attribute lookup (agents read strategy fields tens of thousands of times a year).
        if name.startswith("_"):
            raise AttributeError(name)
        value = _stack([getattr(m, name) for m in self._models], name)
        setattr(self, name, value)
        return value

    def __getstate__(self) -> dict[str, Any]:
        return {"models": self._models}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._models = state["models"]


def _stack(values: list[Any], name: str) -> Any:
    first = values[0]
    if isinstance(first, BaseModel):
        return Stacked(values)
    if isinstance(first, bool):
        return np.array(values, dtype=np.bool_)
    if isinstance(first, int):
        return np.array(values, dtype=np.int64)
    if isinstance(first, float):
        return np.array(values, dtype=np.float64)
    if isinstance(first, list):
        if any(len(v) != len(first) for v in values):
            raise ValueError(f"{name}: lists must have the same length in every run of a cohort")
        return [_stack([v[i] for v in values], f"{name}[{i}]") for i in range(len(first))]
    if isinstance(first, dict):
        if any(list(v) != list(first) for v in values):
            raise ValueError(f"{name}: mappings must have the same keys in every run of a cohort")
        return {k: _stack([v[k] for v in values], f"{name}.{k}") for k in first}
    # Strings, None and anything else: element-wise comparable object arrays.
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out
