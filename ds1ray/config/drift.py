"""`check`: find where the manifests disagree with each other, with the event contracts,
with the adapter ports and with the agents' code.

The models only check each file's shape; drift is about references between them. Every
finding names a file and line and the key path concerned, and `ds1ray check` prints all
of them at once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path

from ds1ray.config.agent_code import AGENT_CODE as DEFAULT_AGENT_CODE
from ds1ray.config.agent_code import read_agent_code
from ds1ray.config.bootstrap import LITERAL_SECRET, SECRET_REFERENCE
from ds1ray.config.errors import Finding, display_path, dotted
from ds1ray.config.locate import resolve_overlay
from ds1ray.config.manifests import PORTS, EventSpec
from ds1ray.config.merge import new_key_findings
from ds1ray.config.model import Config
from ds1ray.config.yamlfile import KeyPath, YamlDoc, read_yaml
from ds1ray.events.contracts import CONTRACTS, field_types

_Report = Callable[[str, KeyPath, str], Finding]

AGENT_CODE = DEFAULT_AGENT_CODE
"""Where the agents' modules are read from (tests point it elsewhere)."""


def check(config: Config, overlay_path: str | Path | None = None, *, code: bool = True) -> list[Finding]:
    """Every disagreement between the manifests, contracts, ports and agent code of `config`.

    With `overlay_path`, that overlay file is also checked as written (keys its base lacks,
    literal secrets), which finds all such problems rather than the first. `code=False` leaves
    out the comparison with the agents' source (`load_config` does, so a drifting module is
    reported by `ds1ray check` and the tests rather than stopping every run).
    """
    findings = [
        *_event_bus_findings(config),
        *_wiring_findings(config),
        *_port_findings(config),
        *_secret_use_findings(config),
    ]
    if code:
        findings += _code_findings(config)
    if overlay_path is not None:
        findings += lint_overlay(resolve_overlay(overlay_path, config.root), config.root)
    return _in_file_order(set(findings))


def lint_overlay(overlay_path: Path, root: Path) -> list[Finding]:
    """Problems of an overlay file as written: keys its base lacks and literal secrets."""
    base = read_yaml(root / "overlays" / "bootstrap.base.yaml")
    overlay = read_yaml(overlay_path)
    findings = new_key_findings(base, overlay) if isinstance(overlay.data, dict) else []
    for doc in (base, overlay):
        findings += _literal_secrets(doc)
    return _in_file_order(findings)


def _literal_secrets(doc: YamlDoc) -> Iterator[Finding]:
    secrets = doc.data.get("secrets") if isinstance(doc.data, dict) else None
    if not isinstance(secrets, dict):
        return
    for name, value in secrets.items():
        if not (isinstance(value, str) and SECRET_REFERENCE.match(value)):
            yield Finding(
                "error",
                display_path(doc.path),
                doc.line_of(("secrets", name)),
                f"secrets.{name}: {LITERAL_SECRET}",
            )


class _Reporter:
    """Builds findings that point at a key path of one of the config's documents."""

    def __init__(self, config: Config) -> None:
        self.config = config

    def at(self, document: str, key_path: KeyPath, message: str) -> Finding:
        origin = self.config.origin(document, key_path)
        return Finding("error", display_path(origin.file), origin.line, f"{dotted(key_path)}: {message}")


def _event_bus_findings(config: Config) -> Iterator[Finding]:
    """event_bus.yaml against the contracts, the agents, its own sources, sinks and order."""
    report = _Reporter(config).at
    for event_type in CONTRACTS:
        if event_type not in config.events.events:
            yield report("events", ("events",), f"{event_type} has a contract but is not listed here")
    for event_type, spec in config.events.events.items():
        yield from _event_findings(config, event_type, spec, report)
    yield from _source_findings(config, report)
    yield from _order_findings(config, report)


def _event_findings(config: Config, event_type: str, spec: EventSpec, report: _Report) -> Iterator[Finding]:
    bus = config.events
    where = ("events", event_type)
    if event_type not in CONTRACTS:
        yield report("events", where, "no pydantic contract in ds1ray/events/contracts.py")
    elif spec.fields != field_types(event_type):
        yield report("events", (*where, "fields"), _fields_difference(spec.fields, field_types(event_type)))
    for index, publisher in enumerate(spec.publishers):
        if publisher not in config.agents and publisher not in bus.sources:
            yield report(
                "events",
                (*where, "publishers", index),
                f"unknown publisher {publisher!r} (not an agent or a declared source)",
            )
    for index, subscriber in enumerate(spec.subscribers):
        if subscriber not in config.agents:
            yield report("events", (*where, "subscribers", index), f"unknown agent {subscriber!r}")
    for index, sink in enumerate(spec.sinks):
        if sink not in bus.sinks:
            yield report("events", (*where, "sinks", index), f"unknown sink {sink!r}")
    for key in ("publishers", "subscribers"):
        for name in _repeated(getattr(spec, key)):
            yield report("events", (*where, key), f"{name!r} is listed twice")
    if not spec.publishers:
        yield report("events", where, "nobody publishes this event")
    elif not spec.subscribers and not spec.sinks:
        yield report("events", where, "published but nobody subscribes (no agent and no sink)")


def _source_findings(config: Config, report: _Report) -> Iterator[Finding]:
    for name, source in config.events.sources.items():
        if source.port is not None and source.port not in PORTS:
            yield report("events", ("sources", name, "port"), _unknown_port(source.port))
        if name in config.agents:
            yield report("events", ("sources", name), "a source may not share its name with an agent")


def _order_findings(config: Config, report: _Report) -> Iterator[Finding]:
    order = config.events.delivery_order
    for index, event_type in enumerate(order):
        if event_type not in config.events.events:
            yield report("events", ("delivery_order", index), f"unknown event {event_type}")
    for event_type in _repeated(order):
        yield report("events", ("delivery_order",), f"{event_type} is listed twice")
    for event_type in config.events.events:
        if event_type not in order:
            yield report("events", ("delivery_order",), f"{event_type} is missing: it would never be delivered")


def _wiring_findings(config: Config) -> Iterator[Finding]:
    """agent_config.yaml's subscribes/publishes against event_bus.yaml's lists."""
    report = _Reporter(config).at
    bus = config.events.events
    for agent_id, agent in config.agents.items():
        for key in ("subscribes", "publishes"):
            names: list[str] = getattr(agent, key)
            for index, event_type in enumerate(names):
                if event_type not in bus:
                    contract = "" if event_type in CONTRACTS else " and has no contract"
                    yield report(
                        "agents",
                        ("agents", agent_id, key, index),
                        f"unknown event {event_type} (not in event_bus.yaml{contract})",
                    )
            yield from (
                report("agents", ("agents", agent_id, key), f"{name} is listed twice") for name in _repeated(names)
            )
    for event_type, spec in bus.items():
        for agent_key, bus_key, verb in (
            ("subscribes", "subscribers", "subscribe to"),
            ("publishes", "publishers", "publish"),
        ):
            in_agents = {a for a, agent in config.agents.items() if event_type in getattr(agent, agent_key)}
            in_bus = {name for name in getattr(spec, bus_key) if name in config.agents}
            for agent_id in sorted(in_bus - in_agents):
                yield report(
                    "events",
                    ("events", event_type, bus_key),
                    f"lists {agent_id}, but agent_config.yaml's {agent_id} does not {verb} {event_type}",
                )
            for agent_id in sorted(in_agents - in_bus):
                yield report(
                    "agents",
                    ("agents", agent_id, agent_key),
                    f"{event_type}, but event_bus.yaml's events.{event_type}.{bus_key} does not list {agent_id}",
                )


def _port_findings(config: Config) -> Iterator[Finding]:
    report = _Reporter(config).at
    for agent_id, agent in config.agents.items():
        for index, port in enumerate(agent.ports):
            if port not in PORTS:
                yield report("agents", ("agents", agent_id, "ports", index), _unknown_port(port))
        for index, tool in enumerate(agent.tools):
            where = ("agents", agent_id, "tools", index, "port")
            if tool.port not in PORTS:
                yield report("agents", where, f"tool {tool.name}: {_unknown_port(tool.port)}")
            elif tool.port not in agent.ports:
                yield report(
                    "agents",
                    where,
                    f"tool {tool.name} uses port {tool.port}, which {agent_id} does not declare in its ports",
                )


def _code_findings(config: Config) -> Iterator[Finding]:
    """Each agent's code (`ds1ray/agents/<id>.py`) against its entry in agent_config.yaml."""
    report = _Reporter(config).at
    for agent_id, agent in config.agents.items():
        code = read_agent_code(agent_id, AGENT_CODE)
        if code is None:
            continue
        file = display_path(code.path)
        for port, line in code.ports.items():
            if port not in agent.ports:
                yield Finding(
                    "error",
                    file,
                    line,
                    f"agent {agent_id} uses port {port}, which agent_config.yaml does not declare "
                    f"(agents.{agent_id}.ports)",
                )
        for event_type, line in code.emits.items():
            if event_type not in agent.publishes:
                yield Finding(
                    "error",
                    file,
                    line,
                    f"agent {agent_id} publishes {event_type}, which agent_config.yaml does not list "
                    f"(agents.{agent_id}.publishes)",
                )
        for event_type, line in code.handlers.items():
            if event_type not in agent.subscribes:
                yield Finding(
                    "error",
                    file,
                    line,
                    f"agent {agent_id} handles {event_type}, but agent_config.yaml does not subscribe it "
                    f"(agents.{agent_id}.subscribes)",
                )
        for index, event_type in enumerate(agent.subscribes):
            if event_type not in code.handlers:
                yield report(
                    "agents",
                    ("agents", agent_id, "subscribes", index),
                    f"{event_type}, but {file} has no on_{event_type.lower()} handler",
                )
        for index, event_type in enumerate(agent.publishes):
            if event_type not in code.emits and not code.dynamic_emits:
                yield report(
                    "agents",
                    ("agents", agent_id, "publishes", index),
                    f"{event_type}, but {file} never emits it",
                )


def _secret_use_findings(config: Config) -> Iterator[Finding]:
    """Live adapters and enabled webhooks need their credentials declared in `secrets`."""
    report = _Reporter(config).at
    bootstrap = config.bootstrap
    declared = bootstrap.secrets
    for port, settings in bootstrap.adapters:
        if settings.mode == "live" and settings.secret and settings.secret not in declared:
            yield report(
                "bootstrap",
                ("adapters", port, "mode"),
                f"live {port} adapter needs secret {settings.secret}, which `secrets` does not declare",
            )
    if bootstrap.features.webhook_ingress:
        for name, webhook in bootstrap.http.webhooks.items():
            if webhook.secret not in declared:
                yield report(
                    "bootstrap",
                    ("http", "webhooks", name, "secret"),
                    f"webhook ingress is on but secret {webhook.secret} is not declared in `secrets`",
                )


def _fields_difference(manifest: Mapping[str, str], contract: Mapping[str, str]) -> str:
    parts = []
    if missing := [name for name in contract if name not in manifest]:
        parts.append("missing " + ", ".join(f"{name}: {contract[name]}" for name in missing))
    if extra := [name for name in manifest if name not in contract]:
        parts.append("not in the contract: " + ", ".join(extra))
    if typed := [name for name in manifest if name in contract and manifest[name] != contract[name]]:
        parts.append(", ".join(f"{name} is {contract[name]} in the contract, not {manifest[name]}" for name in typed))
    if not parts and list(manifest) != list(contract):
        parts.append(f"order differs; the contract's is {', '.join(contract)}")
    return "fields differ from the contract: " + "; ".join(parts)


def _in_file_order(findings: Iterable[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda finding: (finding.file, finding.line or 0, finding.message))


def _unknown_port(port: str) -> str:
    return f"unknown port {port!r} (ports: {', '.join(PORTS)})"


def _repeated(names: list[str]) -> list[str]:
    return [name for name, count in Counter(names).items() if count > 1]
