"""Support e-mail → TICKET_CREATED: deduplicated by Message-ID, nothing personal kept."""

from __future__ import annotations

from ds1ray.adapters.live.imap_mailbox import InboundEmail
from ds1ray.live.email_intake import TICKET_CREATED, message_id_hash, ticket_event
from ds1ray.live.redaction import Redactor

from .test_redaction import survivors

REDACTOR = Redactor(b"test-pii-key")


def inbound(uid: int = 7, message_id: str = "<CAF.ada.lovelace@example.com>") -> InboundEmail:
    return InboundEmail(
        uid=uid, uidvalidity=1_767_225_600, message_id=message_id,
        sender="Ada Lovelace <ada.lovelace@example.com>",
        subject="Order #1001 arrived broken",
        body="Hi, this is Ada Lovelace. The cat tree arrived broken. Call me on "
             "+44 20 7946 0958 or write to ada.lovelace@example.com. Ada",
        in_reply_to=None, date="2026-01-05T10:14:22-05:00",
    )


def test_a_support_mail_becomes_a_redacted_ticket_event() -> None:
    event = ticket_event(inbound(), REDACTOR)
    assert (event.type, event.source) == (TICKET_CREATED, "email_ingress")
    assert event.correlation_id == "shopify:order-name:#1001"
    assert event.payload["order_name"] == "#1001"
    assert event.payload["customer_email"] == REDACTOR.email_token("ada.lovelace@example.com")
    assert event.payload["body"] == (
        "Hi, this is [NAME]. The cat tree arrived broken. Call me on [PHONE] or write to "
        f"{REDACTOR.email_token('ada.lovelace@example.com')}. [NAME]")
    assert "customer_name" not in event.payload
    assert survivors(event.model_dump(mode="json")) == []
    assert "lovelace" not in event.model_dump_json().lower()


def test_the_same_message_fetched_twice_is_one_event() -> None:
    first = ticket_event(inbound(uid=7), REDACTOR)
    again = ticket_event(inbound(uid=8), REDACTOR)  # re-delivered under a new UID
    assert first.event_id == again.event_id
    assert first.dedupe_key == "email:" + message_id_hash("<CAF.ada.lovelace@example.com>")


def test_without_a_message_id_the_uid_identifies_the_mail() -> None:
    event = ticket_event(inbound(message_id=""), REDACTOR)
    assert event.dedupe_key == "imap:1767225600:7"
    assert event.payload["uid"] == 7
