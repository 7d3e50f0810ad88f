"""`load_config`: read the manifests, merge the overlay over the base, validate everything.

Sources, lowest precedence first: the models' own rules, `agent_config.yaml` and
`event_bus.yaml`, `bootstrap.base.yaml`, one overlay (the simulation overlay unless
told otherwise), then the seed files the bootstrap names. Experiments add a last layer
with `apply_overrides`. The first problem stops loading with one `ConfigError`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ds1ray.agents.strategies import STRATEGIES, Strategy
from ds1ray.config.bootstrap import SECRET_REFERENCE, Bootstrap
from ds1ray.config.errors import ConfigError, display_path
from ds1ray.config.locate import BASE_MANIFESTS, default_root, resolve_overlay
from ds1ray.config.manifests import AgentConfigFile, AgentSpec, EventBusSpec
from ds1ray.config.merge import Origins, deep_merge, new_key_findings, origin_at, origins_of
from ds1ray.config.seeds import SEED_FILES, Seeds
from ds1ray.config.validation import validate
from ds1ray.config.yamlfile import KeyPath, YamlDoc, read_yaml

_URL_PASSWORD = re.compile(r"(://[^:/@]+:)[^@]*(@)")


@dataclass(frozen=True)
class Config:
    """The validated configuration of one business: wiring, bootstrap and seed data.

    `origins` maps each document ("agents", "events", "bootstrap", "seeds.<name>") to the
    file and line of every key path in it, so later checks can point into the YAML.
    """

    agents: dict[str, AgentSpec]
    events: EventBusSpec
    bootstrap: Bootstrap
    seeds: Seeds
    sources: list[Path]
    root: Path
    overlay: Path
    origins: Mapping[str, Origins] = field(repr=False, compare=False)

    def strategy(self, agent_id: str) -> Strategy:
        """The strategy parameters of `agent_id` (overrides applied)."""
        try:
            return self.agents[agent_id].strategy
        except KeyError:
            raise ConfigError(
                f"no agent {agent_id!r}; agents: {', '.join(self.agents)}", file="agent_config.yaml"
            ) from None

    def secret(self, name: str) -> str:
        """The value of secret `name`, read from its environment variable now."""
        reference = self.bootstrap.secrets.get(name)
        if reference is None:
            declared = ", ".join(self.bootstrap.secrets) or "none"
            raise ConfigError(
                f"secret {name} is not declared in the overlay's `secrets:` (declared: {declared})",
                file=self.overlay,
            )
        match = SECRET_REFERENCE.match(reference)
        assert match is not None, "Bootstrap validation admits references only"
        variable = match.group(1)
        value = os.environ.get(variable)
        if not value:
            origin = self.origin("bootstrap", ("secrets", name))
            raise ConfigError(
                f"environment variable {variable} is not set (secret {name} needs it)",
                file=origin.file,
                key_path=("secrets", name),
                line=origin.line,
            )
        return value

    def origin(self, document: str, key_path: KeyPath) -> Any:
        """The file and line of `key_path` in `document` (or of its nearest ancestor)."""
        default_file = self.sources[0] if self.sources else self.root
        return origin_at(dict(self.origins.get(document, {})), key_path, default_file)

    def to_dict(self) -> dict[str, Any]:
        """The merged configuration as plain data (for `manifest.json`); secrets stay references
        and a password in the database URL is masked."""
        bootstrap = self.bootstrap.model_dump(mode="json")
        if bootstrap["database"]["url"]:
            bootstrap["database"]["url"] = _URL_PASSWORD.sub(
                r"\1***\2", bootstrap["database"]["url"]
            )
        return {
            "root": str(self.root),
            "overlay": str(self.overlay),
            "sources": [str(path) for path in self.sources],
            "agents": {
                agent_id: spec.model_dump(mode="json") for agent_id, spec in self.agents.items()
            },
            "events": self.events.model_dump(mode="json"),
            "bootstrap": bootstrap,
            "seeds": self.seeds.model_dump(mode="json"),
        }


def load_config(
    overlay: str | Path | None = None, *, root: Path | None = None, strict: bool = True
) -> Config:
    """Load the base manifests with `overlay` (default `bootstrap.simulation.yaml`) merged over
    `bootstrap.base.yaml`.

    `root` is the folder holding `overlays/` and `seeds/` (default: the working directory if it
    has them, else the copy shipped in the package). With `strict` (the default), any drift
    that `check` would report is also a `ConfigError`; `ds1ray check` loads with
    `strict=False` to list all findings instead.
    """
    root = (root or default_root()).resolve()
    overlay_path = resolve_overlay(overlay, root)
    agents_doc, events_doc, base_doc = (
        read_yaml(root / "overlays" / name) for name in BASE_MANIFESTS
    )
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
    events = validate(
        EventBusSpec, events_doc.data, origins=origins["events"], default_file=events_doc.path
    )
    bootstrap = validate(
        Bootstrap, merged, origins=bootstrap_origins, default_file=overlay_doc.path
    )
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
        from ds1ray.config.drift import check  # drift needs Config; imported late to avoid a cycle

        findings = [finding for finding in check(config) if finding.severity == "error"]
        if findings:
            more = f" ({len(findings) - 1} more: run `ds1ray check`)" if len(findings) > 1 else ""
            raise ConfigError.from_finding(findings[0], more)
    return config


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
