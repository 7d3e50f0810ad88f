"""Webhook ingress over a real socket: recorded once, before the 2xx; refused requests store nothing.

Every test runs on the embedded store and on PostgreSQL.
"""

from __future__ import annotations

import copy
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from ds1ray.config import Config
from ds1ray.live.webhooks import event_id_for
from live.conftest import ORDER_PAID, PAYMENT_INTENT, PERSONAL_VALUES, REFUND_CREATE, stripe_event
from live.test_app_harness import (
    LiveApp,
    live_app,
    live_postgres,
    live_store_url,
    secrets_env,
    serve_live_app,
    staging_config,
)

# The fixtures this module uses (imported, as they live beside the app's tests, not in a conftest).
__all__ = ["live_app", "live_postgres", "live_store_url", "secrets_env", "staging_config"]


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    return caplog


def assert_no_personal_data(text: str) -> None:
    leaked = [value for value in PERSONAL_VALUES if value.lower() in text.lower()]
    assert not leaked, f"personal data found: {leaked}"


def test_signed_order_paid_is_recorded_once_with_its_outbox_row_before_the_answer(
        live_app: LiveApp, logs: pytest.LogCaptureFixture) -> None:
    response = live_app.post_shopify(ORDER_PAID, event_id="evt-paid-1")

    assert response.status_code == 200
    answer = response.json()
    assert answer == {"event_id": event_id_for("shopify:orders/paid:evt-paid-1"), "type": "ORDER_PAID",
                      "duplicate": False}
    # The answer came after the commit: the rows are visible to a new transaction at once.
    assert live_app.count("event_log", f"WHERE event_id = '{answer['event_id']}'") == 1
    assert live_app.count("outbox", f"WHERE event_id = '{answer['event_id']}'") == 1
    events = live_app.client.get("/api/events").json()["events"]
    assert events[0]["payload"]["amount_cents"] == 5999
    assert events[0]["payload"]["customer_email"].startswith("email:")
    assert_no_personal_data(live_app.stored_text())
    assert_no_personal_data(logs.text)
    assert live_app.metric("ds1_webhooks_accepted_total", source="shopify") == 1


def test_redelivered_webhook_has_exactly_one_effect(live_app: LiveApp) -> None:
    answers = [live_app.post_shopify(ORDER_PAID, event_id="evt-dup").json() for _ in range(3)]

    assert [a["duplicate"] for a in answers] == [False, True, True]
    assert len({a["event_id"] for a in answers}) == 1
    assert live_app.count("event_log") == 1
    assert live_app.count("outbox") == 1
    assert live_app.metric("ds1_webhooks_accepted_total", source="shopify") == 1
    assert live_app.metric("ds1_webhooks_duplicate_total", source="shopify") == 2


def test_concurrent_redeliveries_are_recorded_once_and_exactly_one_is_new(live_app: LiveApp) -> None:
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: live_app.post_shopify(ORDER_PAID, event_id="evt-race"), range(16)))

    assert all(answer.status_code == 200 for answer in answers)
    assert sum(not answer.json()["duplicate"] for answer in answers) == 1
    assert live_app.count("event_log") == 1
    assert live_app.count("outbox") == 1


def test_out_of_order_deliveries_each_have_one_effect(live_app: LiveApp) -> None:
    # The refund arrives before the order it refunds; then Shopify retries both.
    deliveries = [("refunds/create", REFUND_CREATE, "evt-refund"), ("orders/paid", ORDER_PAID, "evt-order")] * 2
    types = [live_app.post_shopify(payload, topic=topic, event_id=event_id).json()
             for topic, payload, event_id in deliveries]

    assert [(t["type"], t["duplicate"]) for t in types] == [
        ("ORDER_REFUNDED", False), ("ORDER_PAID", False), ("ORDER_REFUNDED", True), ("ORDER_PAID", True)]
    assert live_app.count("event_log", "WHERE type = 'ORDER_REFUNDED'") == 1
    assert live_app.count("event_log", "WHERE type = 'ORDER_PAID'") == 1
    assert live_app.count("outbox") == 2


def test_stripe_event_is_recorded_and_a_replay_inside_the_window_is_a_duplicate(live_app: LiveApp) -> None:
    event = stripe_event("payment_intent.succeeded", PAYMENT_INTENT, event_id="evt_stripe_1")

    first = live_app.post_stripe(event)
    replay = live_app.post_stripe(event, timestamp=int(time.time()) - 200)

    assert first.status_code == replay.status_code == 200
    assert (first.json()["type"], first.json()["duplicate"], replay.json()["duplicate"]) == (
        "PAYMENT_SUCCEEDED", False, True)
    assert live_app.count("event_log") == 1
    assert_no_personal_data(live_app.stored_text())


def order_with(**changes: Any) -> dict[str, Any]:
    order = copy.deepcopy(ORDER_PAID)
    order.update(changes)
    return order


REFUSALS: list[tuple[str, Any, int, str]] = [
    ("bad signature", lambda live: live.post_shopify(ORDER_PAID, secret="not-the-secret"), 401, "bad_signature"),
    ("tampered body", lambda live: live.post_shopify(
        ORDER_PAID, headers={"X-Shopify-Hmac-Sha256": "dGFtcGVyZWQ="}), 401, "bad_signature"),
    ("stale stripe timestamp", lambda live: live.post_stripe(
        stripe_event("payment_intent.succeeded", PAYMENT_INTENT), timestamp=int(time.time()) - 301),
     400, "stale_timestamp"),
    ("oversized body", lambda live: live.post_shopify(
        None, body=b'{"pad": "' + b"x" * (300 * 1024) + b'"}'), 413, "too_large"),
    ("malformed body", lambda live: live.post_shopify(None, body=b'{"id": 1, "email": "ada.lovelace@exam'),
     400, "malformed"),
    ("invalid payload", lambda live: live.post_shopify(order_with(total_price="fifty")), 422, "invalid_payload"),
    ("unknown topic", lambda live: live.post_shopify(ORDER_PAID, topic="customers/create"), 422, "unknown_topic"),
    ("no event id", lambda live: live.post_shopify(
        ORDER_PAID, headers={"X-Shopify-Event-Id": "", "X-Shopify-Webhook-Id": ""}), 400, "malformed"),
]


@pytest.mark.parametrize(("case", "send", "status", "reason"), REFUSALS, ids=[case[0] for case in REFUSALS])
def test_refused_webhook_gets_4xx_stores_nothing_is_counted_and_logs_no_personal_data(
        live_app: LiveApp, logs: pytest.LogCaptureFixture, case: str, send: Any, status: int, reason: str) -> None:
    source = "stripe" if "stripe" in case else "shopify"

    response = send(live_app)

    assert response.status_code == status
    assert response.json()["error"] == reason
    assert live_app.count("event_log") == 0
    assert live_app.count("outbox") == 0
    assert live_app.metric("ds1_webhooks_rejected_total", source=source, reason=reason) == 1
    assert live_app.metric("ds1_webhooks_received_total", source=source) == 1
    assert_no_personal_data(logs.text)
    assert_no_personal_data(response.text)


def test_webhooks_over_the_rate_limit_get_429_with_retry_after_and_store_nothing(
        secrets_env: None, staging_config: Config, live_store_url: str) -> None:
    for live in serve_live_app(staging_config, live_store_url, webhook_rate_limit_per_minute=2):
        answers = [live.post_shopify(ORDER_PAID, event_id=f"evt-{n}") for n in range(3)]

        assert [a.status_code for a in answers] == [200, 200, 429]
        assert int(answers[2].headers["Retry-After"]) >= 1
        assert live.count("event_log") == 2
        assert live.metric("ds1_webhooks_rejected_total", source="shopify", reason="rate_limited") == 1


def test_webhooks_beyond_what_the_store_keeps_up_with_get_503_at_once(live_app: LiveApp) -> None:
    live_app.app.state.recorder.max_pending = 0  # as if the queue were full

    response = live_app.post_shopify(ORDER_PAID, event_id="evt-shed")

    assert response.status_code == 503
    assert response.json()["error"] == "overloaded"
    assert response.headers["Retry-After"] == "5"
    assert live_app.count("event_log") == 0
    assert live_app.metric("ds1_webhooks_rejected_total", source="shopify", reason="overloaded") == 1


def test_a_store_that_cannot_commit_gets_503_never_a_2xx(live_app: LiveApp,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise OSError("disk full")

    monkeypatch.setattr(live_app.store, "run", refuse)

    response = live_app.post_shopify(ORDER_PAID, event_id="evt-lost")

    assert response.status_code == 503
    assert response.headers["Retry-After"]
    assert live_app.metrics.webhooks_accepted.value(source="shopify") == 0
