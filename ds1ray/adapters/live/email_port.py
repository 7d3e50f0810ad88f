"""The live e-mail port over Zendesk: customers' tickets in, replies out.

Zendesk is the support inbox: customers' e-mails become tickets there (its
e-mail channel), and a public comment on a ticket is e-mailed to the customer.
So both directions go through the Zendesk client, and the IMAP/SMTP clients
are not needed while a helpdesk is in front of the mailbox.

In: `pending()` reads the cursor-based incremental ticket export from the
recorded cursor (`live_settings`, key `zendesk_ticket_cursor`; the first poll
starts at `options.start_time`, default: now) and turns each ticket it has not
seen into one TICKET_CREATED row, event id `zendesk-ticket:<Zendesk id>`. It
writes nothing: the advanced cursor and the new tickets' mappings come back as
the answer's checkpoint (`ds1ray.live.polled.Polled`), which the coordinator
commits with the events; `poll()` writes the checkpoint itself (for a caller
that records the rows on its own). Our ticket id is Zendesk's ticket id; the mapping
(kind `support_ticket`, slot = our id) records what the ticket is about, and a
ticket already mapped (seen before, or one we opened) is not announced again,
so a reply, which changes the ticket, or a re-read page does not repeat it.
What a ticket is about:
- the order: a `ds1_order_<order id>` tag (a Zendesk trigger or the shop
  integration sets it), else an order name (`#1001`) in the subject or text,
  looked up among the ORDER_PAID webhooks in the event log; the product slot
  and amount come from that order;
- the reason: a `ds1_reason_<reason>` tag, else words in the subject and text
  (broken → defect, late / still waiting → late, return → return, else question:
  "where is my order?" is a question, since a late ticket may be refunded);
- a ticket whose order is not found is a `question` with order and product -1:
  support answers it and refunds nothing (it cannot know what to refund).
`days_late` is 0: ops asks the carrier about late orders itself.

Out: `send()` adds the template's text as a public comment to the Zendesk
ticket of each of our ticket ids. Zendesk takes no idempotency key on
updates, so each reply also adds the tag `ds1_reply_<hash of its idempotency
key>` in the same update, and a reply whose tag the ticket already carries is
not sent again (a handler re-run after a crash). A ticket ops opened for a
failed order (id ≥ `OPS_TICKET_IDS`) has no Zendesk ticket yet: `send()`
creates it (keyed, tagged `ds1_outbound`, `ds1_order_<id>`) with the apology
as its text, for the support team and the customer's record; the shop's own
refund notice has already told the customer.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Mapping
from typing import Any

import httpx
import numpy as np

from ds1ray.adapters.live.ports import (
    NOT_TIERED,
    SHOP_PRODUCT,
    KeyedPort,
    PlatformId,
    PlatformIds,
    PortContext,
    slot_of,
)
from ds1ray.adapters.live.zendesk import Ticket, Zendesk
from ds1ray.adapters.ports import I64
from ds1ray.errors import UserError
from ds1ray.events.batch import EventBatch
from ds1ray.events.contracts import CUSTOMER_TICKET_REASONS, OPS_TICKET_IDS, TICKET_REASON_CODES
from ds1ray.live.email_intake import ORDER_NAME_RE
from ds1ray.live.polled import Polled
from ds1ray.store.store import Store
from ds1ray.store.transaction import Transaction

SUPPORT_TICKET = "support_ticket"
CURSOR_KEY = "zendesk_ticket_cursor"
ZENDESK = "zendesk"
OUTBOUND_TAG = "ds1_outbound"
ORDER_TAG = re.compile(r"^ds1_order_(\d+)$")
REASON_TAG = "ds1_reason_"
CLOSED = {"solved", "closed", "deleted"}

TEMPLATES = {
    "template_reply": "Hello, thank you for writing to us about {about}. We are looking into it and will "
                      "come back to you within one business day.",
    "ai_reply": "Hello, thank you for writing to us about {about}. We are sorry for the trouble; we are "
                "checking it with our team and will come back to you within one business day.",
    "supplier_failure_apology": "Hello, we are sorry: our supplier could not fulfil {about}. We have refunded "
                                "it in full; the refund reaches your card within 5 to 10 business days.",
}
"""Reply texts by template name; `options["template.<name>"]` replaces one. `{about}` is
"your order <id>" when the ticket's order is known, else "your message"."""

# Words that say what a customer writes about, checked in this order.
_REASON_WORDS = (
    ("defect", re.compile(r"\b(broken|damaged|defect\w*|faulty|not working|stopped working)\b", re.I)),
    # Only words of lateness: "where is my order?" is a question, and a late ticket may be refunded.
    ("late", re.compile(r"\b(late|still waiting|taking (far |much )?longer|never arrived)\b", re.I)),
    ("return", re.compile(r"\b(return\w*|send it back)\b", re.I)),
)


def reason_of(ticket: Ticket) -> str:
    """What a customer's ticket is about (a customer reason name)."""
    for tag in ticket.tags:
        if tag.startswith(REASON_TAG) and tag[len(REASON_TAG):] in CUSTOMER_TICKET_REASONS:
            return tag[len(REASON_TAG):]
    text = f"{ticket.subject}\n{ticket.description}"
    return next((reason for reason, words in _REASON_WORDS if words.search(text)), "question")


def ticket_event_id(ticket_id: int) -> str:
    """The TICKET_CREATED event id of a Zendesk ticket: one event per ticket, however often read."""
    return f"zendesk-ticket:{ticket_id}"


def reply_tag(key: str) -> str:
    """The tag a reply leaves on its ticket, naming it by its idempotency key."""
    return "ds1_reply_" + hashlib.sha256(key.encode()).hexdigest()[:16]


class LiveEmail(KeyedPort):
    """`EmailPort` over Zendesk (see the module docstring)."""

    def __init__(self, client: Zendesk, ids: PlatformIds, store: Store, *, start_time: int,
                 templates: Mapping[str, str] = TEMPLATES, page_size: int = 1000) -> None:
        super().__init__()
        self.client = client
        self.ids = ids
        self.store = store
        self.start_time = start_time
        self.templates = dict(templates)
        self.page_size = page_size

    # Out ----------------------------------------------------------------------------------

    def send(self, run: I64, ticket_id: I64, template: str) -> None:
        if template not in self.templates:
            raise ValueError(f"no reply template {template!r}; templates: {', '.join(sorted(self.templates))}")
        tickets = self.ids.by_slot(SUPPORT_TICKET)
        for row, ours in enumerate(np.asarray(ticket_id).tolist()):
            record = tickets.get(ours)
            if record is None and ours >= OPS_TICKET_IDS:
                self._open_for_ops(row, ours, template)
                continue
            if record is None:
                raise ValueError(f"ticket {ours} is not a Zendesk ticket this business knows "
                                 f"(live_platform_ids kind {SUPPORT_TICKET!r})")
            tag = reply_tag(self.write_key(row))
            zendesk_id = int(record.platform_id)
            if tag in self.client.get_ticket(zendesk_id).tags:
                continue  # this reply was sent before the handler was re-run
            self.client.reply(zendesk_id, self._text(template, record.attributes.get("order_id", -1)),
                              tags=[tag])

    def _open_for_ops(self, row: int, ours: int, template: str) -> None:
        order = ours - OPS_TICKET_IDS
        ticket = self.client.create_ticket(
            key=self.write_key(row), subject=f"Order {order} could not be fulfilled",
            body=self._text(template, order), ticket_type="problem",
            tags=[OUTBOUND_TAG, f"ds1_order_{order}", f"{REASON_TAG}supplier_failure"])
        self.ids.put(SUPPORT_TICKET, ours, str(ticket.id), order_id=order, reason="supplier_failure")

    def _text(self, template: str, order: int) -> str:
        about = f"your order {order}" if order >= 0 else "your message"
        return self.templates[template].format(about=about)

    # In -----------------------------------------------------------------------------------

    def poll(self) -> list[EventBatch]:
        """TICKET_CREATED for each new ticket, its checkpoint written at once (see `pending`)."""
        polled = self.pending()
        self.store.run(polled.checkpoint)
        return polled.batches

    def pending(self) -> Polled:
        """TICKET_CREATED for each ticket the helpdesk received since the last recorded poll.

        Writes nothing: the advanced cursor and the tickets' mappings are the
        answer's checkpoint, which the coordinator commits with the events
        (`ds1ray.live.polled.record_polled`), so a crash in between re-reads them.
        """
        known = {record.platform_id for record in self.ids.of_kind(SUPPORT_TICKET)}
        cursor = self.store.run(lambda tx: tx.scalar(
            "SELECT value FROM live_settings WHERE key = %s", [CURSOR_KEY]))
        new: dict[int, Ticket] = {}
        while True:
            page = self.client.changed_tickets(cursor=cursor, start_time=self.start_time,
                                               per_page=self.page_size)
            for ticket in page.tickets:
                if (str(ticket.id) not in known and OUTBOUND_TAG not in ticket.tags
                        and ticket.status not in CLOSED):
                    new[ticket.id] = ticket
            cursor = page.after_cursor or cursor
            if page.end_of_stream or not page.tickets:
                break
        rows = [self._row(ticket) for ticket in new.values()]
        mappings = [PlatformId(SUPPORT_TICKET, ticket.id, NOT_TIERED, str(ticket.id),
                               {"order_id": row["order_id"], "reason": TICKET_REASON_CODES[row["reason"]]})
                    for ticket, row in zip(new.values(), rows, strict=True)]
        settings = {} if cursor is None else {CURSOR_KEY: str(cursor)}
        if not rows:
            return Polled(ZENDESK, settings=settings)
        columns = {name: np.array([row[name] for row in rows], np.int64) for name in rows[0]}
        return Polled(ZENDESK, [EventBatch.of("TICKET_CREATED", np.zeros(len(rows), np.int64), **columns)],
                      [ticket_event_id(ticket.id) for ticket in new.values()], settings, mappings)

    def _row(self, ticket: Ticket) -> dict[str, int]:
        order = self.store.run(lambda tx: _order_of(tx, ticket))
        reason = reason_of(ticket) if order is not None else "question"
        order_id, product, amount = order if order is not None else (-1, -1, 0)
        return {"ticket_id": ticket.id, "order_id": order_id, "product": product,
                "reason": TICKET_REASON_CODES.index(reason), "days_late": 0, "amount_cents": amount}

    def status(self) -> dict[str, Any]:
        return self.client.http.resilience.status()


def _order_of(tx: Transaction, ticket: Ticket) -> tuple[int, int, int] | None:
    """(order id, product slot, amount in cents) of the order a ticket is about; None if unknown."""
    paid = None
    tagged = next((m.group(1) for m in map(ORDER_TAG.match, ticket.tags) if m), None)
    if tagged is not None:
        paid = tx.scalar("SELECT payload FROM event_log WHERE type = 'ORDER_PAID' AND correlation_id = %s "
                         "ORDER BY created_at LIMIT 1", [f"shopify:order:{tagged}"])
    else:
        name = ORDER_NAME_RE.search(f"{ticket.subject}\n{ticket.description}")
        if name is not None:
            # The log's JSON text is the same on both backends; the match is checked exactly below.
            candidates = tx.execute(
                "SELECT payload FROM event_log WHERE type = 'ORDER_PAID' AND CAST(payload AS TEXT) LIKE %s "
                "ORDER BY created_at", [f'%"{name.group(0)}"%']).fetchall()
            paid = next((row[0] for row in candidates
                         if tx.dialect.load_json(row[0]).get("order_name") == name.group(0)), None)
    if paid is None:
        return None
    order = tx.dialect.load_json(paid)
    slots = [slot_of(tx, SHOP_PRODUCT, str(item.get("product_id"))) for item in order.get("line_items", [])]
    product = next((slot for slot in slots if slot is not None), -1)
    return int(order["order_id"]), product, int(order.get("amount_cents", 0))


def build_email(context: PortContext) -> LiveEmail:
    """The live e-mail port (base_url: `https://<subdomain>.zendesk.com`, secret: the API token;
    options: agent_email (required), start_time (Unix seconds of the first export, default now),
    template.<name> (a reply text))."""
    agent = context.options.get("agent_email", "")
    if not agent:
        raise UserError("adapters.email.options.agent_email is not set: the live email port signs in to "
                        "Zendesk as that agent (with the API token as its secret)")
    start = context.options.get("start_time", "")
    if start and not start.isdigit():
        raise UserError(f"adapters.email.options.start_time is {start!r}: use Unix seconds")
    templates = {**TEMPLATES, **{name.removeprefix("template."): text for name, text in context.options.items()
                                 if name.startswith("template.")}}
    client = Zendesk(context.base_url, agent, context.secret, resilience=context.guard.resilience("zendesk"),
                     timeout=httpx.Timeout(context.timeout_s, connect=min(context.timeout_s, 3.0)))
    return LiveEmail(client, PlatformIds(context.store), context.store,
                     start_time=int(start) if start else int(time.time()), templates=templates)
