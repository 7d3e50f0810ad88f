"""SmtpSender against an SMTP server: delivery, stable Message-ID per key, 4xx vs 5xx."""

from __future__ import annotations

import pytest
from contract_servers.smtp import SmtpServer

from ds1ray.adapters.live.smtp_sender import SmtpSender, message_id_for
from ds1ray.live.clock import ManualClock
from ds1ray.live.resilience import PlatformRejected, PlatformUnavailable

from .conftest import MakeGuard


def sender(server: SmtpServer, make_guard: MakeGuard, password: str = "smtp-pass"
           ) -> SmtpSender:
    return SmtpSender("127.0.0.1", server.port, from_address="support@ds1.test",
                      username="support@ds1.test", password=password, starttls=False,
                      timeout=5.0, resilience=make_guard("smtp"))


def test_a_reply_is_delivered_with_threading_headers(
    smtp_server: SmtpServer, make_guard: MakeGuard
) -> None:
    message_id = sender(smtp_server, make_guard).send(
        "ada@example.com", "Re: Where is order #1001?", "It ships tomorrow.",
        key="reply-ticket-7", in_reply_to="<m1@example.com>",
    )
    [delivered] = smtp_server.delivered
    assert delivered.recipients == ["ada@example.com"]
    assert delivered.message["Message-ID"] == message_id == message_id_for("reply-ticket-7",
                                                                          "ds1.test")
    assert delivered.message["In-Reply-To"] == "<m1@example.com>"
    assert str(delivered.message.get_payload()).strip() == "It ships tomorrow."


def test_a_resent_reply_keeps_its_message_id(
    smtp_server: SmtpServer, make_guard: MakeGuard
) -> None:
    client = sender(smtp_server, make_guard)
    client.send("ada@example.com", "Re: x", "body", key="reply-1")
    client.send("ada@example.com", "Re: x", "body", key="reply-1")
    ids = {d.message["Message-ID"] for d in smtp_server.delivered}
    assert len(ids) == 1


def test_a_451_deferral_is_retried(
    smtp_server: SmtpServer, make_guard: MakeGuard, clock: ManualClock
) -> None:
    smtp_server.defer_next(2)
    sender(smtp_server, make_guard).send("ada@example.com", "Re: x", "body", key="reply-2")
    assert len(smtp_server.delivered) == 1
    assert len(clock.sleeps) == 2


def test_deferral_beyond_the_attempts_is_unavailable(
    smtp_server: SmtpServer, make_guard: MakeGuard
) -> None:
    smtp_server.defer_next(3)
    with pytest.raises(PlatformUnavailable, match="smtp 451"):
        sender(smtp_server, make_guard).send("ada@example.com", "Re: x", "b", key="reply-3")


def test_an_unknown_recipient_is_a_business_error(
    smtp_server: SmtpServer, make_guard: MakeGuard, clock: ManualClock
) -> None:
    with pytest.raises(PlatformRejected, match="recipients refused"):
        sender(smtp_server, make_guard).send("nobody@invalid.example", "x", "b", key="r-4")
    assert clock.sleeps == []


def test_a_wrong_password_is_a_business_error(
    smtp_server: SmtpServer, make_guard: MakeGuard
) -> None:
    with pytest.raises(PlatformRejected, match="smtp 535"):
        sender(smtp_server, make_guard, password="nope").send("a@example.com", "x", "b",
                                                              key="r-5")
