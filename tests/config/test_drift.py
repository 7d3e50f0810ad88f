"""`check`: drift between the manifests, the event contracts, the ports and the agents' code.

Each test breaks one thing in a private copy of the shipped manifests and expects exactly
the finding that names it, with its file, line and key path.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ds1ray.config import ConfigError, Finding, check, drift, load_config

from .conftest import REPOSITORY, ManifestCopy

CEO_SUBSCRIBES = (
    "    subscribes: [DAILY_TICK, MARKET_CRASH, MARKET_SHIFT, BUSINESS_REPORT, USER_COMMAND, ESCALATION_TRIGGERED]"
)


def findings(manifests: ManifestCopy, overlay: str | None = None) -> list[Finding]:
    return check(load_config(overlay, root=manifests.root, strict=False))


def only(found: list[Finding]) -> Finding:
    assert len(found) == 1, "\n".join(map(str, found))
    return found[0]


@pytest.mark.parametrize("overlay", ["simulation", "live", "staging"])
def test_the_shipped_manifests_have_no_drift(overlay: str) -> None:
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

    messages = [finding.message for finding in findings(manifests)]

    tool = "agents.ceo.tools.0.port: tool write_brief uses port ai, which ceo does not declare in its ports"
    assert tool in messages
    # Any other finding is the ceo's code reaching the port the manifest no longer declares.
    assert all(message.startswith("agent ceo uses port ai,") for message in messages if message != tool)


def test_an_agent_whose_code_uses_an_undeclared_port(
    manifests: ManifestCopy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code = tmp_path / "agents"
    code.mkdir()
    (code / "analytics.py").write_text(
        "class Analytics:\n"
        "    def handle(self, batch):\n"
        "        spend = self.ctx.ports.ads.spend(batch)\n"
        "        self.ctx.ports.email.send(spend)\n"
    )
    monkeypatch.setattr(drift, "AGENT_CODE", code)

    finding = only(findings(manifests))

    assert (finding.file, finding.line) == (str(code / "analytics.py"), 4)
    assert finding.message == (
        "agent analytics uses port email, which agent_config.yaml does not declare (agents.analytics.ports)"
    )


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
