"""Zendesk against the tickets contract server: idempotent creation, 429 with Retry-After."""

from __future__ import annotations

import pytest
from contract_servers.zendesk import ZendeskServer

from ds1ray.adapters.live.zendesk import Zendesk
from ds1ray.live.clock import ManualClock
from ds1ray.live.resilience import PlatformRejected

from .conftest import MakeGuard


def desk(server: ZendeskServer, make_guard: MakeGuard, token: str = "zd-token") -> Zendesk:
    return Zendesk(server.url, "agent@ds1.test", token, resilience=make_guard("zendesk"))


def test_create_ticket_sends_the_contract_fields(
    zendesk_server: ZendeskServer, make_guard: MakeGuard
) -> None:
    ticket = desk(zendesk_server, make_guard).create_ticket(
        key="refund-order-1001", subject="Refund after failed fulfilment",
        body="Supplier rejected the order; refunded in full.", priority="high",
        ticket_type="incident", tags=["ds1", "compensation"],
    )
    assert (ticket.priority, ticket.type, ticket.status) == ("high", "incident", "new")
    assert ticket.external_id == "refund-order-1001"
    sent = zendesk_server.requests[-1]
    assert sent.headers["idempotency-key"] == "refund-order-1001"
    assert sent.json()["ticket"]["comment"]["body"].startswith("Supplier rejected")
    assert desk(zendesk_server, make_guard).get_ticket(ticket.id) == ticket


def test_429_with_retry_after_is_waited_out_and_the_ticket_is_made_once(
    zendesk_server: ZendeskServer, make_guard: MakeGuard, clock: ManualClock
) -> None:
    zendesk_server.faults.fail_next(2, 429, headers={"Retry-After": "7"},
                                    body={"error": "TooManyRequests"})
    desk(zendesk_server, make_guard).create_ticket(key="t-1", subject="Late parcel",
                                                   body="Where is my order?")
    assert clock.sleeps == [7.0, 7.0]
    assert len(zendesk_server.tickets) == 1


def test_a_repeated_key_returns_the_first_ticket(
    zendesk_server: ZendeskServer, make_guard: MakeGuard
) -> None:
    client = desk(zendesk_server, make_guard)
    first = client.create_ticket(key="t-2", subject="Defect", body="Broken on arrival")
    second = client.create_ticket(key="t-2", subject="Defect", body="Broken on arrival")
    assert first == second
    assert len(zendesk_server.tickets) == 1


def test_validation_errors_are_rejected(
    zendesk_server: ZendeskServer, make_guard: MakeGuard
) -> None:
    with pytest.raises(PlatformRejected) as raised:
        desk(zendesk_server, make_guard).create_ticket(key="t-3", subject="Empty", body="")
    assert raised.value.status_code == 422
    assert "RecordInvalid" in raised.value.detail


def test_wrong_credentials_are_rejected(
    zendesk_server: ZendeskServer, make_guard: MakeGuard
) -> None:
    with pytest.raises(PlatformRejected) as raised:
        desk(zendesk_server, make_guard, token="wrong").get_ticket(1)
    assert raised.value.status_code == 401
