"""SMTP replies to customers, one `Message-ID` per idempotency key.

`SmtpSender.send` builds the message with a `Message-ID` derived from the
caller's key, so a retried or redriven reply carries the same id and mail
clients (and the support agent's own inbox) see one message, not two. SMTP
reply codes decide what a failure means: 4xx (and a dropped connection) is
transient and retried, 5xx (unknown recipient, refused login) is a business
error.
"""

from __future__ import annotations

import hashlib
import smtplib
from collections.abc import Sequence
from email.message import EmailMessage

from ds1ray.adapters.live.platform_http import default_resilience
from ds1ray.live.resilience import OK, Assessment, Resilience, Verdict

PLATFORM = "smtp"


def message_id_for(key: str, domain: str) -> str:
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@{domain}>"


def _assess_smtp_error(exc: smtplib.SMTPException) -> Assessment:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        verdict = Verdict.RETRY if codes and all(400 <= c < 500 for c in codes) else Verdict.REJECT
        return Assessment(verdict, "recipients refused", detail=str(codes))
    if isinstance(exc, smtplib.SMTPResponseException):
        code = exc.smtp_code
        detail = exc.smtp_error.decode(errors="replace")[:200] if isinstance(
            exc.smtp_error, bytes) else str(exc.smtp_error)[:200]
        verdict = Verdict.RETRY if 400 <= code < 500 else Verdict.REJECT
        return Assessment(verdict, f"smtp {code}", status_code=code, detail=detail)
    return Assessment(Verdict.REJECT, type(exc).__name__, detail=str(exc)[:200])


class SmtpSender:
    """An SMTP submission server.

    Args:
        host, port: the server (587 with STARTTLS by default).
        from_address: the shop's support address.
        username, password: the login, if the server wants one.
        starttls: upgrade with STARTTLS before logging in (False for tests).
        timeout: seconds for connecting and each reply.
        resilience: default 3 attempts, breaker 5/60 s, 1 message/s.
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        from_address: str,
        username: str | None = None,
        password: str | None = None,
        starttls: bool = True,
        timeout: float = 10.0,
        resilience: Resilience | None = None,
    ) -> None:
        self.host, self.port = host, port
        self.from_address = from_address
        self._login = (username, password) if username else None
        self.starttls = starttls
        self.timeout = timeout
        self.resilience = resilience or default_resilience(PLATFORM, 1.0, 5.0)
        self.domain = from_address.rpartition("@")[2] or "ds1ray"

    def send(
        self,
        to: str | Sequence[str],
        subject: str,
        body: str,
        *,
        key: str,
        in_reply_to: str | None = None,
    ) -> str:
        """Send a plain-text message once per `key`; returns its Message-ID."""
        message = EmailMessage()
        message["From"] = self.from_address
        message["To"] = to if isinstance(to, str) else ", ".join(to)
        message["Subject"] = subject
        message["Message-ID"] = message_id_for(key, self.domain)
        if in_reply_to:
            message["In-Reply-To"] = in_reply_to
            message["References"] = in_reply_to
        message.set_content(body)

        def attempt() -> Assessment:
            try:
                with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                    if self.starttls:
                        smtp.starttls()
                    if self._login is not None:
                        smtp.login(self._login[0], self._login[1] or "")
                    smtp.send_message(message)
                return OK
            except smtplib.SMTPServerDisconnected as exc:
                raise ConnectionError(f"SMTP connection dropped: {exc}") from None
            except smtplib.SMTPException as exc:
                return _assess_smtp_error(exc)
            except OSError as exc:
                raise ConnectionError(f"SMTP connection failed: {exc}") from None

        self.resilience.call(attempt, lambda outcome: outcome)
        return str(message["Message-ID"])
