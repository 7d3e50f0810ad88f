"""IMAP4rev1 (RFC 3501) support inbox: read unseen messages by UID, mark them seen.

The support agent polls: `fetch_unseen()` runs `UID SEARCH UNSEEN` and
`UID FETCH <uid> (BODY.PEEK[])` (PEEK, so reading does not set `\\Seen`), and
`mark_seen(uid)` runs `UID STORE <uid> +FLAGS (\\Seen)` only after the ticket
is recorded, so a crash in between re-reads the message instead of losing it.
Messages are identified by `(UIDVALIDITY, UID)`: when the server changes
UIDVALIDITY, old UIDs mean nothing and the caller must not trust them.

Each call opens its own connection (through `Resilience`: a dropped
connection or a timeout is retried, a refused login is a business error).
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import imaplib
import re
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

from ds1ray.adapters.live.platform_http import default_resilience
from ds1ray.live.resilience import OK, Assessment, Resilience, Verdict

PLATFORM = "imap"
MAX_BODY_CHARS = 20_000
T = TypeVar("T")


@dataclass(frozen=True)
class InboundEmail:
    """One message as read from the inbox (not yet redacted)."""

    uid: int
    uidvalidity: int
    message_id: str
    sender: str
    subject: str
    body: str
    in_reply_to: str | None
    date: str | None


def parse_message(raw: bytes, *, uid: int, uidvalidity: int) -> InboundEmail:
    """The parts of an RFC 5322 message the support agent reads; plain text preferred."""
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)  # the `default` policy builds EmailMessage
    part = message.get_body(preferencelist=("plain", "html"))
    text = part.get_content() if part is not None else ""
    if part is not None and part.get_content_type() == "text/html":
        text = re.sub(r"<[^>]+>", " ", text)
    date = message.get("Date")
    try:
        iso_date = parsedate_to_datetime(str(date)).isoformat() if date else None
    except (TypeError, ValueError):
        iso_date = None
    return InboundEmail(
        uid=uid, uidvalidity=uidvalidity,
        message_id=str(message.get("Message-ID", "")).strip(),
        sender=str(message.get("From", "")), subject=str(message.get("Subject", "")),
        body=text.strip()[:MAX_BODY_CHARS],
        in_reply_to=str(message["In-Reply-To"]).strip() if message["In-Reply-To"] else None,
        date=iso_date,
    )


class ImapMailbox:
    """One IMAP mailbox.

    Args:
        host, port: the IMAP server (993 with TLS by default).
        username, password: the login.
        mailbox: the folder to read.
        use_ssl: IMAP over TLS (`IMAP4_SSL`); False for a plain connection (tests).
        timeout: seconds for connecting and for every read.
        resilience: default 3 attempts, breaker 5/60 s, 1 connection/s.
    """

    def __init__(
        self,
        host: str,
        port: int,
        username: str,
        password: str,
        *,
        mailbox: str = "INBOX",
        use_ssl: bool = True,
        timeout: float = 10.0,
        resilience: Resilience | None = None,
    ) -> None:
        self.host, self.port = host, port
        self._credentials = (username, password)
        self.mailbox = mailbox
        self.use_ssl = use_ssl
        self.timeout = timeout
        self.resilience = resilience or default_resilience(PLATFORM, 1.0, 2.0)
        self.uidvalidity: int | None = None

    def _connect(self) -> imaplib.IMAP4:
        factory = imaplib.IMAP4_SSL if self.use_ssl else imaplib.IMAP4
        connection = factory(self.host, self.port, timeout=self.timeout)
        connection.login(*self._credentials)
        typ, _ = connection.select(self.mailbox)
        if typ != "OK":
            raise imaplib.IMAP4.error(f"cannot select {self.mailbox}")
        _, values = connection.response("UIDVALIDITY")
        self.uidvalidity = int(values[0]) if values and values[0] else 0
        return connection

    def _session(self, work: Callable[[imaplib.IMAP4], T]) -> T:
        """Run `work` on a fresh logged-in connection, with retries."""

        def attempt() -> tuple[Assessment, T | None]:
            try:
                connection = self._connect()
            except (imaplib.IMAP4.abort, OSError) as exc:
                # Refused, reset, dropped, unresolvable: all transient for the guard.
                raise ConnectionError(f"IMAP connection failed: {exc}") from None
            except imaplib.IMAP4.error as exc:
                return Assessment(Verdict.REJECT, "imap refused", detail=str(exc)[:200]), None
            try:
                return OK, work(connection)
            except (imaplib.IMAP4.abort, OSError) as exc:
                raise ConnectionError(f"IMAP connection dropped: {exc}") from None
            except imaplib.IMAP4.error as exc:
                return Assessment(Verdict.REJECT, "imap refused", detail=str(exc)[:200]), None
            finally:
                # The work is done or failed already; a failed goodbye changes nothing.
                with contextlib.suppress(imaplib.IMAP4.error, OSError):
                    connection.logout()

        _, result = self.resilience.call(attempt, lambda outcome: outcome[0])
        return result  # type: ignore[return-value]  # OK outcomes always carry the result

    def fetch_unseen(self, limit: int = 50) -> list[InboundEmail]:
        """Up to `limit` unseen messages, oldest UID first, without marking them seen."""

        def work(connection: imaplib.IMAP4) -> list[InboundEmail]:
            typ, data = connection.uid("SEARCH", "UNSEEN")
            if typ != "OK":
                raise imaplib.IMAP4.error("UID SEARCH UNSEEN failed")
            uids = sorted(int(uid) for uid in (data[0] or b"").split())[:limit]
            return [self._fetch(connection, uid) for uid in uids]

        return self._session(work)

    def _fetch(self, connection: imaplib.IMAP4, uid: int) -> InboundEmail:
        typ, data = connection.uid("FETCH", str(uid), "(BODY.PEEK[])")
        raw = next((part[1] for part in data if isinstance(part, tuple)), None)
        if typ != "OK" or not isinstance(raw, bytes):
            raise imaplib.IMAP4.error(f"UID FETCH {uid} returned no message")
        return parse_message(raw, uid=uid, uidvalidity=self.uidvalidity or 0)

    def mark_seen(self, uid: int) -> None:
        """Set `\\Seen` on one message (after its ticket is recorded)."""

        def work(connection: imaplib.IMAP4) -> None:
            typ, _ = connection.uid("STORE", str(uid), "+FLAGS", "(\\Seen)")
            if typ != "OK":
                raise imaplib.IMAP4.error(f"UID STORE {uid} failed")

        self._session(work)

    def status(self) -> dict[str, Any]:
        return self.resilience.status()
