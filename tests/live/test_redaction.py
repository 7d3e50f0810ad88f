"""PII redaction: nothing personal survives in payloads or log records; business data does."""

from __future__ import annotations

import copy
import json
import logging
import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ds1ray.live.redaction import RedactingFilter, Redactor, iban_valid, luhn_valid

from .conftest import CHARGE_REFUNDED, DISPUTE, PAYMENT_INTENT, PERSONAL_VALUES

REDACTOR = Redactor(b"test-pii-key")


def survivors(document: Any) -> list[str]:
    """The personal values still present in a document (whole words, any case)."""
    text = json.dumps(document)
    return [
        value for value in PERSONAL_VALUES
        if re.search(rf"(?<![A-Za-z0-9]){re.escape(json.dumps(value)[1:-1])}(?![A-Za-z0-9])",
                     text, re.IGNORECASE)
    ]


def test_the_fixture_really_holds_every_personal_value(order_paid: dict[str, Any]) -> None:
    # Guards the test below: it would pass vacuously if the fixture held no PII.
    everything = [order_paid, DISPUTE, CHARGE_REFUNDED, PAYMENT_INTENT]
    assert set(survivors(everything)) == set(PERSONAL_VALUES)


def test_nothing_personal_survives_in_a_shopify_orders_paid_payload(
    order_paid: dict[str, Any],
) -> None:
    assert survivors(REDACTOR.redact_payload(order_paid)) == []


@pytest.mark.parametrize("payload", [DISPUTE, CHARGE_REFUNDED, PAYMENT_INTENT],
                         ids=["dispute", "charge", "payment_intent"])
def test_nothing_personal_survives_in_stripe_objects(payload: dict[str, Any]) -> None:
    assert survivors(REDACTOR.redact_payload(payload)) == []


def test_business_fields_survive_redaction(order_paid: dict[str, Any]) -> None:
    redacted = REDACTOR.redact_payload(order_paid)
    assert redacted["id"] == order_paid["id"]
    assert redacted["admin_graphql_api_id"] == "gid://shopify/Order/820982911946154508"
    assert redacted["name"] == "#1001"
    assert (redacted["total_price"], redacted["currency"]) == ("59.99", "USD")
    assert redacted["created_at"] == "2026-01-05T10:14:22-05:00"
    assert [item["title"] for item in redacted["line_items"]] == [
        "Cat Tree Deluxe", "Rose Gold Cat Collar"]
    assert [item["price"] for item in redacted["line_items"]] == ["49.99", "5.00"]
    assert redacted["shipping_address"]["city"] == "Cupertino"
    assert redacted["shipping_address"]["country_code"] == "US"
    assert redacted["customer"]["id"] == 115310627314723954
    assert redacted["shipping_address"]["first_name"] == "[NAME]"
    assert redacted["shipping_address"]["address1"] == "[ADDRESS]"
    assert "latitude" not in redacted["billing_address"]


def test_names_in_free_text_are_replaced_where_they_are_mentioned(
    order_paid: dict[str, Any],
) -> None:
    redacted = REDACTOR.redact_payload(order_paid)
    assert redacted["note"] == "Please leave with [NAME] next door, or call [PHONE]."
    assert redacted["note_attributes"][0]["value"] == "For [NAME], love from [NAME]"
    assert redacted["line_items"][0]["properties"][0]["value"] == "[NAME]'s cat"


def test_the_same_email_in_any_case_gets_the_same_token_and_links_the_customer(
    order_paid: dict[str, Any],
) -> None:
    redacted = REDACTOR.redact_payload(order_paid)
    tokens = {redacted["email"], redacted["contact_email"], redacted["customer"]["email"]}
    assert len(tokens) == 1
    token = tokens.pop()
    assert token == REDACTOR.email_token(" ADA.LOVELACE@example.com ")
    assert token.startswith("email:") and "@" not in token


def test_email_tokens_depend_on_the_key() -> None:
    other = Redactor(b"another-key")
    assert other.email_token("a@b.example") != REDACTOR.email_token("a@b.example")


def test_redaction_does_not_modify_its_input(order_paid: dict[str, Any]) -> None:
    before = copy.deepcopy(order_paid)
    REDACTOR.redact_payload(order_paid)
    assert order_paid == before


@pytest.mark.parametrize("text, expected", [
    ("card 4242 4242 4242 4242 used", "card [CARD] used"),
    ("card 4242-4242-4242-4242", "card [CARD]"),
    ("iban GB82 WEST 1234 5698 7654 32 please", "iban [BANK] please"),
    ("account number: 12345678 at the bank", "account number: [BANK] at the bank"),
    ("call +1 (555) 010-0199 today", "call [PHONE] today"),
    ("ring 07946 095899", "ring [PHONE]"),
    ("or +442079460958", "or [PHONE]"),
    ("ship to 221B Baker Street, London", "ship to [ADDRESS], London"),
    ("mail bob@example.org now", f"mail {REDACTOR.email_token('bob@example.org')} now"),
    ("on 2026-01-05 call 555-010-0199", "on 2026-01-05 call [PHONE]"),
    ("paid 59.99 555-010-0199", "paid 59.99 [PHONE]"),
    ("+44 20 7946 0958 59.99", "[PHONE] 59.99"),
    ("Dear Mrs Babbage, thanks", "Dear [NAME], thanks"),
    ("Customer Ada Lovelace called", "Customer [NAME] called"),
    ("my name is Grace Hopper.", "my name is [NAME]."),
])
def test_patterns_in_free_text_are_redacted(text: str, expected: str) -> None:
    assert REDACTOR.redact_text(text) == expected


@pytest.mark.parametrize("text", [
    "order #1001 total 59.99 USD on 2026-01-05",
    "gid://shopify/Order/820982911946154508",
    "tracking 1234567812345678 (not a Luhn-valid card)",
    "12345.67 refunded",
    "paid at 2026-01-05T10:14:22-05:00",
])
def test_business_text_is_left_alone(text: str) -> None:
    assert REDACTOR.redact_text(text) == text


def test_checksums_tell_card_and_bank_numbers_from_other_digits() -> None:
    assert luhn_valid("4242424242424242")
    assert not luhn_valid("4242424242424241")
    assert iban_valid("GB82 WEST 1234 5698 7654 32")
    assert not iban_valid("GB83 WEST 1234 5698 7654 32")


def test_logging_filter_redacts_messages_arguments_and_tracebacks(
    caplog: pytest.LogCaptureFixture,
) -> None:
    logger = logging.getLogger("ds1ray.test.redaction")
    caplog.handler.addFilter(RedactingFilter(REDACTOR))
    try:
        logger.warning("order from %s (%s)", "ada.lovelace@example.com", "+44 20 7946 0958")
        try:
            raise ValueError("card 4242 4242 4242 4242 declined")
        except ValueError:
            logger.exception("payment failed for ada.lovelace@example.com")
    finally:
        caplog.handler.filters.clear()
    text = caplog.text
    assert "ada.lovelace@example.com" not in text
    assert "+44 20 7946 0958" not in text and "4242 4242" not in text
    assert REDACTOR.email_token("ada.lovelace@example.com") in text
    assert "[CARD] declined" in text


def test_an_empty_key_is_refused() -> None:
    with pytest.raises(ValueError, match="redaction key is empty"):
        Redactor(b"")


WORDS = st.sampled_from(["order", "refund", "please", "the", "parcel", "#1001", "59.99",
                         "2026-01-05", "Cat Tree", "thanks", "late", "SKU-LAMP"])
LOCAL = st.from_regex(r"[a-z][a-z0-9._]{0,12}[a-z0-9]", fullmatch=True)
DOMAIN = st.from_regex(r"[a-z][a-z0-9\-]{1,10}\.(com|org|co\.uk|example)", fullmatch=True)
PHONES = st.sampled_from(["+44 20 7946 {:04d}", "+1 (555) 010-{:04d}", "555-010-{:04d}",
                          "+4420794{:04d}", "07946 09{:04d}"])


@given(before=st.lists(WORDS, max_size=5), after=st.lists(WORDS, max_size=5),
       local=LOCAL, domain=DOMAIN, phone=PHONES, last4=st.integers(0, 9999))
def test_emails_and_phones_anywhere_in_text_never_survive(
    before: list[str], after: list[str], local: str, domain: str, phone: str, last4: int
) -> None:
    email_address = f"{local}@{domain}"
    number = phone.format(last4)
    text = " ".join([*before, email_address, "or", number, *after])
    redacted = REDACTOR.redact_text(text)
    assert email_address not in redacted
    assert re.sub(r"\D", "", number) not in re.sub(r"\D", "", redacted.replace(
        REDACTOR.email_token(email_address), ""))
    assert REDACTOR.email_token(email_address) in redacted
