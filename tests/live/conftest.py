"""Fixtures of the live-edge tests: realistic Shopify and Stripe webhook payloads.

The payloads follow the platforms' published examples (field names and
shapes), filled with made-up but realistic personal data, so the redaction
tests can check that none of it survives.
"""

from __future__ import annotations

import contextlib
import copy
import logging
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
import ray

from ds1ray.live.agent_host import NAMESPACE


@contextlib.contextmanager
def live_ray_cluster(environment: Mapping[str, str]) -> Iterator[None]:
    """A new local Ray cluster in the live namespace, with `environment` set while it runs.

    address="local": a new cluster, never another session's that ray.init() would join.
    """
    with pytest.MonkeyPatch.context() as patch:
        for name, value in environment.items():
            patch.setenv(name, value)
        ray.init(address="local", namespace=NAMESPACE, num_cpus=2, include_dashboard=False,
                 logging_level=logging.ERROR)
        try:
            yield
        finally:
            ray.shutdown()

# Every personal value in the payloads below; none may survive redaction.
PERSONAL_VALUES = [
    "Ada", "Lovelace", "ada.lovelace@example.com", "Ada.Lovelace@Example.com",
    "+44 20 7946 0958", "+442079460958", "12 St James's Square", "Flat 3", "SW1Y 4JH",
    "Charles Babbage", "Babbage", "charles@analytical.example", "+1 (555) 010-0199",
    "1 Infinite Loop", "95014", "203.0.113.42", "4242 4242 4242 4242",
    "GB82 WEST 1234 5698 7654 32", "51.5074", "-0.1278", "Analytical Engines Ltd",
    "07946 095899",
]


def shopify_address(first: str, last: str, line1: str, line2: str | None, city: str,
                    zip_code: str, country: str, phone: str) -> dict[str, Any]:
    return {
        "first_name": first, "last_name": last, "name": f"{first} {last}", "address1": line1,
        "address2": line2, "city": city, "zip": zip_code, "province": None,
        "province_code": None, "country": "United Kingdom" if country == "GB" else "United States",
        "country_code": country, "phone": phone, "company": "Analytical Engines Ltd",
        "latitude": 51.5074, "longitude": -0.1278,
    }


ORDER_PAID: dict[str, Any] = {
    "id": 820982911946154508,
    "admin_graphql_api_id": "gid://shopify/Order/820982911946154508",
    "app_id": None,
    "browser_ip": "203.0.113.42",
    "buyer_accepts_marketing": True,
    "cancel_reason": None,
    "cancelled_at": None,
    "cart_token": "c1-7a7f8e9b",
    "checkout_token": "ch-55aa",
    "client_details": {"accept_language": "en-GB", "browser_ip": "203.0.113.42",
                       "user_agent": "Mozilla/5.0"},
    "confirmation_number": "X7K2P9QZ1",
    "contact_email": "ada.lovelace@example.com",
    "created_at": "2026-01-05T10:14:22-05:00",
    "currency": "USD",
    "current_total_price": "59.99",
    "email": "Ada.Lovelace@Example.com",
    "financial_status": "paid",
    "fulfillment_status": None,
    "name": "#1001",
    "note": "Please leave with Charles Babbage next door, or call +1 (555) 010-0199.",
    "note_attributes": [{"name": "gift_message", "value": "For Ada, love from Charles"},
                        {"name": "alt_phone", "value": "07946 095899"},
                        {"name": "neighbour", "value": "charles@analytical.example"}],
    "order_number": 1001,
    "phone": "+44 20 7946 0958",
    "presentment_currency": "USD",
    "processed_at": "2026-01-05T10:14:21-05:00",
    "subtotal_price": "54.99",
    "tags": "",
    "total_discounts": "5.00",
    "total_price": "59.99",
    "total_tax": "4.50",
    "line_items": [
        {"id": 866550311766439020, "admin_graphql_api_id": "gid://shopify/LineItem/866550311766439020",
         "product_id": 632910392, "variant_id": 808950810, "title": "Cat Tree Deluxe",
         "variant_title": "Large / Grey", "name": "Cat Tree Deluxe - Large / Grey",
         "sku": "SKU-CAT-TREE", "vendor": "DS1", "quantity": 1, "price": "49.99",
         "price_set": {"shop_money": {"amount": "49.99", "currency_code": "USD"}},
         "requires_shipping": True, "taxable": True, "gift_card": False,
         "properties": [{"name": "Engraving", "value": "Ada's cat"}]},
        {"id": 141249953, "product_id": 921728736, "variant_id": 457924702,
         "title": "Rose Gold Cat Collar", "name": "Rose Gold Cat Collar", "sku": "SKU-COLLAR",
         "quantity": 2, "price": "5.00", "properties": []},
    ],
    "shipping_lines": [{"id": 271878346596884015, "title": "Standard", "price": "5.00",
                        "code": "Standard", "source": "shopify"}],
    "billing_address": shopify_address("Ada", "Lovelace", "12 St James's Square", "Flat 3",
                                       "London", "SW1Y 4JH", "GB", "+44 20 7946 0958"),
    "shipping_address": shopify_address("Charles", "Babbage", "1 Infinite Loop", None,
                                        "Cupertino", "95014", "US", "+1 (555) 010-0199"),
    "customer": {
        "id": 115310627314723954, "email": "ada.lovelace@example.com",
        "first_name": "Ada", "last_name": "Lovelace", "phone": "+442079460958",
        "state": "enabled", "verified_email": True, "currency": "USD",
        "note": "VIP. Paid once by card 4242 4242 4242 4242, refund to GB82 WEST 1234 5698 7654 32",
        "tags": "vip",
        "default_address": shopify_address("Ada", "Lovelace", "12 St James's Square", "Flat 3",
                                           "London", "SW1Y 4JH", "GB", "+44 20 7946 0958"),
        "created_at": "2025-11-01T09:00:00-05:00",
    },
}

REFUND_CREATE: dict[str, Any] = {
    "id": 929361465,
    "order_id": 820982911946154508,
    "created_at": "2026-01-07T12:00:00-05:00",
    "note": "Customer Ada Lovelace says it arrived broken; call +44 20 7946 0958",
    "restock": False,
    "user_id": 548380009,
    "processed_at": "2026-01-07T12:00:00-05:00",
    "refund_line_items": [{"id": 104689539, "line_item_id": 866550311766439020, "quantity": 1,
                           "restock_type": "no_restock", "subtotal": 49.99, "total_tax": 4.5}],
    "transactions": [
        {"id": 245135296, "order_id": 820982911946154508, "kind": "refund", "status": "success",
         "amount": "54.49", "currency": "USD", "gateway": "shopify_payments"},
        {"id": 245135297, "order_id": 820982911946154508, "kind": "refund", "status": "failure",
         "amount": "5.50", "currency": "USD", "gateway": "shopify_payments"},
    ],
}


def stripe_event(event_type: str, data_object: dict[str, Any],
                 event_id: str = "evt_1QxYz2ABCdefGHIjkl") -> dict[str, Any]:
    return {"id": event_id, "object": "event", "api_version": "2025-09-30.clover",
            "created": 1_767_225_600, "livemode": False, "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None}, "type": event_type,
            "data": {"object": data_object}}


DISPUTE = {
    "id": "dp_1QxYz2ABCdefGHIjkl", "object": "dispute", "amount": 5999, "currency": "usd",
    "charge": "ch_3QxYz2ABCdefGHIj0abc", "payment_intent": "pi_3QxYz2ABCdefGHIj0xyz",
    "reason": "fraudulent", "status": "needs_response", "created": 1_767_225_500,
    "evidence": {"customer_name": "Ada Lovelace", "customer_email_address":
                 "ada.lovelace@example.com", "billing_address": "12 St James's Square"},
}

CHARGE_REFUNDED = {
    "id": "ch_3QxYz2ABCdefGHIj0abc", "object": "charge", "amount": 5999,
    "amount_refunded": 5999, "currency": "usd", "payment_intent": "pi_3QxYz2ABCdefGHIj0xyz",
    "refunded": True, "metadata": {"order_id": "820982911946154508"},
    "receipt_email": "ada.lovelace@example.com",
    "billing_details": {"name": "Ada Lovelace", "email": "ada.lovelace@example.com",
                        "phone": "+44 20 7946 0958",
                        "address": {"line1": "12 St James's Square", "line2": "Flat 3",
                                    "city": "London", "postal_code": "SW1Y 4JH",
                                    "country": "GB", "state": None}},
    "payment_method_details": {"type": "card", "card": {"brand": "visa", "last4": "4242"}},
}

PAYMENT_INTENT = {
    "id": "pi_3QxYz2ABCdefGHIj0xyz", "object": "payment_intent", "amount": 5999,
    "amount_received": 5999, "currency": "usd", "status": "succeeded",
    "metadata": {"order_id": "820982911946154508"}, "receipt_email": "ada.lovelace@example.com",
    "shipping": {"name": "Charles Babbage", "phone": "+1 (555) 010-0199",
                 "address": {"line1": "1 Infinite Loop", "city": "Cupertino",
                             "postal_code": "95014", "country": "US"}},
}


@pytest.fixture
def order_paid() -> dict[str, Any]:
    return copy.deepcopy(ORDER_PAID)


@pytest.fixture
def refund_create() -> dict[str, Any]:
    return copy.deepcopy(REFUND_CREATE)
