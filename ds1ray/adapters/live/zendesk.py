"""Zendesk Support client: open and read tickets, within the plan's per-minute limit.

Zendesk answers 429 with `Retry-After` when the account's limit (200 to 2,500
requests a minute by plan) is spent; the resilience layer waits that long.
Ticket creation carries an `Idempotency-Key` header (Zendesk replays the first
answer for a repeated key) and the same key as the ticket's `external_id`, so
the ticket can also be found by it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import httpx

from ds1ray.adapters.live.platform_http import DEFAULT_TIMEOUT, PlatformHttp, default_resilience
from ds1ray.live.resilience import PlatformUnavailable, Resilience

PLATFORM = "zendesk"
Priority = Literal["low", "normal", "high", "urgent"]
TicketType = Literal["problem", "incident", "question", "task"]


@dataclass(frozen=True)
class Ticket:
    id: int
    subject: str
    status: str
    priority: str | None
    type: str | None
    tags: tuple[str, ...]
    external_id: str | None
    description: str = ""


@dataclass(frozen=True)
class TicketPage:
    """One page of the incremental ticket export: tickets changed since the cursor."""

    tickets: tuple[Ticket, ...]
    after_cursor: str | None
    end_of_stream: bool


def _ticket(raw: dict[str, Any]) -> Ticket:
    return Ticket(
        id=int(raw["id"]), subject=str(raw.get("subject") or ""), status=str(raw.get("status")),
        priority=raw.get("priority"), type=raw.get("type"), tags=tuple(raw.get("tags") or ()),
        external_id=raw.get("external_id"), description=str(raw.get("description") or ""),
    )


class Zendesk:
    """A Zendesk account's ticket API.

    Args:
        base_url: `https://<subdomain>.zendesk.com`.
        email: the agent's e-mail; with `api_token`, basic auth as `{email}/token`.
        requests_per_minute: the plan's limit (default 200, the lowest).
    """

    def __init__(
        self,
        base_url: str,
        email: str,
        api_token: str,
        *,
        requests_per_minute: float = 200.0,
        resilience: Resilience | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        rate = requests_per_minute / 60.0
        self.http = PlatformHttp(
            PLATFORM, base_url.rstrip("/"),
            resilience=resilience or default_resilience(PLATFORM, rate, 10.0),
            auth=(f"{email}/token", api_token), timeout=timeout, transport=transport,
        )

    def create_ticket(
        self,
        *,
        key: str,
        subject: str,
        body: str,
        requester_email: str | None = None,
        requester_name: str | None = None,
        priority: Priority = "normal",
        ticket_type: TicketType = "problem",
        tags: Sequence[str] = (),
    ) -> Ticket:
        """Open a ticket once per `key` (Idempotency-Key header and `external_id`)."""
        ticket: dict[str, Any] = {
            "subject": subject, "comment": {"body": body}, "priority": priority,
            "type": ticket_type, "status": "new", "tags": list(tags), "external_id": key,
        }
        if requester_email:
            ticket["requester"] = {"email": requester_email, "name": requester_name or ""}
        response = self.http.request(
            "POST", "/api/v2/tickets.json", json_body={"ticket": ticket},
            headers={"Idempotency-Key": key},
        )
        return self._parse(response)

    def reply(self, ticket_id: int, body: str, *, public: bool = True, tags: Sequence[str] = ()) -> Ticket:
        """Add a comment (public: e-mailed to the requester) and tags in one ticket update.

        Zendesk takes no idempotency key on updates: a caller that must not comment
        twice adds a tag naming the reply and checks for it first (`get_ticket`).
        """
        ticket: dict[str, Any] = {"comment": {"body": body, "public": public}}
        if tags:
            ticket["additional_tags"] = list(tags)
        return self._parse(self.http.request("PUT", f"/api/v2/tickets/{ticket_id}.json",
                                             json_body={"ticket": ticket}))

    def changed_tickets(self, *, cursor: str | None = None, start_time: int = 0,
                        per_page: int = 1000) -> TicketPage:
        """Tickets created or changed since `cursor` (else since `start_time`, Unix seconds):
        the cursor-based incremental export (Zendesk allows 10 of these requests a minute)."""
        params = {"cursor": cursor} if cursor else {"start_time": str(start_time)}
        params["per_page"] = str(per_page)
        response = self.http.request("GET", "/api/v2/incremental/tickets/cursor.json", params=params)
        body = self.http.json(response)
        try:
            return TicketPage(tuple(_ticket(raw) for raw in body["tickets"]), body.get("after_cursor"),
                              bool(body.get("end_of_stream", True)))
        except (KeyError, TypeError, ValueError):
            raise PlatformUnavailable(PLATFORM, "answer has no tickets") from None

    def get_ticket(self, ticket_id: int) -> Ticket:
        return self._parse(self.http.request("GET", f"/api/v2/tickets/{ticket_id}.json"))

    def _parse(self, response: httpx.Response) -> Ticket:
        try:
            return _ticket(self.http.json(response)["ticket"])
        except (KeyError, TypeError, ValueError):
            raise PlatformUnavailable(PLATFORM, "answer has no ticket") from None

    def close(self) -> None:
        self.http.close()
