"""Webhook signature checks (Shopify, Stripe) and the signing helpers tests and benchmarks use.

Both checks run on the raw request bytes before any parsing and compare in
constant time (`hmac.compare_digest`). Each accepts several secrets, so a
secret can be rotated without dropping webhooks signed with the old one.

Example:
    >>> body = b'{"id": 1}'
    >>> verify_shopify(body, shopify_signature(body, "s3cret"), "s3cret")
    >>> header = stripe_signature_header(body, "whsec_x", timestamp=1_700_000_000)
    >>> verify_stripe(body, header, "whsec_x", now=1_700_000_100)
    1700000000
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable

from ds1ray.live.clock import SYSTEM_CLOCK, Clock
from ds1ray.live.rejections import RejectReason, WebhookRejected

Secrets = str | bytes | Iterable[str | bytes]

STRIPE_TOLERANCE_SECONDS = 300


def _secret_list(secrets: Secrets) -> list[bytes]:
    items = [secrets] if isinstance(secrets, str | bytes) else list(secrets)
    keys = [item.encode() if isinstance(item, str) else item for item in items]
    if not keys or any(not key for key in keys):
        # An empty key would make every forged signature computable: refuse to run.
        raise ValueError("a webhook secret is empty; set it before accepting webhooks")
    return keys


# ----------------------------------------------------------------------------- Shopify


def shopify_signature(body: bytes, secret: str | bytes) -> str:
    """base64(HMAC-SHA256(secret, body)): the `X-Shopify-Hmac-Sha256` value."""
    key = _secret_list(secret)[0]
    return base64.b64encode(hmac.new(key, body, hashlib.sha256).digest()).decode("ascii")


def verify_shopify(body: bytes, header: str | None, secrets: Secrets) -> None:
    """Raise `WebhookRejected(bad_signature)` unless `header` signs `body` with one of `secrets`."""
    keys = _secret_list(secrets)
    if not header:
        raise WebhookRejected(RejectReason.BAD_SIGNATURE, "X-Shopify-Hmac-Sha256 is missing")
    try:
        given = base64.b64decode(header.strip(), validate=True)
    except (ValueError, TypeError):
        raise WebhookRejected(
            RejectReason.BAD_SIGNATURE, "X-Shopify-Hmac-Sha256 is not base64"
        ) from None
    matches = [
        hmac.compare_digest(hmac.new(key, body, hashlib.sha256).digest(), given) for key in keys
    ]
    if not any(matches):
        raise WebhookRejected(
            RejectReason.BAD_SIGNATURE, "X-Shopify-Hmac-Sha256 does not match the body"
        )


def shopify_webhook_headers(
    body: bytes,
    secret: str | bytes,
    *,
    topic: str,
    event_id: str,
    webhook_id: str | None = None,
    shop_domain: str = "ds1-test.myshopify.com",
    api_version: str = "2026-01",
    triggered_at: str = "2026-01-01T00:00:00.000Z",
) -> dict[str, str]:
    """The headers Shopify sends with a webhook, signed for `body`."""
    return {
        "Content-Type": "application/json",
        "X-Shopify-Topic": topic,
        "X-Shopify-Hmac-Sha256": shopify_signature(body, secret),
        "X-Shopify-Shop-Domain": shop_domain,
        "X-Shopify-API-Version": api_version,
        "X-Shopify-Webhook-Id": webhook_id or f"wh-{event_id}",
        "X-Shopify-Event-Id": event_id,
        "X-Shopify-Triggered-At": triggered_at,
    }


# ----------------------------------------------------------------------------- Stripe


def _stripe_digest(key: bytes, timestamp: str, body: bytes) -> str:
    return hmac.new(key, timestamp.encode("ascii") + b"." + body, hashlib.sha256).hexdigest()


def parse_stripe_header(header: str) -> tuple[str, list[str]]:
    """Split `t=…,v1=…[,v1=…]` into the timestamp text and the v1 signatures.

    Other schemes (v0, future ones) are ignored, as Stripe's libraries do.
    """
    timestamp = ""
    signatures: list[str] = []
    for item in header.split(","):
        key, sep, value = item.strip().partition("=")
        if not sep:
            continue
        if key == "t":
            timestamp = value
        elif key == "v1":
            signatures.append(value)
    return timestamp, signatures


def verify_stripe(
    body: bytes,
    header: str | None,
    secrets: Secrets,
    *,
    tolerance: float = STRIPE_TOLERANCE_SECONDS,
    clock: Clock = SYSTEM_CLOCK,
    now: float | None = None,
) -> int:
    """Check a `Stripe-Signature` header; return its timestamp (unix seconds).

    Raises `WebhookRejected` with `bad_signature` when the header is missing,
    malformed or no v1 signature matches, and `stale_timestamp` when a correctly
    signed request is more than `tolerance` seconds from now (`now`, else
    `clock.time()`; either way: a
    timestamp far in the future is as suspicious as an old one). A replay inside
    the window verifies; the caller deduplicates on the event id.
    """
    keys = _secret_list(secrets)
    if not header:
        raise WebhookRejected(RejectReason.BAD_SIGNATURE, "Stripe-Signature is missing")
    timestamp, signatures = parse_stripe_header(header)
    if not timestamp.isdigit() or not signatures:
        raise WebhookRejected(
            RejectReason.BAD_SIGNATURE, "Stripe-Signature lacks t= or v1= (expected t=…,v1=…)"
        )
    expected = [_stripe_digest(key, timestamp, body) for key in keys]
    # Compare against every candidate without stopping early: constant time in the match.
    matched = False
    for candidate in signatures:
        for digest in expected:
            matched |= hmac.compare_digest(digest, candidate)
    if not matched:
        raise WebhookRejected(RejectReason.BAD_SIGNATURE, "no v1 signature matches the body")
    signed_at = int(timestamp)
    current = clock.time() if now is None else now
    if abs(current - signed_at) > tolerance:
        raise WebhookRejected(
            RejectReason.STALE_TIMESTAMP,
            f"signed {current - signed_at:.0f} s from now, outside the {tolerance:.0f} s tolerance",
        )
    return signed_at


def stripe_signature_header(body: bytes, secret: str | bytes, *, timestamp: int) -> str:
    """A valid `Stripe-Signature` header for `body` signed at `timestamp`."""
    key = _secret_list(secret)[0]
    return f"t={timestamp},v1={_stripe_digest(key, str(timestamp), body)}"
