"""`load_config`: read the manifests, merge the overlay over the base, validate everything.

Sources, lowest precedence first: the models' own rules, `agent_config.yaml` and
`event_bus.yaml`, `bootstrap.base.yaml`, one overlay (the simulation overlay unless
told otherwise), then the seed files the bootstrap names. Experiments add a last layer
with `apply_overrides`. The first problem stops loading with one `ConfigError`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ds1ray.agents.strategies import STRATEGIES
from ds1ray.config.bootstrap import Bootstrap
from ds1ray.config.drift import check
from ds1ray.config.errors import ConfigError, display_path
from ds1ray.config.locate import BASE_MANIFESTS, default_root, resolve_overlay
from ds1ray.config.manifests import AgentConfigFile, AgentSpec, EventBusSpec
from ds1ray.config.merge import Origins, deep_merge, new_key_findings, origin_at, origins_of
from ds1ray.config.model import Config
from ds1ray.config.overrides import apply_overrides
from ds1ray.config.seeds import SEED_FILES, Seeds
from ds1ray.config.validation import validate
from ds1ray.config.yamlfile import KeyPath, YamlDoc, read_yaml


def load_config(
    overlay: str | Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    *,
    root: Path | None = None,
    strict: bool = True,
) -> Config:
    """Load the base manifests with `overlay` (default `bootstrap.simulation.yaml`) merged over
    `bootstrap.base.yaml`, then `overrides` (dotted paths, see `apply_overrides`) if given.

    `root` is the folder holding `overlays/` and `seeds/` (default: the working directory if it
    has them, else the copy shipped in the package). With `strict` (the default), any drift
    that `check` would report is also a `ConfigError`; `ds1ray check` loads with
    `strict=False` to list all findings instead.
    """
    root = (root or default_root()).resolve()
    if not (root / "overlays").is_dir():
        raise ConfigError("no overlays/ folder here (the root holds overlays/ and seeds/)", file=root)
    overlay_path = resolve_overlay(overlay, root)
    agents_doc, events_doc, base_doc = (read_yaml(root / "overlays" / name) for name in BASE_MANIFESTS)
    overlay_doc = read_yaml(overlay_path)
    for doc in (agents_doc, events_doc, base_doc, overlay_doc):
        _require_mapping(doc)
    for finding in new_key_findings(base_doc, overlay_doc):
        raise ConfigError.from_finding(finding)

    merged, bootstrap_origins = deep_merge(base_doc, overlay_doc, origins_of(base_doc))
    origins: dict[str, Origins] = {
        "agents": origins_of(agents_doc),
        "events": origins_of(events_doc),
        "bootstrap": bootstrap_origins,
    }
    agents = _load_agents(agents_doc, origins["agents"])
    events = validate(EventBusSpec, events_doc.data, origins=origins["events"], default_file=events_doc.path)
    bootstrap = validate(Bootstrap, merged, origins=bootstrap_origins, default_file=overlay_doc.path)
    seeds, seed_docs = _load_seeds(bootstrap, root, bootstrap_origins, overlay_doc.path)
    origins.update({f"seeds.{name}": origins_of(doc) for name, doc in seed_docs.items()})

    config = Config(
        agents=agents,
        events=events,
        bootstrap=bootstrap,
        seeds=seeds,
        sources=[agents_doc.path, events_doc.path, base_doc.path, overlay_doc.path]
        + [doc.path for doc in seed_docs.values()],
        root=root,
        overlay=overlay_doc.path,
        origins=origins,
    )
    if strict:
        findings = [finding for finding in check(config, code=False) if finding.severity == "error"]
        if findings:
            more = f" ({len(findings) - 1} more: run `ds1ray check`)" if len(findings) > 1 else ""
            raise ConfigError.from_finding(findings[0], more)
    return apply_overrides(config, overrides) if overrides else config


def _require_mapping(doc: YamlDoc) -> None:
    if not isinstance(doc.data, dict):
        raise ConfigError(
            f"the file must hold a mapping of keys, not {type(doc.data).__name__}",
            file=doc.path,
            line=doc.line_of(()),
        )


def _load_agents(doc: YamlDoc, origins: Origins) -> dict[str, AgentSpec]:
    """Validate `agent_config.yaml`; each `strategy:` against its agent's model in `STRATEGIES`."""
    raw = validate(AgentConfigFile, doc.data, origins=origins, default_file=doc.path).agents
    unknown = [agent_id for agent_id in raw if agent_id not in STRATEGIES]
    if unknown:
        raise ConfigError(
            f"unknown agent (the agents are: {', '.join(STRATEGIES)})",
            file=doc.path,
            key_path=("agents", unknown[0]),
            line=doc.line_of(("agents", unknown[0])),
        )
    missing = [agent_id for agent_id in STRATEGIES if agent_id not in raw]
    if missing:
        raise ConfigError(
            f"missing agent(s): {', '.join(missing)}",
            file=doc.path,
            key_path=("agents",),
            line=doc.line_of(("agents",)),
        )
    agents = {}
    for agent_id, spec in raw.items():
        prefix: KeyPath = ("agents", agent_id)
        if not isinstance(spec.get("strategy"), dict):
            # Leave the complaint (missing key, wrong type) to the AgentSpec validation below.
            strategy: Any = spec.get("strategy")
        else:
            strategy = validate(
                STRATEGIES[agent_id],
                spec["strategy"],
                origins=origins,
                default_file=doc.path,
                prefix=(*prefix, "strategy"),
            )
        agents[agent_id] = validate(
            AgentSpec,
            {**spec, "strategy": strategy},
            origins=origins,
            default_file=doc.path,
            prefix=prefix,
        )
    return agents


def _load_seeds(
    bootstrap: Bootstrap, root: Path, bootstrap_origins: Origins, overlay_file: Path
) -> tuple[Seeds, dict[str, YamlDoc]]:
    docs: dict[str, YamlDoc] = {}
    loaded: dict[str, Any] = {}
    for name, model in SEED_FILES.items():
        relative = Path(getattr(bootstrap.seeds, name))
        path = relative if relative.is_absolute() else root / relative
        if not path.is_file():
            origin = origin_at(bootstrap_origins, ("seeds", name), overlay_file)
            raise ConfigError(
                f"seed file not found: {display_path(path)}",
                file=origin.file,
                key_path=("seeds", name),
                line=origin.line,
            )
        doc = read_yaml(path)
        _require_mapping(doc)
        validated = validate(model, doc.data, origins=origins_of(doc), default_file=path)
        loaded[name] = getattr(validated, name)
        docs[name] = doc
    return Seeds(**loaded), docs
