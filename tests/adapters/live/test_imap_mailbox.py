"""ImapMailbox against the IMAP4rev1 contract server: unseen by UID, PEEK, \\Seen, retries."""

from __future__ import annotations

from email.message import EmailMessage

import pytest
from contract_servers.imap import ImapServer

from ds1ray.adapters.live.imap_mailbox import ImapMailbox, parse_message
from ds1ray.live.clock import ManualClock
from ds1ray.live.resilience import PlatformRejected, PlatformUnavailable

from .conftest import MakeGuard


def mail(subject: str, body: str, *, sender: str = "Ada Lovelace <ada@example.com>",
         message_id: str = "<m1@example.com>", html: bool = False) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "support@ds1.test"
    message["Subject"] = subject
    message["Message-ID"] = message_id
    message["Date"] = "Mon, 05 Jan 2026 10:14:22 -0500"
    if html:
        message.set_content(body, subtype="html")
    else:
        message.set_content(body)
    return message.as_bytes()


def inbox(server: ImapServer, make_guard: MakeGuard, password: str = "imap-pass") -> ImapMailbox:
    return ImapMailbox("127.0.0.1", server.port, "support@ds1.test", password, use_ssl=False,
                       timeout=5.0, resilience=make_guard("imap"))


def test_fetch_unseen_reads_messages_without_marking_them(
    imap_server: ImapServer, make_guard: MakeGuard
) -> None:
    imap_server.deliver(mail("Where is order #1001?", "It has been three weeks."))
    imap_server.deliver(mail("Broken lamp", "Arrived broken.", message_id="<m2@example.com>"))
    client = inbox(imap_server, make_guard)
    messages = client.fetch_unseen()
    assert [(m.uid, m.subject) for m in messages] == [(1, "Where is order #1001?"),
                                                     (2, "Broken lamp")]
    assert messages[0].body == "It has been three weeks."
    assert messages[0].uidvalidity == imap_server.uidvalidity
    assert messages[0].message_id == "<m1@example.com>"
    assert messages[0].date == "2026-01-05T10:14:22-05:00"
    # BODY.PEEK[]: reading is not acknowledging; a crash now re-reads them.
    assert len(client.fetch_unseen()) == 2
    assert any("UID FETCH 1 (BODY.PEEK[])" in c for c in imap_server.commands)


def test_mark_seen_removes_a_message_from_the_unseen_set(
    imap_server: ImapServer, make_guard: MakeGuard
) -> None:
    first = imap_server.deliver(mail("one", "1"))
    imap_server.deliver(mail("two", "2", message_id="<m2@example.com>"))
    client = inbox(imap_server, make_guard)
    client.mark_seen(first)
    assert [m.subject for m in client.fetch_unseen()] == ["two"]
    assert any(c.endswith("UID STORE 1 +FLAGS (\\Seen)") for c in imap_server.commands)


def test_a_dropped_connection_is_retried(
    imap_server: ImapServer, make_guard: MakeGuard, clock: ManualClock
) -> None:
    imap_server.deliver(mail("hello", "hi"))
    imap_server.drop_next(2)
    assert len(inbox(imap_server, make_guard).fetch_unseen()) == 1
    assert len(clock.sleeps) == 2


def test_a_server_that_stays_away_is_unavailable(
    imap_server: ImapServer, make_guard: MakeGuard
) -> None:
    imap_server.drop_next(3)
    with pytest.raises(PlatformUnavailable, match="IMAP connection"):
        inbox(imap_server, make_guard).fetch_unseen()


def test_a_refused_login_is_a_business_error(
    imap_server: ImapServer, make_guard: MakeGuard, clock: ManualClock
) -> None:
    with pytest.raises(PlatformRejected, match="AUTHENTICATIONFAILED"):
        inbox(imap_server, make_guard, password="wrong").fetch_unseen()
    assert clock.sleeps == []


def test_html_only_messages_are_read_as_text() -> None:
    parsed = parse_message(mail("hi", "<p>My <b>lamp</b> broke</p>", html=True), uid=9,
                           uidvalidity=1)
    assert " ".join(parsed.body.split()) == "My lamp broke"
