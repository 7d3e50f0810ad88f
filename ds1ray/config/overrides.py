"""`apply_overrides`: the last configuration layer, set by experiments per run.

The parameter namespace is dotted: `<agent>.<parameter>` for a strategy parameter
(`marketing.allocation`, `store.markup`) and `market.<section>.<…>` for the market
(`market.traffic.cpm`, `market.suppliers.tiers.cheap.shipping_days`,
`market.shocks.catalogue.0.probability_per_day`). Values are validated against the same
models as the YAML, so an experiment cannot run a parameter out of its bounds.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from typing import Any

from annotated_types import Ge, Gt, Le, Lt
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from ds1ray.agents.strategies import STRATEGIES
from ds1ray.config.errors import ConfigError
from ds1ray.config.model import Config
from ds1ray.config.validation import describe, field_at
from ds1ray.market.params import MarketParams

OVERRIDE = "override"
"""What `ConfigError.file` says for a problem in an override (it has no file)."""


def apply_overrides(config: Config, overrides: Mapping[str, Any]) -> Config:
    """A copy of `config` with each dotted path in `overrides` set to its value.

    An unknown path, or a value outside the parameter's type or bounds, is a `ConfigError`
    naming the path and what is allowed.
    """
    if not overrides:
        return config
    strategy_updates, market_updates = _route(config, overrides)
    agents = dict(config.agents)
    for agent_id, updates in strategy_updates.items():
        model = STRATEGIES[agent_id]
        current = agents[agent_id].strategy.model_dump()
        strategy = _validated(model, {**current, **updates}, prefix=(agent_id,))
        agents[agent_id] = agents[agent_id].model_copy(update={"strategy": strategy})

    bootstrap = config.bootstrap
    if market_updates:
        tree = bootstrap.market.model_dump()
        for parts, value in market_updates.items():
            _assign(tree, parts, value)
        market = _validated(MarketParams, tree, prefix=("market",))
        bootstrap = bootstrap.model_copy(update={"market": market})
    return dataclasses.replace(config, agents=agents, bootstrap=bootstrap)


def _route(
    config: Config, overrides: Mapping[str, Any]
) -> tuple[dict[str, dict[str, Any]], dict[tuple[str, ...], Any]]:
    """Split overrides into strategy updates per agent and market updates by key path."""
    strategy_updates: dict[str, dict[str, Any]] = {}
    market_updates: dict[tuple[str, ...], Any] = {}
    for path, value in overrides.items():
        head, _, rest = path.partition(".")
        value = _plain(value)
        if head == "market" and rest:
            market_updates[tuple(rest.split("."))] = value
        elif head in config.agents and rest and "." not in rest:
            model = STRATEGIES[head]
            if rest not in model.model_fields:
                raise ConfigError(
                    f"unknown parameter of {head}; its parameters: {', '.join(model.model_fields)}",
                    file=OVERRIDE,
                    key_path=(head, rest),
                )
            strategy_updates.setdefault(head, {})[rest] = value
        else:
            raise ConfigError(
                "unknown parameter path; paths are <agent>.<parameter> "
                f"(agents: {', '.join(config.agents)}) or market.<section>.<parameter>",
                file=OVERRIDE,
                key_path=tuple(path.split(".")),
            )
    return strategy_updates, market_updates


def parameter_paths(config: Config) -> dict[str, str]:
    """Every path `apply_overrides` accepts, with what it allows: each strategy parameter, then
    each leaf of the market tree (list items by index, as `config` has them)."""
    paths = {}
    for agent_id in config.agents:
        for name, info in STRATEGIES[agent_id].model_fields.items():
            paths[f"{agent_id}.{name}"] = allowed(info)
    for loc in _leaves(config.bootstrap.market.model_dump()):
        leaf = field_at(MarketParams, loc)
        paths[".".join(("market", *map(str, loc)))] = allowed(leaf) if leaf is not None else ""
    return paths


def _leaves(tree: Any, loc: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(tree, dict):
        return [leaf for key, value in tree.items() for leaf in _leaves(value, (*loc, key))]
    if isinstance(tree, list) and tree and isinstance(tree[0], dict):
        return [leaf for index, value in enumerate(tree) for leaf in _leaves(value, (*loc, index))]
    return [loc]


def allowed(info: FieldInfo) -> str:
    """What a field accepts, e.g. `1.0 ≤ value ≤ 6.0` or `one of 'equal', 'bandit'`."""
    choices = _literal_choices(info.annotation)
    if choices:
        return "one of " + ", ".join(repr(choice) for choice in choices)
    bounds = []
    for constraint in info.metadata:
        if isinstance(constraint, Ge):
            bounds.append(f"≥ {constraint.ge}")
        elif isinstance(constraint, Gt):
            bounds.append(f"> {constraint.gt}")
        elif isinstance(constraint, Le):
            bounds.append(f"≤ {constraint.le}")
        elif isinstance(constraint, Lt):
            bounds.append(f"< {constraint.lt}")
    type_name = getattr(info.annotation, "__name__", str(info.annotation))
    return f"{type_name} " + " and ".join(bounds) if bounds else type_name


def _validated(model: type[BaseModel], data: dict[str, Any], *, prefix: tuple[str, ...]) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        first = error.errors(include_url=False, include_input=False)[0]
        loc = tuple(str(part) for part in first["loc"])
        info = field_at(model, loc)
        hint = f" (allowed: {allowed(info)})" if info is not None else ""
        raise ConfigError(describe(first, model) + hint, file=OVERRIDE, key_path=(*prefix, *loc)) from None


def _assign(tree: Any, parts: tuple[str, ...], value: Any) -> None:
    """Set `tree[parts…] = value`; every part must already exist (no new keys by override)."""
    node = tree
    for depth, part in enumerate(parts):
        key = _key(node, part, parts[: depth + 1])
        if depth == len(parts) - 1:
            node[key] = value
        else:
            node = node[key]


def _key(node: Any, part: str, parts: tuple[str, ...]) -> Any:
    """`part` as a key (dict) or index (list) of `node`, or a ConfigError if it is not one."""
    if isinstance(node, dict) and part in node:
        return part
    if isinstance(node, list) and part.isdigit() and int(part) < len(node):
        return int(part)
    if isinstance(node, dict):
        offered = ", ".join(str(key) for key in node)
    elif isinstance(node, list):
        offered = f"an index 0..{len(node) - 1}"
    else:
        offered = "nothing (it is a value)"
    raise ConfigError(f"unknown parameter path; there: {offered}", file=OVERRIDE, key_path=("market", *parts))


def _literal_choices(annotation: Any) -> tuple[Any, ...]:
    if typing.get_origin(annotation) is typing.Literal:
        return typing.get_args(annotation)
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        return tuple(c for arg in typing.get_args(annotation) for c in _literal_choices(arg))
    return ()


def _plain(value: Any) -> Any:
    # Sweeps hand over NumPy scalars (from parameter grids or parquet); pydantic wants Python ones.
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        return value.item()
    return value
