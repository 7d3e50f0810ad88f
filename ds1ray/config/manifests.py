"""The models of the two wiring manifests: `agent_config.yaml` and `event_bus.yaml`.

They say who talks to whom; the models check shapes only (unknown keys are errors).
Whether the two manifests agree with each other, with the event contracts and with
the ports is `ds1ray.config.drift`'s job, so that `ds1ray check` can list every
disagreement at once.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SerializeAsAny

from ds1ray.adapters.ports import PORT_NAMES
from ds1ray.agents.strategies import Strategy

PORTS: tuple[str, ...] = PORT_NAMES
"""The eight adapter ports; `ds1ray.adapters.ports` defines their interfaces."""

FieldType = Literal["int", "float", "str", "bool"]
Name = Annotated[str, Field(min_length=1, pattern=r"^[a-z][a-z0-9_]*$")]
EventName = Annotated[str, Field(min_length=1, pattern=r"^[A-Z][A-Z0-9_]*$")]


class _Manifest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ToolSpec(_Manifest):
    """A tool an agent may call, and the port that serves it."""

    name: Name
    port: str
    description: str = Field(min_length=1)


class AgentSpec(_Manifest):
    """One agent's wiring and its strategy parameters."""

    role: str = Field(min_length=1)
    subscribes: list[str]
    publishes: list[str]
    ports: list[str]
    tools: list[ToolSpec]
    # Validated against the agent's own model from `STRATEGIES` by the loader, which knows the id.
    strategy: SerializeAsAny[Strategy]


class AgentConfigFile(_Manifest):
    """`agent_config.yaml` before strategies are validated."""

    agents: dict[Name, dict[str, Any]]


class SourceSpec(_Manifest):
    """Something outside the agents that publishes events (the clock, a webhook, an inbox)."""

    port: str | None = Field(description="the adapter port it belongs to, null if none")
    description: str = Field(min_length=1)


class SinkSpec(_Manifest):
    """Something outside the agents that consumes events (the event log)."""

    description: str = Field(min_length=1)


class EventSpec(_Manifest):
    """One event: its payload fields, who publishes it and who receives it, in call order."""

    description: str = Field(min_length=1)
    fields: dict[str, FieldType]
    publishers: list[str]
    subscribers: list[str]
    sinks: list[str] = Field(default_factory=list)


class EventBusSpec(_Manifest):
    """`event_bus.yaml`: the ingress sources, the sinks, the delivery order and the events."""

    sources: dict[Name, SourceSpec]
    sinks: dict[Name, SinkSpec] = Field(default_factory=dict)
    delivery_order: list[EventName]
    events: dict[EventName, EventSpec]
