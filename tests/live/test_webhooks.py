"""WebhookIntake: from raw requests to redacted DS1 events, and every rejection reason."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ds1ray.live.clock import ManualClock
from ds1ray.live.redaction import Redactor
from ds1ray.live.rejections import RejectReason, WebhookRejected
from ds1ray.live.signatures import shopify_webhook_headers, stripe_signature_header
from ds1ray.live.webhooks import (
    CHARGEBACK_OPENED,
    ORDER_CANCELLED,
    ORDER_PAID,
    ORDER_REFUNDED,
    PAYMENT_REFUNDED,
    PAYMENT_SUCCEEDED,
    WebhookIntake,
    check_content_length,
    event_id_for,
)

from .conftest import CHARGE_REFUNDED, DISPUTE, PAYMENT_INTENT, PERSONAL_VALUES, stripe_event
from .test_redaction import survivors

SHOPIFY_SECRET = "shpss_app_secret"
STRIPE_SECRET = "whsec_endpoint_secret"
REDACTOR = Redactor(b"test-pii-key")


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(wall_start=1_767_225_700.0)


@pytest.fixture
def intake(clock: ManualClock) -> WebhookIntake:
    return WebhookIntake(shopify_secrets=SHOPIFY_SECRET, stripe_secrets=STRIPE_SECRET,
                         redactor=REDACTOR, clock=clock)


def shopify_request(payload: Any, topic: str = "orders/paid", event_id: str = "evt-1",
                    **headers: str) -> tuple[bytes, dict[str, str]]:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    signed = shopify_webhook_headers(body, SHOPIFY_SECRET, topic=topic, event_id=event_id)
    signed.update(headers)
    return body, signed


def stripe_request(event: dict[str, Any], timestamp: int = 1_767_225_650
                   ) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(event).encode()
    return body, {"Stripe-Signature": stripe_signature_header(body, STRIPE_SECRET,
                                                              timestamp=timestamp)}


def rejection(call: Any) -> WebhookRejected:
    with pytest.raises(WebhookRejected) as raised:
        call()
    return raised.value


# ----------------------------------------------------------------------------- accepted


def test_orders_paid_becomes_order_paid_with_integer_cents(
    intake: WebhookIntake, order_paid: dict[str, Any]
) -> None:
    event = intake.shopify(*shopify_request(order_paid))
    assert (event.type, event.source) == (ORDER_PAID, "shopify_webhook")
    payload = event.payload
    assert (payload["amount_cents"], payload["subtotal_cents"], payload["tax_cents"],
            payload["discount_cents"]) == (5999, 5499, 450, 500)
    assert [(i["line_item_id"], i["quantity"], i["price_cents"]) for i in payload["line_items"]] \
        == [(866550311766439020, 1, 4999), (141249953, 2, 500)]
    assert payload["order_gid"] == "gid://shopify/Order/820982911946154508"
    assert payload["destination"] == {"city": "Cupertino", "province_code": None,
                                      "country_code": "US"}
    assert event.correlation_id == "shopify:order:820982911946154508"
    assert event.occurred_at.isoformat() == "2026-01-05T10:14:22-05:00"


def test_the_event_holds_no_personal_data_but_links_the_customer(
    intake: WebhookIntake, order_paid: dict[str, Any]
) -> None:
    event = intake.shopify(*shopify_request(order_paid))
    assert survivors(event.model_dump(mode="json")) == []
    assert event.payload["customer_email"] == REDACTOR.email_token("ada.lovelace@example.com")
    assert event.payload["customer_id"] == 115310627314723954
    assert event.payload["customer_ref"] == int(event.payload["customer_email"][6:21], 16)


def test_store_fields_carry_the_dedupe_key_and_platform_time(
    intake: WebhookIntake, order_paid: dict[str, Any]
) -> None:
    fields = intake.shopify(*shopify_request(order_paid, event_id="e-3")).store_fields()
    assert set(fields) == {"event_id", "type", "source", "correlation_id", "payload"}
    assert fields["payload"]["dedupe_key"] == "shopify:orders/paid:e-3"
    assert fields["payload"]["occurred_at"] == "2026-01-05T10:14:22-05:00"
    assert len(fields["event_id"]) <= 255


def test_event_id_derives_from_the_event_id_header_so_redeliveries_collide(
    intake: WebhookIntake, order_paid: dict[str, Any]
) -> None:
    first = intake.shopify(*shopify_request(order_paid, event_id="e-7",
                                            **{"X-Shopify-Webhook-Id": "delivery-1"}))
    again = intake.shopify(*shopify_request(order_paid, event_id="e-7",
                                            **{"X-Shopify-Webhook-Id": "delivery-2"}))
    assert first.event_id == again.event_id == event_id_for("shopify:orders/paid:e-7")
    assert first.dedupe_key == "shopify:orders/paid:e-7"


def test_webhook_id_is_the_fallback_dedupe_key(
    intake: WebhookIntake, order_paid: dict[str, Any]
) -> None:
    body, headers = shopify_request(order_paid)
    del headers["X-Shopify-Event-Id"]
    headers["X-Shopify-Webhook-Id"] = "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043"
    event = intake.shopify(body, headers)
    assert event.dedupe_key == "shopify:orders/paid:b54557e4-bdd9-4b37-8a5f-bf7d70bcd043"


def test_one_shopify_event_on_two_topics_gives_two_events(
    intake: WebhookIntake, order_paid: dict[str, Any]
) -> None:
    order_paid["cancelled_at"] = "2026-01-06T09:00:00-05:00"
    paid = intake.shopify(*shopify_request(order_paid, "orders/paid", "e-9"))
    cancelled = intake.shopify(*shopify_request(order_paid, "orders/cancelled", "e-9"))
    assert paid.event_id != cancelled.event_id
    assert cancelled.type == ORDER_CANCELLED
    assert cancelled.payload["amount_cents"] == 5999
    assert cancelled.occurred_at.isoformat() == "2026-01-06T09:00:00-05:00"


def test_headers_are_read_in_any_case(intake: WebhookIntake, order_paid: dict[str, Any]) -> None:
    body, headers = shopify_request(order_paid)
    assert intake.shopify(body, {k.lower(): v for k, v in headers.items()}).type == ORDER_PAID


def test_refunds_create_counts_only_successful_refund_transactions(
    intake: WebhookIntake, refund_create: dict[str, Any]
) -> None:
    event = intake.shopify(*shopify_request(refund_create, "refunds/create"))
    assert event.type == ORDER_REFUNDED
    assert event.payload["amount_cents"] == 5449
    assert event.payload["line_items"] == [{"line_item_id": 866550311766439020, "quantity": 1}]
    assert event.correlation_id == "shopify:order:820982911946154508"
    assert event.payload["note"] == "Customer [NAME] says it arrived broken; call [PHONE]"


def test_unknown_extra_shopify_fields_are_allowed(
    intake: WebhookIntake, order_paid: dict[str, Any]
) -> None:
    order_paid["a_field_shopify_adds_next_year"] = {"nested": True}
    assert intake.shopify(*shopify_request(order_paid)).type == ORDER_PAID


def test_zero_decimal_currencies_convert_exactly(
    intake: WebhookIntake, order_paid: dict[str, Any]
) -> None:
    order_paid.update(currency="JPY", total_price="6500", subtotal_price="6000",
                      total_tax="500", total_discounts="0")
    for item in order_paid["line_items"]:
        item["price"] = "3000"
    assert intake.shopify(*shopify_request(order_paid)).payload["amount_cents"] == 6500


@pytest.mark.parametrize("event_type, data_object, ds1_type, amount_key", [
    ("charge.dispute.created", DISPUTE, CHARGEBACK_OPENED, "amount_cents"),
    ("charge.refunded", CHARGE_REFUNDED, PAYMENT_REFUNDED, "refunded_cents"),
    ("payment_intent.succeeded", PAYMENT_INTENT, PAYMENT_SUCCEEDED, "received_cents"),
])
def test_stripe_events_become_ds1_events_without_personal_data(
    intake: WebhookIntake, event_type: str, data_object: dict[str, Any], ds1_type: str,
    amount_key: str,
) -> None:
    event = intake.stripe(*stripe_request(stripe_event(event_type, data_object)))
    assert (event.type, event.source) == (ds1_type, "stripe_webhook")
    assert event.payload[amount_key] == 5999
    assert event.payload["currency"] == "USD"
    assert event.dedupe_key == "stripe:evt_1QxYz2ABCdefGHIjkl"
    assert event.correlation_id == "stripe:payment:pi_3QxYz2ABCdefGHIj0xyz"
    assert survivors(event.model_dump(mode="json")) == []


def test_a_stripe_replay_inside_the_window_verifies_and_keeps_its_event_id(
    intake: WebhookIntake, clock: ManualClock
) -> None:
    request = stripe_request(stripe_event("payment_intent.succeeded", PAYMENT_INTENT))
    first = intake.stripe(*request)
    clock.advance(200)
    assert intake.stripe(*request).event_id == first.event_id


# ----------------------------------------------------------------------------- rejected


def test_a_tampered_shopify_body_is_a_bad_signature(
    intake: WebhookIntake, order_paid: dict[str, Any]
) -> None:
    body, headers = shopify_request(order_paid)
    tampered = body.replace(b'"59.99"', b'"0.01"')
    error = rejection(lambda: intake.shopify(tampered, headers))
    assert (error.reason, error.status_code) == (RejectReason.BAD_SIGNATURE, 401)


def test_an_oversized_body_is_refused_before_its_signature_is_checked(
    intake: WebhookIntake,
) -> None:
    error = rejection(lambda: intake.shopify(b"x" * (256 * 1024 + 1), {}))
    assert (error.reason, error.status_code) == (RejectReason.TOO_LARGE, 413)


def test_a_signed_body_that_is_not_json_is_malformed(intake: WebhookIntake) -> None:
    for body in (b'{"id": 1,', b"[1, 2]", b'{"x": NaN}', b"\xff\xfe"):
        error = rejection(lambda body=body: intake.shopify(*shopify_request(body)))
        assert (error.reason, error.status_code) == (RejectReason.MALFORMED, 400)


def test_missing_dedupe_headers_are_malformed(
    intake: WebhookIntake, order_paid: dict[str, Any]
) -> None:
    body, headers = shopify_request(order_paid)
    del headers["X-Shopify-Event-Id"], headers["X-Shopify-Webhook-Id"]
    assert rejection(lambda: intake.shopify(body, headers)).reason is RejectReason.MALFORMED


def test_an_unknown_topic_is_refused(intake: WebhookIntake, order_paid: dict[str, Any]) -> None:
    error = rejection(lambda: intake.shopify(*shopify_request(order_paid, "carts/update")))
    assert (error.reason, error.status_code) == (RejectReason.UNKNOWN_TOPIC, 422)


def test_an_invalid_payload_is_refused_without_echoing_personal_data(
    intake: WebhookIntake, order_paid: dict[str, Any]
) -> None:
    order_paid["total_price"] = "fifty nine"
    order_paid["email"] = ["ada.lovelace@example.com"]
    error = rejection(lambda: intake.shopify(*shopify_request(order_paid)))
    assert (error.reason, error.status_code) == (RejectReason.INVALID_PAYLOAD, 422)
    assert "total_price" in error.message and "email" in error.message
    assert not any(value.lower() in str(error).lower() for value in PERSONAL_VALUES)


def test_an_amount_with_more_decimals_than_the_currency_is_refused(
    intake: WebhookIntake, order_paid: dict[str, Any]
) -> None:
    order_paid["total_price"] = "59.999"
    error = rejection(lambda: intake.shopify(*shopify_request(order_paid)))
    assert error.reason is RejectReason.INVALID_PAYLOAD
    assert "more decimals than USD" in error.message


def test_a_stale_stripe_webhook_is_refused(intake: WebhookIntake) -> None:
    request = stripe_request(stripe_event("charge.refunded", CHARGE_REFUNDED),
                             timestamp=1_767_225_700 - 301)
    assert rejection(lambda: intake.stripe(*request)).reason is RejectReason.STALE_TIMESTAMP


def test_an_unhandled_stripe_event_type_is_refused(intake: WebhookIntake) -> None:
    request = stripe_request(stripe_event("customer.created", {"id": "cus_1",
                                                               "object": "customer"}))
    assert rejection(lambda: intake.stripe(*request)).reason is RejectReason.UNKNOWN_TOPIC


def test_a_stripe_object_of_the_wrong_shape_is_invalid(intake: WebhookIntake) -> None:
    broken = dict(DISPUTE, amount="a lot")
    request = stripe_request(stripe_event("charge.dispute.created", broken))
    assert rejection(lambda: intake.stripe(*request)).reason is RejectReason.INVALID_PAYLOAD


def test_without_a_configured_secret_every_webhook_is_refused(
    order_paid: dict[str, Any],
) -> None:
    closed = WebhookIntake(shopify_secrets=None, stripe_secrets=None, redactor=REDACTOR)
    assert rejection(lambda: closed.shopify(*shopify_request(order_paid))).reason is (
        RejectReason.BAD_SIGNATURE)


def test_content_length_is_checked_before_reading_the_body() -> None:
    check_content_length("1024")
    check_content_length(None)
    assert rejection(lambda: check_content_length(str(256 * 1024 + 1))).reason is (
        RejectReason.TOO_LARGE)
    assert rejection(lambda: check_content_length("lots")).reason is RejectReason.MALFORMED
