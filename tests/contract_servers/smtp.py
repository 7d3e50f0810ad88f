"""An SMTP submission server (aiosmtpd) that records messages and scripts failures.

Recipients at `@invalid.example` are refused with 550 (a business error);
`defer_next(n)` answers the next n messages with 451 (try again later).
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from email import message_from_bytes
from email.message import Message
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


@dataclass(frozen=True)
class Delivered:
    mail_from: str
    recipients: list[str]
    message: Message


def free_port() -> int:
    # aiosmtpd's controller checks readiness by connecting to its port, so port 0 will not do.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class SmtpServer:
    def __init__(self, *, username: str = "support@ds1.test", password: str = "smtp-pass"
                 ) -> None:
        self.username, self.password = username, password
        self.delivered: list[Delivered] = []
        self._deferrals = 0
        self.port = free_port()
        self._controller = Controller(
            self, hostname="127.0.0.1", port=self.port, authenticator=self._authenticate,
            auth_require_tls=False,
        )

    def defer_next(self, count: int) -> None:
        self._deferrals = count

    def reset(self) -> None:
        self.delivered.clear()
        self._deferrals = 0

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()

    def _authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str,
                      auth_data: Any) -> AuthResult:
        if isinstance(auth_data, LoginPassword) and (
            auth_data.login.decode(), auth_data.password.decode()
        ) == (self.username, self.password):
            return AuthResult(success=True)
        return AuthResult(success=False, handled=False)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        if address.endswith("@invalid.example"):
            return "550 5.1.1 Recipient address rejected: no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self._deferrals > 0:
            self._deferrals -= 1
            return "451 4.3.0 Temporary failure, try again later"
        self.delivered.append(Delivered(envelope.mail_from, list(envelope.rcpt_tos),
                                        message_from_bytes(envelope.content)))
        return "250 2.0.0 Message accepted for delivery"
