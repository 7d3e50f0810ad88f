"""From a raw webhook request to a DS1 event: limit, verify, parse, validate, redact.

`WebhookIntake` is what the HTTP app calls with the raw body and headers. It
returns a `Ds1Event` ready to be recorded (the app commits it, then answers
2xx), or raises `WebhookRejected` (answer its `status_code`, count its
`reason`, store nothing). Checks run cheapest and safest first: size, then the
signature on the raw bytes, then the topic, then JSON, then the payload model.

The event carries only what the business needs, redacted: order and line-item
ids, amounts in integer cents, the customer as a keyed e-mail hash, the
destination's city/province/country. Its `event_id` is derived from the
platform's de-duplication key, so a redelivered webhook gets the same event id
and the store's unique constraint keeps one copy.

Example:
    >>> import json
    >>> from ds1ray.live.signatures import shopify_webhook_headers
    >>> intake = WebhookIntake(shopify_secrets="s", stripe_secrets="w", redactor=Redactor("k"))
    >>> body = json.dumps({"id": 1, "admin_graphql_api_id": "gid://shopify/Order/1",
    ...     "name": "#1001", "created_at": "2026-01-05T10:00:00Z", "total_price": "59.99",
    ...     "currency": "USD", "line_items": []}).encode()
    >>> event = intake.shopify(body, shopify_webhook_headers(body, "s", topic="orders/paid",
    ...                                                      event_id="e-1"))
    >>> event.type, event.payload["amount_cents"]
    ('ORDER_PAID', 5999)
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from ds1ray.live.clock import SYSTEM_CLOCK, Clock
from ds1ray.live.payloads import (
    ShopifyOrder,
    ShopifyRefund,
    StripeCharge,
    StripeDispute,
    StripeEvent,
    StripePaymentIntent,
    minor_units,
)
from ds1ray.live.redaction import Redactor
from ds1ray.live.rejections import RejectReason, WebhookRejected
from ds1ray.live.signatures import STRIPE_TOLERANCE_SECONDS, Secrets, verify_shopify, verify_stripe

MAX_BODY_BYTES = 256 * 1024
# Fixed namespace so the same de-duplication key gives the same event id in every process.
EVENT_ID_NAMESPACE = uuid.UUID("5d1a7f3e-8c2b-4e0a-9f6d-3b7c1e2a4d90")

ORDER_PAID = "ORDER_PAID"
ORDER_REFUNDED = "ORDER_REFUNDED"
ORDER_CANCELLED = "ORDER_CANCELLED"
PAYMENT_SUCCEEDED = "PAYMENT_SUCCEEDED"
PAYMENT_REFUNDED = "PAYMENT_REFUNDED"
CHARGEBACK_OPENED = "CHARGEBACK_OPENED"

SHOPIFY_SOURCE = "shopify_webhook"
STRIPE_SOURCE = "stripe_webhook"

M = TypeVar("M", bound=BaseModel)


class Ds1Event(BaseModel):
    """One inbound event for the bus and the store; `model_dump()` is the DS1 event dict."""

    model_config = ConfigDict(frozen=True)

    event_id: str
    type: str
    source: str
    correlation_id: str
    dedupe_key: str
    occurred_at: datetime
    payload: dict[str, Any]

    def store_fields(self) -> dict[str, Any]:
        """The fields of the store's event log row (`ds1ray.store.events.Event(**fields)`):
        the de-duplication key and the platform's own timestamp inside the payload."""
        return {
            "event_id": self.event_id,
            "type": self.type,
            "source": self.source,
            "correlation_id": self.correlation_id,
            "payload": {
                **self.payload,
                "dedupe_key": self.dedupe_key,
                "occurred_at": self.occurred_at.isoformat(),
            },
        }


def event_id_for(dedupe_key: str) -> str:
    """The event id of a de-duplication key: a UUID5, stable across processes and redeliveries."""
    return str(uuid.uuid5(EVENT_ID_NAMESPACE, dedupe_key))


def check_content_length(value: str | None, max_bytes: int = MAX_BODY_BYTES) -> None:
    """Refuse a request by its `Content-Length` before reading the body."""
    if value is None:
        return
    try:
        length = int(value)
    except ValueError:
        raise WebhookRejected(RejectReason.MALFORMED, "Content-Length is not a number") from None
    if length > max_bytes:
        raise WebhookRejected(
            RejectReason.TOO_LARGE, f"body of {length} bytes exceeds {max_bytes} bytes"
        )


def _lower_keys(headers: Mapping[str, str]) -> dict[str, str]:
    return {key.lower(): value for key, value in headers.items()}


def _parse_json(body: bytes) -> dict[str, Any]:
    def refuse_constant(name: str) -> None:
        raise ValueError(f"{name} is not JSON")

    try:
        document = json.loads(body, parse_constant=refuse_constant)
    except (ValueError, UnicodeDecodeError) as exc:
        # The position helps a sender find the fault; the body itself is never echoed.
        raise WebhookRejected(
            RejectReason.MALFORMED, f"body is not valid JSON ({type(exc).__name__})"
        ) from None
    if not isinstance(document, dict):
        raise WebhookRejected(RejectReason.MALFORMED, "body is JSON but not an object")
    return document


def _validate(model: type[M], document: Any, what: str) -> M:
    try:
        return model.model_validate(document)
    except ValidationError as exc:
        # Locations and messages only: the inputs may be personal data.
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or '(root)'}: {error['msg']}"
            for error in exc.errors(include_input=False, include_url=False)[:5]
        )
        raise WebhookRejected(RejectReason.INVALID_PAYLOAD, f"{what}: {problems}") from None


def _cents(amount: Any, currency: str, what: str) -> int:
    try:
        return minor_units(amount, currency)
    except ValueError as exc:
        raise WebhookRejected(RejectReason.INVALID_PAYLOAD, f"{what}: {exc}") from None


# ----------------------------------------------------------------------------- Shopify


def _shopify_order_paid(order: ShopifyOrder) -> dict[str, Any]:
    currency = order.currency.upper()
    destination = order.shipping_address
    email = order.email or (order.customer.email if order.customer else None)
    return {
        "order_id": order.id,
        "order_gid": order.admin_graphql_api_id,
        "order_name": order.name,
        "created_at": order.created_at.isoformat(),
        "currency": currency,
        "amount_cents": _cents(order.total_price, currency, "total_price"),
        "subtotal_cents": _optional_cents(order.subtotal_price, currency, "subtotal_price"),
        "tax_cents": _optional_cents(order.total_tax, currency, "total_tax"),
        "discount_cents": _optional_cents(order.total_discounts, currency, "total_discounts"),
        "financial_status": order.financial_status,
        "line_items": [
            {
                "line_item_id": item.id,
                "product_id": item.product_id,
                "variant_id": item.variant_id,
                "title": item.title,
                "sku": item.sku,
                "quantity": item.quantity,
                "price_cents": _cents(item.price, currency, f"line_items[{index}].price"),
            }
            for index, item in enumerate(order.line_items)
        ],
        "customer_id": order.customer.id if order.customer else None,
        "customer_email": email,  # replaced by its keyed hash before the event leaves
        "destination": {
            "city": destination.city if destination else None,
            "province_code": destination.province_code if destination else None,
            "country_code": destination.country_code if destination else None,
        },
    }


def _optional_cents(amount: Any, currency: str, what: str) -> int | None:
    return None if amount is None else _cents(amount, currency, what)


def _shopify_order_cancelled(order: ShopifyOrder) -> dict[str, Any]:
    currency = order.currency.upper()
    return {
        "order_id": order.id,
        "order_gid": order.admin_graphql_api_id,
        "order_name": order.name,
        "cancelled_at": order.cancelled_at.isoformat() if order.cancelled_at else None,
        "cancel_reason": order.cancel_reason,
        "currency": currency,
        "amount_cents": _cents(order.total_price, currency, "total_price"),
        "financial_status": order.financial_status,
        "line_items": [
            {"line_item_id": item.id, "variant_id": item.variant_id, "quantity": item.quantity}
            for item in order.line_items
        ],
    }


def _shopify_refund(refund: ShopifyRefund) -> dict[str, Any]:
    amount, currency = refund.refunded_amount()
    currency_code = (currency or "USD").upper()
    return {
        "refund_id": refund.id,
        "order_id": refund.order_id,
        "created_at": refund.created_at.isoformat(),
        "currency": currency,
        "amount_cents": _cents(amount, currency_code, "transactions.amount"),
        "restock": refund.restock,
        "note": refund.note,
        "line_items": [
            {"line_item_id": item.line_item_id, "quantity": item.quantity}
            for item in refund.refund_line_items
        ],
    }


# What each topic or event type becomes: the DS1 event type, the payload model, the builder.
Handler = tuple[str, type[BaseModel], Callable[[Any], dict[str, Any]]]

SHOPIFY_TOPICS: dict[str, Handler] = {
    "orders/paid": (ORDER_PAID, ShopifyOrder, _shopify_order_paid),
    "orders/cancelled": (ORDER_CANCELLED, ShopifyOrder, _shopify_order_cancelled),
    "refunds/create": (ORDER_REFUNDED, ShopifyRefund, _shopify_refund),
}


# ----------------------------------------------------------------------------- Stripe


def _stripe_dispute(dispute: StripeDispute) -> dict[str, Any]:
    return {
        "dispute_id": dispute.id,
        "charge_id": dispute.charge,
        "payment_intent_id": dispute.payment_intent,
        "amount_cents": dispute.amount,
        "currency": dispute.currency.upper(),
        "reason": dispute.reason,
        "status": dispute.status,
    }


def _stripe_charge_refunded(charge: StripeCharge) -> dict[str, Any]:
    return {
        "charge_id": charge.id,
        "payment_intent_id": charge.payment_intent,
        "amount_cents": charge.amount,
        "refunded_cents": charge.amount_refunded,
        "fully_refunded": charge.refunded,
        "currency": charge.currency.upper(),
        "order_id": charge.metadata.get("order_id"),
    }


def _stripe_payment_succeeded(intent: StripePaymentIntent) -> dict[str, Any]:
    return {
        "payment_intent_id": intent.id,
        "amount_cents": intent.amount,
        "received_cents": intent.amount_received,
        "currency": intent.currency.upper(),
        "status": intent.status,
        "order_id": intent.metadata.get("order_id"),
    }


STRIPE_TYPES: dict[str, Handler] = {
    "charge.dispute.created": (CHARGEBACK_OPENED, StripeDispute, _stripe_dispute),
    "charge.refunded": (PAYMENT_REFUNDED, StripeCharge, _stripe_charge_refunded),
    "payment_intent.succeeded": (PAYMENT_SUCCEEDED, StripePaymentIntent, _stripe_payment_succeeded),
}


# ----------------------------------------------------------------------------- intake


class WebhookIntake:
    """Turns raw webhook requests into redacted `Ds1Event`s, or raises `WebhookRejected`.

    Args:
        shopify_secrets: the app's client secret(s); None refuses every Shopify webhook.
        stripe_secrets: the endpoint secret(s) (`whsec_…`); None refuses every Stripe webhook.
        redactor: scrubs personal data from the event payload.
        clock: read for Stripe's timestamp tolerance.
        max_body_bytes: larger bodies are refused as `too_large`.
        stripe_tolerance: seconds a Stripe signature stays valid.
    """

    def __init__(
        self,
        *,
        shopify_secrets: Secrets | None,
        stripe_secrets: Secrets | None,
        redactor: Redactor,
        clock: Clock = SYSTEM_CLOCK,
        max_body_bytes: int = MAX_BODY_BYTES,
        stripe_tolerance: float = STRIPE_TOLERANCE_SECONDS,
    ) -> None:
        self._shopify_secrets = shopify_secrets
        self._stripe_secrets = stripe_secrets
        self._redactor = redactor
        self._clock = clock
        self.max_body_bytes = max_body_bytes
        self._stripe_tolerance = stripe_tolerance

    def _check_size(self, body: bytes) -> None:
        if len(body) > self.max_body_bytes:
            raise WebhookRejected(
                RejectReason.TOO_LARGE,
                f"body of {len(body)} bytes exceeds {self.max_body_bytes} bytes",
            )

    def shopify(self, body: bytes, headers: Mapping[str, str]) -> Ds1Event:
        """A Shopify webhook (`POST /webhooks/shopify`) as a DS1 event."""
        self._check_size(body)
        if self._shopify_secrets is None:
            raise WebhookRejected(RejectReason.BAD_SIGNATURE, "no Shopify secret is configured")
        lowered = _lower_keys(headers)
        verify_shopify(body, lowered.get("x-shopify-hmac-sha256"), self._shopify_secrets)
        topic = lowered.get("x-shopify-topic", "")
        if topic not in SHOPIFY_TOPICS:
            raise WebhookRejected(
                RejectReason.UNKNOWN_TOPIC,
                f"X-Shopify-Topic {topic!r} is not one of {', '.join(sorted(SHOPIFY_TOPICS))}",
            )
        delivery = lowered.get("x-shopify-event-id") or lowered.get("x-shopify-webhook-id")
        if not delivery:
            raise WebhookRejected(
                RejectReason.MALFORMED, "X-Shopify-Event-Id and X-Shopify-Webhook-Id are missing"
            )
        event_type, model, build = SHOPIFY_TOPICS[topic]
        resource = _validate(model, _parse_json(body), topic)
        payload = build(resource)
        order_id = payload["order_id"]
        occurred = getattr(resource, "created_at", None)
        if topic == "orders/cancelled":
            occurred = getattr(resource, "cancelled_at", None) or occurred
        # The topic is part of the key: one Shopify event can reach several subscriptions.
        return self._event(
            event_type, SHOPIFY_SOURCE, f"shopify:{topic}:{delivery}",
            f"shopify:order:{order_id}", occurred, payload,
        )

    def stripe(self, body: bytes, headers: Mapping[str, str]) -> Ds1Event:
        """A Stripe webhook (`POST /webhooks/stripe`) as a DS1 event."""
        self._check_size(body)
        if self._stripe_secrets is None:
            raise WebhookRejected(RejectReason.BAD_SIGNATURE, "no Stripe secret is configured")
        lowered = _lower_keys(headers)
        verify_stripe(
            body, lowered.get("stripe-signature"), self._stripe_secrets,
            tolerance=self._stripe_tolerance, clock=self._clock,
        )
        envelope = _validate(StripeEvent, _parse_json(body), "event")
        if envelope.type not in STRIPE_TYPES:
            raise WebhookRejected(
                RejectReason.UNKNOWN_TOPIC,
                f"Stripe event type {envelope.type!r} is not one of "
                f"{', '.join(sorted(STRIPE_TYPES))}",
            )
        event_type, model, build = STRIPE_TYPES[envelope.type]
        payload = build(_validate(model, envelope.data.object, f"{envelope.type} data.object"))
        payload["stripe_event_id"] = envelope.id
        payload["livemode"] = envelope.livemode
        correlation = payload.get("payment_intent_id") or payload.get("charge_id")
        return self._event(
            event_type, STRIPE_SOURCE, f"stripe:{envelope.id}",
            f"stripe:payment:{correlation}", datetime.fromtimestamp(envelope.created, UTC),
            payload,
        )

    def _event(
        self,
        event_type: str,
        source: str,
        dedupe_key: str,
        correlation_id: str,
        occurred_at: datetime | None,
        payload: dict[str, Any],
    ) -> Ds1Event:
        when = occurred_at or datetime.fromtimestamp(self._clock.time(), UTC)
        redacted = self._redactor.redact_payload(payload)
        if isinstance(redacted.get("customer_email"), str):
            # An integer handle on the customer for the columnar bus (OrderPaid.customer_ref).
            redacted["customer_ref"] = int(redacted["customer_email"].removeprefix("email:")[:15],
                                           16)
        return Ds1Event(
            event_id=event_id_for(dedupe_key),
            type=event_type,
            source=source,
            correlation_id=correlation_id,
            dedupe_key=dedupe_key,
            occurred_at=when,
            payload=redacted,
        )
