"""From a support e-mail to a redacted TICKET_CREATED event.

The e-mail ingress (IMAP poller) turns each unseen message into one event. Its
`dedupe_key` is a hash of the message's `Message-ID` (the same mail fetched
twice, after a crash before `\\Seen` was stored, is one ticket), falling back to
`(UIDVALIDITY, UID)`; Message-IDs often hold the sender's address, so only
their hashes are kept. The sender's address becomes the keyed e-mail hash that
also links the customer's orders; the display name is used to scrub the body
and then dropped; an order number in the subject or body (`#1001`) becomes
the correlation id. A reply needs the real address: the replying adapter
reads it from the mailbox by `(uidvalidity, uid)`, which the payload keeps.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from email.utils import parseaddr

from ds1ray.adapters.live.imap_mailbox import InboundEmail
from ds1ray.live.clock import SYSTEM_CLOCK, Clock
from ds1ray.live.redaction import Redactor
from ds1ray.live.webhooks import Ds1Event, event_id_for

TICKET_CREATED = "TICKET_CREATED"
EMAIL_SOURCE = "email_ingress"
ORDER_NAME_RE = re.compile(r"#\d{3,10}\b")


def message_id_hash(message_id: str) -> str:
    return "msgid:" + hashlib.sha256(message_id.strip().encode()).hexdigest()[:32]


def ticket_event(message: InboundEmail, redactor: Redactor, *, clock: Clock = SYSTEM_CLOCK
                 ) -> Ds1Event:
    """The TICKET_CREATED event of one inbound support message, redacted."""
    display_name, address = parseaddr(message.sender)
    order = ORDER_NAME_RE.search(f"{message.subject}\n{message.body}")
    order_name = order.group(0) if order else None
    raw_payload = {
        "message_id": message_id_hash(message.message_id) if message.message_id else None,
        "uid": message.uid,
        "uidvalidity": message.uidvalidity,
        "in_reply_to_id": message_id_hash(message.in_reply_to) if message.in_reply_to else None,
        "customer_email": address or None,
        "customer_name": display_name or None,
        "subject": message.subject,
        "body": message.body,
        "order_name": order_name,
    }
    payload = redactor.redact_payload(raw_payload)
    payload.pop("customer_name", None)  # served its purpose: scrubbing the body
    dedupe_key = (f"email:{payload['message_id']}" if message.message_id
                  else f"imap:{message.uidvalidity}:{message.uid}")
    correlation = (f"shopify:order-name:{order_name}" if order_name
                   else f"email:{payload['customer_email']}")
    occurred = (datetime.fromisoformat(message.date) if message.date
                else datetime.fromtimestamp(clock.time(), UTC))
    return Ds1Event(
        event_id=event_id_for(dedupe_key), type=TICKET_CREATED, source=EMAIL_SOURCE,
        correlation_id=correlation, dedupe_key=dedupe_key, occurred_at=occurred,
        payload=payload,
    )
