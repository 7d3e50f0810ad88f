"""ds1ray: a Ray lab for DS1, an autonomous dropshipping business run by AI agents.

    >>> import ds1ray
    >>> results = ds1ray.load_results("results/quickstart")       # after `ds1ray sweep`
    >>> ds1ray.compare(results, by="strategy", baseline="baseline")

The public names are imported on first use, so `import ds1ray` stays light.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "load_results": "ds1ray.sweep",
    "compare": "ds1ray.sweep",
    "run_sweep": "ds1ray.sweep.runner",
    "simulate": "ds1ray.cohort",
    "Cohort": "ds1ray.cohort",
    "RunSpec": "ds1ray.runspec",
    "load_config": "ds1ray.config",
    "apply_overrides": "ds1ray.config",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'ds1ray' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
