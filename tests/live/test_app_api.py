"""The JSON API, health and metrics over a real socket."""

from __future__ import annotations

import json
import math
import re
from typing import Any

import pytest

from ds1ray.live.backend import BackendUnavailable
from ds1ray.live.metrics import AppMetrics
from ds1ray.store.dead_letters import record_dead_letter
from ds1ray.store.events import Event
from live.conftest import ORDER_PAID
from live.test_app_harness import (
    SECRETS_ENV,
    LiveApp,
    live_app,
    live_postgres,
    live_store_url,
    secrets_env,
    sqlite_live_app,
    sqlite_store_url,
    staging_config,
)

__all__ = ["live_app", "live_postgres", "live_store_url", "secrets_env", "sqlite_live_app", "sqlite_store_url",
           "staging_config"]

# The Prometheus text exposition format, line by line (prometheus.io/docs/instrumenting/exposition_formats).
_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\["\\n])*"'
_SAMPLE = re.compile(rf"^({_NAME})(?:\{{((?:{_LABEL})(?:,{_LABEL})*)?\}})? (\S+)$")
_COMMENT = re.compile(rf"^# (HELP|TYPE) ({_NAME}) (.*)$")
_TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}


def parse_prometheus(text: str) -> dict[str, dict[str, Any]]:
    """{family: {"type", "samples": [(name, labels, value)]}}; AssertionError on any format error."""
    assert text.endswith("\n"), "the exposition must end with a newline"
    families: dict[str, dict[str, Any]] = {}
    current = ""
    for number, line in enumerate(text.splitlines(), 1):
        comment = _COMMENT.match(line)
        if comment:
            kind, name, rest = comment.groups()
            family = families.setdefault(name, {"type": None, "samples": []})
            if kind == "TYPE":
                assert rest in _TYPES, f"line {number}: unknown type {rest}"
                assert family["type"] is None and not family["samples"], f"line {number}: TYPE after samples"
                family["type"] = rest
            current = name
            continue
        sample = _SAMPLE.match(line)
        assert sample, f"line {number} is not a valid sample: {line!r}"
        name, label_text, value = sample.groups()
        base = re.sub(r"_(bucket|sum|count|total)$", "", name)
        assert current in (name, base) or name.startswith(current), f"line {number}: {name} outside its family"
        labels = dict(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', label_text or ""))
        number_value = float(value.replace("+Inf", "inf").replace("-Inf", "-inf"))
        families[current]["samples"].append((name, labels, number_value))
    return families


def check_histograms(families: dict[str, dict[str, Any]]) -> None:
    for family in (f for f in families.values() if f["type"] == "histogram"):
        series: dict[tuple[tuple[str, str], ...], list[tuple[float, float]]] = {}
        counts: dict[tuple[tuple[str, str], ...], float] = {}
        for name, labels, value in family["samples"]:
            key = tuple(sorted((k, v) for k, v in labels.items() if k != "le"))
            if name.endswith("_bucket"):
                series.setdefault(key, []).append((float(labels["le"].replace("+Inf", "inf")), value))
            elif name.endswith("_count"):
                counts[key] = value
        for key, buckets in series.items():
            bounds = [bound for bound, _ in buckets]
            assert bounds == sorted(bounds) and math.isinf(bounds[-1]), "buckets must rise to +Inf"
            values = [value for _, value in buckets]
            assert values == sorted(values), "bucket counts are cumulative"
            assert values[-1] == counts[key], "the +Inf bucket equals _count"


def test_metrics_are_valid_prometheus_text_with_webhook_counts_latency_and_store_gauges(
        live_app: LiveApp) -> None:
    live_app.post_shopify(ORDER_PAID, event_id="evt-m1")
    live_app.post_shopify(ORDER_PAID, event_id="evt-m1")
    live_app.post_shopify(ORDER_PAID, secret="wrong")

    response = live_app.client.get("/metrics")

    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    families = parse_prometheus(response.text)
    check_histograms(families)
    samples = {(name, tuple(sorted(labels.items()))): value
               for family in families.values() for name, labels, value in family["samples"]}
    assert samples[("ds1_webhooks_received_total", (("source", "shopify"),))] == 3
    assert samples[("ds1_webhooks_accepted_total", (("source", "shopify"),))] == 1
    assert samples[("ds1_webhooks_duplicate_total", (("source", "shopify"),))] == 1
    assert samples[("ds1_webhooks_rejected_total", (("reason", "bad_signature"), ("source", "shopify")))] == 1
    assert samples[("ds1_dead_letters", ())] == 0
    assert samples[("ds1_store_up", ())] == 1
    assert samples[("ds1_queue_depth", (("queue", "outbox"),))] == 1  # the order, not yet relayed
    webhook_latency = [labels for name, labels, _ in families["ds1_http_request_duration_seconds"]["samples"]
                       if name.endswith("_count") and labels["route"] == "/webhooks/shopify"]
    assert {labels["status"] for labels in webhook_latency} == {"2xx", "4xx"}


def test_label_values_are_escaped_so_the_exposition_still_parses() -> None:
    metrics = AppMetrics()
    metrics.chat_requests.inc(mode='odd "mode"\\', outcome="line\nbreak")

    text = metrics.render(dead_letters=None, breakers={"shop": {"state": "open"}}, queue_depths={}, store_up=False)

    families = parse_prometheus(text)
    labels = [labels for _, labels, _ in families["ds1_chat_requests_total"]["samples"]]
    assert labels == [{"mode": 'odd \\"mode\\"\\\\', "outcome": "line\\nbreak"}]
    assert families["ds1_breaker_state"]["samples"] == [("ds1_breaker_state", {"platform": "shop"}, 2.0)]
    assert "ds1_dead_letters" not in families  # unknown (store down) rather than a false 0


def test_agents_lists_the_eight_agents_with_state_and_restarts(sqlite_live_app: LiveApp) -> None:
    agents = sqlite_live_app.client.get("/api/agents").json()["agents"]

    assert [a["name"] for a in agents] == ["ceo", "research", "supplier", "store", "marketing", "support",
                                           "ops", "analytics"]
    assert all(a["state"] == "ALIVE" and a["restarts"] == 0 for a in agents)


def test_kpis_carry_the_required_figures_in_integer_cents(sqlite_live_app: LiveApp) -> None:
    kpis = sqlite_live_app.client.get("/api/kpis").json()

    for key in ("cash_cents", "revenue_cents", "ad_spend_cents", "daily_ad_budget_cents", "orders", "day"):
        assert isinstance(kpis[key], int), key
    assert kpis["day"] == 2
    assert kpis["risk_mode"] == "normal"
    assert [c["status"] for c in kpis["campaigns"]] == ["active", "active"]


def test_events_are_listed_newest_first_filtered_by_type_and_limited(sqlite_live_app: LiveApp) -> None:
    live = sqlite_live_app
    live.post_shopify(ORDER_PAID, event_id="evt-a")
    live.client.post("/api/chat", json={"message": "set budget 75"})

    listed = live.client.get("/api/events").json()["events"]
    only_orders = live.client.get("/api/events", params={"type": "ORDER_PAID"}).json()["events"]

    assert [e["type"] for e in listed] == ["USER_COMMAND", "ORDER_PAID"]
    assert listed[0]["payload"] == {"target": "ceo", "command": "set_budget", "argument": "75.00"}
    assert [e["type"] for e in only_orders] == ["ORDER_PAID"]
    assert len(live.client.get("/api/events", params={"limit": 1}).json()["events"]) == 1
    assert live.client.get("/api/events", params={"limit": 0}).status_code == 422


def test_event_ids_beyond_javascripts_exact_integers_are_listed_as_exact_strings(sqlite_live_app: LiveApp) -> None:
    live = sqlite_live_app
    ticket = (1 << 62) | 8201  # a ticket ops opened; 2^53 + 1 is the first integer a JS number rounds
    live.store.run(lambda tx: tx.outbox.add(Event(type="TICKET_CREATED", source="ops", payload={
        "ticket_id": ticket, "order_id": 8201, "amount_cents": 5999,
        "lines": [{"id": 2**53 + 1}, {"id": 2**53 - 1}, {"id": -(2**53) - 1}], "paid": True})))
    [listed] = live.client.get("/api/events", params={"type": "TICKET_CREATED"}).json()["events"]
    payload = listed["payload"]
    assert payload["ticket_id"] == str(ticket) and int(payload["ticket_id"]) == ticket
    assert payload["order_id"] == 8201 and payload["amount_cents"] == 5999 and payload["paid"] is True
    assert payload["lines"] == [{"id": "9007199254740993"}, {"id": 2**53 - 1}, {"id": "-9007199254740993"}]


def test_dead_letters_are_listed_with_personal_data_scrubbed_from_errors(live_app: LiveApp) -> None:
    event = Event(type="ORDER_PAID", source="shopify_webhook", payload={"order_id": 7})
    live_app.store.run(lambda tx: record_dead_letter(
        tx, "agent:supplier", event, "PlatformUnavailable: rejected for ada.lovelace@example.com", attempts=5))

    letters = live_app.client.get("/api/dlq").json()["dead_letters"]

    assert [(d["handler"], d["event_id"], d["type"], d["attempts"]) for d in letters] == [
        ("agent:supplier", event.event_id, "ORDER_PAID", 5)]
    assert "ada.lovelace@example.com" not in letters[0]["last_error"]
    assert live_app.metric("ds1_dead_letters") == 1


def test_config_is_the_merged_overlay_with_every_secret_masked(sqlite_live_app: LiveApp) -> None:
    response = sqlite_live_app.client.get("/api/config")

    config = response.json()
    assert config["bootstrap"]["environment"] == "staging"
    assert config["bootstrap"]["secrets"] == {"SHOPIFY_WEBHOOK_SECRET": "***", "STRIPE_WEBHOOK_SECRET": "***"}
    for value in SECRETS_ENV.values():
        assert value not in response.text
    assert config["bootstrap"]["http"]["port"] == 8000


def test_healthz_reports_the_store_and_503_when_it_does_not_answer(
        live_app: LiveApp, monkeypatch: pytest.MonkeyPatch) -> None:
    healthy = live_app.client.get("/healthz")
    assert healthy.status_code == 200
    assert healthy.json()["status"] == "ok"

    def unreachable(*args: Any, **kwargs: Any) -> Any:
        raise ConnectionError("connection refused")

    monkeypatch.setattr(live_app.store, "run", unreachable)
    down = live_app.client.get("/healthz")
    assert down.status_code == 503
    assert down.json()["status"] == "unavailable"
    assert live_app.metric("ds1_store_up") == 0


def test_an_unreachable_business_is_a_503_naming_it(sqlite_live_app: LiveApp,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    def down() -> Any:
        raise BackendUnavailable("actor agent:ceo is DEAD")

    monkeypatch.setattr(sqlite_live_app.backend, "kpis", down)

    response = sqlite_live_app.client.get("/api/kpis")

    assert response.status_code == 503
    assert "agent:ceo is DEAD" in json.dumps(response.json())


def test_status_reports_breakers_and_queue_depths(sqlite_live_app: LiveApp, monkeypatch: pytest.MonkeyPatch) -> None:
    sqlite_live_app.post_shopify(ORDER_PAID, event_id="evt-q")
    assert sqlite_live_app.client.get("/api/status").json() == {"breakers": {}, "queue_depths": {"outbox": 1}}

    snapshot = {"name": "shop", "state": "open", "consecutive_failures": 5, "failure_threshold": 5, "opens": 1,
                "seconds_until_half_open": 42.0}
    monkeypatch.setattr(sqlite_live_app.backend, "breakers", lambda: {"shop": snapshot})

    assert sqlite_live_app.client.get("/api/status").json()["breakers"] == {"shop": snapshot}
    assert sqlite_live_app.metric("ds1_breaker_state", platform="shop") == 2
