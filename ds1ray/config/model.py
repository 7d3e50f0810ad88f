"""`Config`: the validated configuration of one business, as the simulation and the live
instance use it.

`load_config` (in `ds1ray.config.loader`) builds it; `apply_overrides` derives per-run
copies. It is a frozen dataclass of frozen pydantic models, so it pickles cheaply to Ray
workers and can be shared between runs.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ds1ray.agents.strategies import Strategy
from ds1ray.config.bootstrap import SECRET_REFERENCE, Bootstrap
from ds1ray.config.errors import ConfigError
from ds1ray.config.manifests import AgentSpec, EventBusSpec
from ds1ray.config.merge import Origin, Origins, origin_at
from ds1ray.config.seeds import Seeds
from ds1ray.config.yamlfile import KeyPath


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
        return self._environment(match.group(1), ("secrets", name), f"secret {name} needs it")

    def database_url(self) -> str | None:
        """`database.url`, a `${ENV_VAR}` reference read from the environment now; None means
        the embedded default."""
        url = self.bootstrap.database.url
        match = SECRET_REFERENCE.match(url) if url else None
        if match is None:
            return url
        return self._environment(match.group(1), ("database", "url"), "the database URL needs it")

    def _environment(self, variable: str, key_path: KeyPath, purpose: str) -> str:
        value = os.environ.get(variable)
        if not value:
            origin = self.origin("bootstrap", key_path)
            raise ConfigError(
                f"environment variable {variable} is not set ({purpose})",
                file=origin.file,
                key_path=key_path,
                line=origin.line,
            )
        return value

    def origin(self, document: str, key_path: KeyPath) -> Origin:
        """The file and line of `key_path` in `document` (or of its nearest ancestor)."""
        default_file = self.sources[0] if self.sources else self.root
        return origin_at(self.origins.get(document, {}), key_path, default_file)

    def to_dict(self) -> dict[str, Any]:
        """The merged configuration as plain data (for `manifest.json`). It holds no secret:
        secrets, and a database URL with a password, can only be `${ENV_VAR}` references."""
        return {
            "root": str(self.root),
            "overlay": str(self.overlay),
            "sources": [str(path) for path in self.sources],
            "agents": {agent_id: spec.model_dump(mode="json") for agent_id, spec in self.agents.items()},
            "events": self.events.model_dump(mode="json"),
            "bootstrap": self.bootstrap.model_dump(mode="json"),
            "seeds": self.seeds.model_dump(mode="json"),
        }
