"""The live e-mail port over the Zendesk contract server: tickets in once, replies out once."""

from __future__ import annotations

import numpy as np
import pytest
from contract_servers.zendesk import ZendeskServer

from ds1ray.adapters.live.email_port import (
    SUPPORT_TICKET,
    TEMPLATES,
    LiveEmail,
    build_email,
    reason_of,
    reply_tag,
)
from ds1ray.adapters.live.ports import SHOP_PRODUCT, GuardSettings, PlatformIds, PortContext
from ds1ray.adapters.live.zendesk import Ticket, Zendesk
from ds1ray.config import Config, load_config
from ds1ray.errors import UserError
from ds1ray.events.contracts import OPS_TICKET_IDS, TICKET_REASON_CODES, TicketCreated
from ds1ray.live.clock import ManualClock
from ds1ray.live.resilience import PlatformUnavailable
from ds1ray.store import Store
from ds1ray.store.events import Event, append_event

from .conftest import MakeGuard
from .live_fixtures import mock_port, store_fixture  # noqa: F401  (the `store` fixture)

ORDER = 5_551_234_567_890  # a Shopify order id


@pytest.fixture(scope="module")
def config() -> Config:
    return load_config()
RUN = np.zeros(1, np.int64)


@pytest.fixture
def port(store: Store, zendesk_server: ZendeskServer, make_guard: MakeGuard) -> LiveEmail:
    client = Zendesk(zendesk_server.url, "agent@ds1.test", "zd-token", resilience=make_guard("zendesk"))
    return LiveEmail(client, PlatformIds(store), store, start_time=0, page_size=2)


def _paid_order(store: Store) -> None:
    """Order #1001 as the Shopify webhook recorded it, its product mapped to slot 3."""
    PlatformIds(store).put(SHOP_PRODUCT, 3, "632910392")
    store.run(lambda tx: append_event(tx, Event(
        type="ORDER_PAID", source="shopify_webhook", correlation_id=f"shopify:order:{ORDER}",
        payload={"order_id": ORDER, "order_name": "#1001", "amount_cents": 5999,
                 "line_items": [{"product_id": 632910392, "quantity": 1}]})))


def _reason(name: str) -> int:
    return TICKET_REASON_CODES.index(name)


def test_new_helpdesk_tickets_come_in_once_each_with_their_order_and_reason(
        port: LiveEmail, store: Store, zendesk_server: ZendeskServer) -> None:
    _paid_order(store)
    broken = zendesk_server.receive("Order #1001 arrived broken", "The lamp does not work.")
    tagged = zendesk_server.receive("Hello", "I changed my mind", tags=[f"ds1_order_{ORDER}", "ds1_reason_return"])
    vague = zendesk_server.receive("My parcel is late", "It has been weeks, still waiting.")
    zendesk_server.receive("Thanks!", "All good now", status="solved")  # nothing to answer
    [batch] = port.poll()  # four tickets over two pages
    assert batch.type == "TICKET_CREATED" and batch.run.tolist() == [0, 0, 0]
    assert batch["ticket_id"].tolist() == [broken, tagged, vague]
    assert batch["order_id"].tolist() == [ORDER, ORDER, -1]
    assert batch["product"].tolist() == [3, 3, -1] and batch["amount_cents"].tolist() == [5999, 5999, 0]
    # Without a known order a complaint is a question: support answers it and refunds nothing.
    assert batch["reason"].tolist() == [_reason("defect"), _reason("return"), _reason("question")]
    assert port.poll() == []
    later = zendesk_server.receive("Faulty item in #1001", "It stopped working after two days.")
    [batch] = port.poll()
    assert batch["ticket_id"].tolist() == [later] and batch["reason"].tolist() == [_reason("defect")]


def test_each_seed_ticket_text_is_read_as_the_reason_it_was_written_for(config: Config) -> None:
    for reason, texts in config.seeds.tickets.items():
        for text in texts:
            subject = text.subject.format(order="#1001", product="lamp", days_late=9)
            body = text.body.format(order="#1001", product="lamp", days_late=9)
            ticket = Ticket(1, subject, "new", None, None, (), None, body)
            assert reason_of(ticket) == reason, (subject, body)
    tagged = Ticket(1, "Hello", "new", None, None, ("ds1_reason_defect",), None, "I want to return it")
    assert reason_of(tagged) == "defect"  # a tag (a trigger, an agent) says it better than words


def test_a_reply_is_a_public_comment_sent_once_per_idempotency_key(
        port: LiveEmail, zendesk_server: ZendeskServer) -> None:
    ticket = zendesk_server.receive("Question about the lamp", "Is there a warranty?")
    port.poll()
    for _ in range(2):  # the handler re-run after a crash: same key, no second comment
        with port.causation("support:evt-1:0"):
            port.send(RUN, np.array([ticket]), "template_reply")
    comments = zendesk_server.comments[ticket]
    assert len(comments) == 2 and comments[-1] == {"body": TEMPLATES["template_reply"].format(
        about="your message"), "public": True}
    assert reply_tag("support:evt-1:0:0") in zendesk_server.tickets[ticket]["tags"]
    with port.causation("support:evt-2:0"):  # another event's reply is a new reply
        port.send(RUN, np.array([ticket]), "ai_reply")
    assert len(zendesk_server.comments[ticket]) == 3
    assert port.poll() == []  # our replies changed the ticket; it is not a new ticket


def test_the_ticket_ops_opens_for_a_failed_order_is_created_once_and_not_read_back(
        port: LiveEmail, zendesk_server: ZendeskServer) -> None:
    ours = OPS_TICKET_IDS | ORDER
    for _ in range(2):
        with port.causation("support:evt-3:0"):
            port.send(RUN, np.array([ours]), "supplier_failure_apology")
    [created] = zendesk_server.tickets.values()
    assert f"ds1_order_{ORDER}" in created["tags"] and "ds1_outbound" in created["tags"]
    assert created["description"] == TEMPLATES["supplier_failure_apology"].format(about=f"your order {ORDER}")
    assert [m.platform_id for m in PlatformIds(port.store).of_kind(SUPPORT_TICKET)] == [str(created["id"])]
    assert port.poll() == []


def test_a_reply_to_a_ticket_nobody_knows_or_with_an_unknown_template_is_refused(port: LiveEmail) -> None:
    with port.causation("support:evt-4:0"), pytest.raises(ValueError, match="ticket 77 is not a Zendesk ticket"):
        port.send(RUN, np.array([77]), "template_reply")
    with port.causation("support:evt-4:1"), pytest.raises(ValueError, match="no reply template 'haiku'"):
        port.send(RUN, np.array([77]), "haiku")


def test_a_throttled_helpdesk_is_waited_for_and_a_dead_one_raises_losing_no_ticket(
        port: LiveEmail, zendesk_server: ZendeskServer, clock: ManualClock) -> None:
    first = zendesk_server.receive("Question", "Do you ship to Canada?")
    zendesk_server.faults.fail_next(1, 429, headers={"Retry-After": "7"})
    [batch] = port.poll()
    assert batch["ticket_id"].tolist() == [first] and 7.0 in clock.sleeps
    second = zendesk_server.receive("Question", "And to Mexico?")
    zendesk_server.faults.fail_next(3, 503)
    with pytest.raises(PlatformUnavailable):
        port.poll()
    [batch] = port.poll()  # recovered: the ticket that came in during the outage is there
    assert batch["ticket_id"].tolist() == [second]
    assert port.status()["platform"] == "zendesk"


def test_build_needs_the_agent_login_and_reads_templates_from_the_options(
        store: Store, zendesk_server: ZendeskServer) -> None:
    def context(options: dict[str, str]) -> PortContext:
        return PortContext(base_url=zendesk_server.url, secret="zd-token", store=store, slots=24,
                           guard=GuardSettings(rate_per_second=100.0), options=options)

    with pytest.raises(UserError, match=r"adapters\.email\.options\.agent_email is not set"):
        build_email(context({}))
    with pytest.raises(UserError, match=r"adapters\.email\.options\.start_time"):
        build_email(context({"agent_email": "agent@ds1.test", "start_time": "yesterday"}))
    port = build_email(context({"agent_email": "agent@ds1.test", "start_time": "0",
                                "template.template_reply": "Hi! About {about}: on it."}))
    ticket = zendesk_server.receive("Question", "Gift wrap?")
    [batch] = port.poll()
    with port.causation("support:evt-5:0"):
        port.send(batch.run, batch["ticket_id"], "template_reply")
    assert zendesk_server.comments[ticket][-1]["body"] == "Hi! About your message: on it."


def test_answers_have_the_mock_ports_shapes_and_dtypes(port: LiveEmail, zendesk_server: ZendeskServer) -> None:
    zendesk_server.receive("Question", "Colours?")
    [batch] = port.poll()
    assert set(batch.columns) == set(TicketCreated.model_fields)
    assert batch.run.dtype == np.int64 and all(c.dtype == np.int64 for c in batch.columns.values())
    mock = mock_port("email")
    with port.causation("support:evt-6:0"):
        assert port.send(batch.run, batch["ticket_id"], "template_reply") is None
    assert mock.send(batch.run, batch["ticket_id"], "template_reply") is None
