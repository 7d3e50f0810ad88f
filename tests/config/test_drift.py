"""`check`: drift between the manifests, the event contracts, the ports and the agents' code.

Each test breaks one thing in a private copy of the shipped manifests and expects exactly
the finding that names it, with its file, line and key path.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ds1ray.config import Config, ConfigError, Finding, check, drift, load_config

from .conftest import REPOSITORY, ManifestCopy

CEO_SUBSCRIBES = (
    "    subscribes: [DAILY_TICK, MARKET_CRASH, MARKET_SHIFT, BUSINESS_REPORT, USER_COMMAND, ESCALATION_TRIGGERED]"
)


def findings(manifests: ManifestCopy, overlay: str | None = None) -> list[Finding]:
    """Drift between the manifests alone (the agents' code has its own tests below)."""
    return check(load_config(overlay, root=manifests.root, strict=False), code=False)


def only(found: list[Finding]) -> Finding:
    assert len(found) == 1, "\n".join(map(str, found))
    return found[0]


@pytest.mark.parametrize("overlay", ["simulation", "live", "staging"])
def test_the_shipped_manifests_and_agent_code_have_no_drift(overlay: str) -> None:
    config = load_config(overlay, root=REPOSITORY)

    assert check(config, config.overlay) == []


def test_a_subscription_to_an_unknown_event(manifests: ManifestCopy) -> None:
    line = manifests.replace("overlays/agent_config.yaml", CEO_SUBSCRIBES, CEO_SUBSCRIBES[:-1] + ", MARKET_BOOM]")

    finding = only(findings(manifests))

    assert (Path(finding.file).name, finding.line) == ("agent_config.yaml", line)
    assert finding.message == (
        "agents.ceo.subscribes.6: unknown event MARKET_BOOM (not in event_bus.yaml and has no contract)"
    )


def test_a_tool_naming_an_unknown_port(manifests: ManifestCopy) -> None:
    manifests.replace(
        "overlays/agent_config.yaml",
        "    - name: write_brief\n      port: ai\n",
        "    - name: write_brief\n      port: llm\n",
    )
    line = manifests.line_of("overlays/agent_config.yaml", "      port: llm")

    finding = only(findings(manifests))

    assert (Path(finding.file).name, finding.line) == ("agent_config.yaml", line)
    assert finding.message.startswith("agents.ceo.tools.0.port: tool write_brief: unknown port 'llm' (ports: ai, ")


def test_a_tool_on_a_port_its_agent_does_not_declare(manifests: ManifestCopy) -> None:
    manifests.replace("overlays/agent_config.yaml", "    ports: [ai, shop]\n", "    ports: [shop]\n")

    assert only(findings(manifests)).message == (
        "agents.ceo.tools.0.port: tool write_brief uses port ai, which ceo does not declare in its ports"
    )


def faithful_module(config: Config, agent_id: str, *, extra: str = "", skip: str = "") -> str:
    """Source of an agent module that does what its manifest entry says, plus `extra` lines,
    minus the lines containing `skip`."""
    agent = config.agents[agent_id]
    lines = ["class Agent:"]
    for event_type in agent.subscribes:
        lines += [f"    def on_{event_type.lower()}(self, batch):", "        pass"]
    lines += ["    def act(self, run):"]
    lines += [f"        self.ports.{port}.call(run)" for port in agent.ports]
    lines += [f'        self.emit("{event_type}", run)' for event_type in agent.publishes]
    lines += [line for line in extra.splitlines() if line]
    return "\n".join(line for line in lines if not (skip and skip in line)) + "\n"


@pytest.fixture
def agent_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder of agent modules that agree with the shipped manifests, used by `check`."""
    folder = tmp_path / "agents"
    folder.mkdir()
    config = load_config(root=REPOSITORY)
    for agent_id in config.agents:
        (folder / f"{agent_id}.py").write_text(faithful_module(config, agent_id))
    monkeypatch.setattr(drift, "AGENT_CODE", folder)
    return folder


def code_findings(agent_code: Path, agent_id: str, **change: str) -> list[Finding]:
    config = load_config(root=REPOSITORY)
    (agent_code / f"{agent_id}.py").write_text(faithful_module(config, agent_id, **change))
    return check(config)


def test_agent_code_that_does_what_the_manifest_says_has_no_drift(agent_code: Path) -> None:
    assert check(load_config(root=REPOSITORY)) == []


def test_agent_code_using_an_undeclared_port(agent_code: Path) -> None:
    finding = only(code_findings(agent_code, "analytics", extra="        self.ctx.ports.email.send(run)"))

    assert (finding.file, finding.line) == (str(agent_code / "analytics.py"), finding.line)
    assert agent_code.joinpath("analytics.py").read_text().splitlines()[finding.line - 1].strip() == (
        "self.ctx.ports.email.send(run)"
    )
    assert finding.message == (
        "agent analytics uses port email, which agent_config.yaml does not declare (agents.analytics.ports)"
    )


def test_agent_code_publishing_an_event_it_does_not_declare(agent_code: Path) -> None:
    finding = only(code_findings(agent_code, "research", extra='        self.emit("INVENTORY_LOW", run)'))

    assert finding.message == (
        "agent research publishes INVENTORY_LOW, which agent_config.yaml does not list (agents.research.publishes)"
    )


def test_agent_code_handling_an_event_it_is_not_subscribed_to(agent_code: Path) -> None:
    extra = "    def on_order_refunded(self, batch):\n        pass"

    finding = only(code_findings(agent_code, "support", extra=extra))

    assert finding.message == (
        "agent support handles ORDER_REFUNDED, but agent_config.yaml does not subscribe it (agents.support.subscribes)"
    )


def test_a_subscription_without_a_handler_in_the_code(agent_code: Path) -> None:
    line = (
        REPOSITORY.joinpath("overlays/agent_config.yaml")
        .read_text()
        .splitlines()
        .index("    subscribes: [PRODUCT_IDEAS, INVENTORY_LOW]")
        + 1
    )

    finding = only(code_findings(agent_code, "supplier", skip="def on_inventory_low"))

    assert (Path(finding.file).name, finding.line) == ("agent_config.yaml", line)
    assert (
        finding.message == f"agents.supplier.subscribes.1: INVENTORY_LOW, but {agent_code / 'supplier.py'} "
        "has no on_inventory_low handler"
    )


def test_a_declared_publication_the_code_never_emits(agent_code: Path) -> None:
    finding = only(code_findings(agent_code, "store", skip='"PAGE_PUBLISHED"'))

    assert finding.message.startswith("agents.store.publishes.0: PAGE_PUBLISHED, but ")
    assert finding.message.endswith("store.py never emits it")


def test_an_emit_by_variable_makes_never_emitted_unknowable(agent_code: Path) -> None:
    found = code_findings(agent_code, "store", skip='"PAGE_PUBLISHED"', extra="        self.emit(kind, run)")

    assert found == []


def test_a_published_event_with_no_subscriber(manifests: ManifestCopy) -> None:
    manifests.replace(
        "overlays/agent_config.yaml",
        "    subscribes: [PRODUCT_IDEAS, INVENTORY_LOW]",
        "    subscribes: [INVENTORY_LOW]",
    )
    manifests.replace(
        "overlays/event_bus.yaml",
        "    publishers: [research]\n    subscribers: [supplier]\n",
        "    publishers: [research]\n    subscribers: []\n",
    )
    line = manifests.line_of("overlays/event_bus.yaml", "  PRODUCT_IDEAS:")

    finding = only(findings(manifests))

    assert (Path(finding.file).name, finding.line) == ("event_bus.yaml", line)
    assert finding.message == "events.PRODUCT_IDEAS: published but nobody subscribes (no agent and no sink)"


def test_an_event_with_no_contract(manifests: ManifestCopy) -> None:
    manifests.append(
        "overlays/event_bus.yaml",
        "  PRICE_ALERT:\n    description: x\n    fields: {product: int}\n    publishers: [trends]\n"
        "    subscribers: []\n    sinks: [event_log]\n",
    )
    manifests.replace(
        "overlays/event_bus.yaml",
        "OPTIMIZATION_TICK, BUSINESS_REPORT]",
        "OPTIMIZATION_TICK, BUSINESS_REPORT, PRICE_ALERT]",
    )

    assert only(findings(manifests)).message == "events.PRICE_ALERT: no pydantic contract in ds1ray/events/contracts.py"


def test_a_contract_whose_fields_differ_from_the_manifest(manifests: ManifestCopy) -> None:
    line = manifests.replace(
        "overlays/event_bus.yaml",
        "    fields: {product: int, price_cents: int}",
        "    fields: {product: int, price: float}",
    )

    finding = only(findings(manifests))

    assert finding.line == line
    assert finding.message == (
        "events.PAGE_PUBLISHED.fields: fields differ from the contract: missing price_cents: int; "
        "not in the contract: price"
    )


def test_subscribers_that_disagree_between_the_two_manifests(manifests: ManifestCopy) -> None:
    manifests.replace(
        "overlays/event_bus.yaml",
        "    publishers: [research]\n    subscribers: [supplier]\n",
        "    publishers: [research]\n    subscribers: [supplier, store]\n",
    )

    assert only(findings(manifests)).message == (
        "events.PRODUCT_IDEAS.subscribers: lists store, "
        "but agent_config.yaml's store does not subscribe to PRODUCT_IDEAS"
    )


def test_a_publisher_that_is_neither_an_agent_nor_a_source(manifests: ManifestCopy) -> None:
    manifests.replace(
        "overlays/event_bus.yaml",
        "    publishers: [clock]\n    subscribers: [ceo,",
        "    publishers: [clok]\n    subscribers: [ceo,",
    )

    messages = [finding.message for finding in findings(manifests)]

    assert "events.DAILY_TICK.publishers.0: unknown publisher 'clok' (not an agent or a declared source)" in messages


def test_an_event_missing_from_the_delivery_order(manifests: ManifestCopy) -> None:
    manifests.replace("overlays/event_bus.yaml", "OPTIMIZATION_TICK, BUSINESS_REPORT]", "OPTIMIZATION_TICK]")

    assert only(findings(manifests)).message == (
        "delivery_order: BUSINESS_REPORT is missing: it would never be delivered"
    )


def test_a_source_on_an_unknown_port(manifests: ManifestCopy) -> None:
    manifests.replace("overlays/event_bus.yaml", "  email:\n    port: email\n", "  email:\n    port: imap\n")

    assert only(findings(manifests)).message.startswith("sources.email.port: unknown port 'imap'")


def test_a_live_adapter_whose_secret_is_not_declared(manifests: ManifestCopy) -> None:
    manifests.replace("overlays/bootstrap.live.yaml", '  META_ACCESS_TOKEN: "${META_ACCESS_TOKEN}"\n', "")
    line = manifests.line_of("overlays/bootstrap.live.yaml", "  ads: {mode: live}")

    finding = only(findings(manifests, "live"))

    assert (Path(finding.file).name, finding.line) == ("bootstrap.live.yaml", line)
    assert finding.message == (
        "adapters.ads.mode: live ads adapter needs secret META_ACCESS_TOKEN, which `secrets` does not declare"
    )


def test_check_of_an_overlay_file_lists_every_new_key_and_literal_secret(manifests: ManifestCopy) -> None:
    manifests.replace("overlays/bootstrap.live.yaml", "  dashboard: true\n", "  dashbaord: true\n")
    manifests.replace("overlays/bootstrap.live.yaml", '"${OPENAI_API_KEY}"', '"sk-1"')
    manifests.replace("overlays/bootstrap.live.yaml", "  host: 0.0.0.0\n", "  hots: 0.0.0.0\n")
    config = load_config(root=manifests.root)

    found = check(config, manifests.path("overlays/bootstrap.live.yaml"))

    assert [finding.message.split(":")[0] for finding in found] == [
        "secrets.OPENAI_API_KEY",
        "features.dashbaord",
        "http.hots",
    ]


def test_a_strict_load_refuses_drift_and_points_at_it(manifests: ManifestCopy) -> None:
    manifests.replace("overlays/agent_config.yaml", CEO_SUBSCRIBES, CEO_SUBSCRIBES[:-1] + ", MARKET_BOOM, RAIN]")

    with pytest.raises(ConfigError) as caught:
        load_config(root=manifests.root)

    assert "agents.ceo.subscribes.6: unknown event MARKET_BOOM" in str(caught.value)
    assert str(caught.value).endswith("(1 more: run `ds1ray check`)")
