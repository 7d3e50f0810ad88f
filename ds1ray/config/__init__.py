"""The configuration of ds1ray: manifests, bootstrap overlays and seed data, validated.

    >>> from ds1ray.config import load_config, apply_overrides
    >>> config = load_config()                       # base + bootstrap.simulation.yaml
    >>> config.strategy("marketing").allocation
    'roas_greedy'
    >>> apply_overrides(config, {"marketing.allocation": "bandit"}).strategy("marketing").allocation
    'bandit'

`docs/configuration.md` describes the files, the merge order and the error format.
"""

from __future__ import annotations

from ds1ray.config.drift import check, lint_overlay
from ds1ray.config.errors import ConfigError, Finding
from ds1ray.config.loader import load_config
from ds1ray.config.manifests import PORTS, AgentSpec, EventBusSpec, EventSpec, ToolSpec
from ds1ray.config.model import Config
from ds1ray.config.overrides import apply_overrides, parameter_paths

__all__ = [
    "PORTS",
    "AgentSpec",
    "Config",
    "ConfigError",
    "EventBusSpec",
    "EventSpec",
    "Finding",
    "ToolSpec",
    "apply_overrides",
    "check",
    "lint_overlay",
    "load_config",
    "parameter_paths",
]
