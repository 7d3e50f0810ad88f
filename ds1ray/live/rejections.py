"""Why the webhook ingress refuses a request: one exception, one reason code each.

The HTTP app catches `WebhookRejected`, answers `status_code`, counts the
request by `reason` (for `/metrics`), and stores nothing. The message never
contains the payload, so it is safe to log.
"""

from __future__ import annotations

import enum


class RejectReason(enum.StrEnum):
    BAD_SIGNATURE = "bad_signature"
    STALE_TIMESTAMP = "stale_timestamp"
    TOO_LARGE = "too_large"
    MALFORMED = "malformed"
    INVALID_PAYLOAD = "invalid_payload"
    UNKNOWN_TOPIC = "unknown_topic"


STATUS_FOR_REASON: dict[RejectReason, int] = {
    RejectReason.BAD_SIGNATURE: 401,
    RejectReason.STALE_TIMESTAMP: 400,
    RejectReason.TOO_LARGE: 413,
    RejectReason.MALFORMED: 400,
    RejectReason.INVALID_PAYLOAD: 422,
    RejectReason.UNKNOWN_TOPIC: 422,
}


class WebhookRejected(Exception):
    """A webhook request refused before anything was stored.

    Attributes:
        reason: the reason code, for counting.
        status_code: the HTTP status to answer.
        message: a short explanation without personal data.
    """

    def __init__(self, reason: RejectReason, message: str) -> None:
        super().__init__(f"{reason.value}: {message}")
        self.reason = reason
        self.status_code = STATUS_FOR_REASON[reason]
        self.message = message
