"""Shopify and Stripe webhook signatures: valid ones pass, every kind of forgery fails."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from ds1ray.live.clock import ManualClock
from ds1ray.live.rejections import RejectReason, WebhookRejected
from ds1ray.live.signatures import (
    parse_stripe_header,
    shopify_signature,
    shopify_webhook_headers,
    stripe_signature_header,
    verify_shopify,
    verify_stripe,
)

BODY = b'{"id":820982911946154508,"total_price":"59.99"}'


def reason_of(call: object) -> RejectReason:
    assert callable(call)
    with pytest.raises(WebhookRejected) as raised:
        call()
    return raised.value.reason


def test_shopify_signature_is_base64_hmac_sha256_of_the_raw_body() -> None:
    expected = base64.b64encode(hmac.new(b"app-secret", BODY, hashlib.sha256).digest()).decode()
    assert shopify_signature(BODY, "app-secret") == expected
    verify_shopify(BODY, expected, "app-secret")


@pytest.mark.parametrize("header", [
    None, "", "not base64 !!", shopify_signature(BODY, "other-secret"),
    shopify_signature(BODY + b" ", "app-secret"),
])
def test_shopify_forgeries_are_bad_signatures(header: str | None) -> None:
    assert reason_of(lambda: verify_shopify(BODY, header, "app-secret")) is (
        RejectReason.BAD_SIGNATURE)


def test_shopify_accepts_either_secret_during_rotation() -> None:
    verify_shopify(BODY, shopify_signature(BODY, "old"), ["new", "old"])


def test_an_empty_secret_is_refused_rather_than_accepting_forgeries() -> None:
    with pytest.raises(ValueError, match="secret is empty"):
        verify_shopify(BODY, shopify_signature(BODY, "x"), "")


def test_shopify_webhook_headers_carry_topic_ids_and_a_valid_signature() -> None:
    headers = shopify_webhook_headers(BODY, "s", topic="orders/paid", event_id="e-1")
    verify_shopify(BODY, headers["X-Shopify-Hmac-Sha256"], "s")
    assert headers["X-Shopify-Topic"] == "orders/paid"
    assert headers["X-Shopify-Event-Id"] == "e-1"
    assert headers["X-Shopify-Webhook-Id"]


def test_stripe_signature_signs_timestamp_dot_body_in_hex() -> None:
    header = stripe_signature_header(BODY, "whsec_test", timestamp=1_767_225_600)
    expected = hmac.new(b"whsec_test", b"1767225600." + BODY, hashlib.sha256).hexdigest()
    assert header == f"t=1767225600,v1={expected}"
    assert verify_stripe(BODY, header, "whsec_test", now=1_767_225_600) == 1_767_225_600


def test_stripe_accepts_any_matching_v1_and_ignores_other_schemes() -> None:
    good = stripe_signature_header(BODY, "whsec_test", timestamp=100).split("v1=")[1]
    header = f"t=100,v0=abc,v1={'0' * 64},v1={good}"
    assert parse_stripe_header(header) == ("100", ["0" * 64, good])
    assert verify_stripe(BODY, header, "whsec_test", now=100) == 100


def test_stripe_tolerance_is_300_seconds_on_the_injected_clock() -> None:
    clock = ManualClock(wall_start=1_767_225_600.0)
    header = stripe_signature_header(BODY, "whsec_test", timestamp=int(clock.time()))
    clock.advance(300)
    verify_stripe(BODY, header, "whsec_test", clock=clock)  # a replay inside the window
    clock.advance(1)
    assert reason_of(lambda: verify_stripe(BODY, header, "whsec_test", clock=clock)) is (
        RejectReason.STALE_TIMESTAMP)


def test_stripe_timestamps_far_in_the_future_are_stale_too() -> None:
    header = stripe_signature_header(BODY, "whsec_test", timestamp=10_000)
    assert reason_of(lambda: verify_stripe(BODY, header, "whsec_test", now=9_000)) is (
        RejectReason.STALE_TIMESTAMP)


@pytest.mark.parametrize("header", [
    None, "", "garbage", "t=abc,v1=00", "t=100", "v1=00",
    stripe_signature_header(BODY, "whsec_other", timestamp=100),
    stripe_signature_header(BODY + b"x", "whsec_test", timestamp=100),
    # A valid signature moved to another timestamp: the timestamp is signed.
    stripe_signature_header(BODY, "whsec_test", timestamp=100).replace("t=100", "t=101"),
])
def test_stripe_forgeries_are_bad_signatures(header: str | None) -> None:
    assert reason_of(lambda: verify_stripe(BODY, header, "whsec_test", now=100)) is (
        RejectReason.BAD_SIGNATURE)


def test_a_stale_forgery_is_reported_as_bad_signature_not_stale() -> None:
    header = stripe_signature_header(BODY, "whsec_other", timestamp=100)
    assert reason_of(lambda: verify_stripe(BODY, header, "whsec_test", now=10_000)) is (
        RejectReason.BAD_SIGNATURE)
