"""The Zendesk Support tickets API, with idempotency keys and validation errors.

Besides creating and showing tickets: updates (`PUT /api/v2/tickets/{id}.json` with a
`comment {body, public}` and `additional_tags`), and the cursor-based incremental export
(`GET /api/v2/incremental/tickets/cursor.json?start_time=…` or `?cursor=…`, `per_page`),
whose cursor is a position in the log of ticket changes. `receive(...)` is a customer's
e-mail arriving in the helpdesk (a ticket nobody created through the API).
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from ds1ray.live.clock import SYSTEM_CLOCK, Clock

from .base import PlatformServer

PRIORITIES = {"low", "normal", "high", "urgent"}
TYPES = {"problem", "incident", "question", "task"}


class ZendeskServer(PlatformServer):
    def __init__(self, clock: Clock = SYSTEM_CLOCK, *, email: str = "agent@ds1.test",
                 api_token: str = "zd-token") -> None:
        credentials = f"{email}/token:{api_token}".encode()
        self.authorization = "Basic " + base64.b64encode(credentials).decode()
        super().__init__(clock)
        self.reset()

    def reset(self) -> None:
        super().reset()
        self.tickets: dict[int, dict[str, Any]] = {}
        self.keys: dict[str, tuple[str, dict[str, Any]]] = {}
        self._ids = itertools.count(35436)
        self.changes: list[int] = []  # ticket ids in the order they were created or changed
        self.comments: dict[int, list[dict[str, Any]]] = {}

    def receive(self, subject: str, body: str, *, tags: list[str] | None = None,
                status: str = "new") -> int:
        """A customer's message becoming a ticket (Zendesk's e-mail channel); its id."""
        ticket_id = next(self._ids)
        self.tickets[ticket_id] = {
            "id": ticket_id, "subject": subject, "description": body, "status": status,
            "priority": None, "type": None, "tags": list(tags or []), "external_id": None,
            "requester_id": 900_000 + ticket_id, "created_at": "2026-01-05T10:00:00Z",
        }
        self.comments[ticket_id] = [{"body": body, "public": True}]
        self.changes.append(ticket_id)
        return ticket_id

    def add_routes(self, app: FastAPI) -> None:
        @app.post("/api/v2/tickets.json")
        async def create(request: Request) -> JSONResponse:
            if request.headers.get("authorization") != self.authorization:
                return JSONResponse({"error": "Couldn't authenticate you"}, 401)
            raw = await request.body()
            key = request.headers.get("idempotency-key")
            digest = hashlib.sha256(raw).hexdigest()
            if key is not None and key in self.keys:
                stored_digest, stored = self.keys[key]
                if stored_digest != digest:
                    return JSONResponse({"error": "IdempotentRequestError", "description":
                                         "Idempotency key reused with a different request"}, 400)
                return JSONResponse(stored, 201, headers={"x-idempotency-lookup": "hit"})
            ticket = json.loads(raw).get("ticket") or {}
            problems = self._problems(ticket)
            if problems:
                return JSONResponse({"error": "RecordInvalid",
                                     "description": "Record validation errors",
                                     "details": problems}, 422)
            ticket_id = next(self._ids)
            stored_ticket = {
                "id": ticket_id, "subject": ticket.get("subject", ""),
                "description": ticket["comment"]["body"], "status": ticket.get("status", "new"),
                "priority": ticket.get("priority"), "type": ticket.get("type"),
                "tags": ticket.get("tags", []), "external_id": ticket.get("external_id"),
                "requester_id": 900_000 + ticket_id, "created_at": "2026-01-05T10:00:00Z",
            }
            self.tickets[ticket_id] = stored_ticket
            self.comments[ticket_id] = [{"body": ticket["comment"]["body"], "public": True}]
            self.changes.append(ticket_id)
            answer = {"ticket": stored_ticket}
            if key is not None:
                self.keys[key] = (digest, answer)
            return JSONResponse(answer, 201, headers={"x-idempotency-lookup": "miss"})

        @app.get("/api/v2/tickets/{ticket_id}.json")
        async def show(ticket_id: int, request: Request) -> JSONResponse:
            ticket, refusal = self._ticket(ticket_id, request)
            return refusal or JSONResponse({"ticket": ticket})

        @app.put("/api/v2/tickets/{ticket_id}.json")
        async def update(ticket_id: int, request: Request) -> JSONResponse:
            ticket, refusal = self._ticket(ticket_id, request)
            if refusal is not None:
                return refusal
            assert ticket is not None  # no refusal: the ticket was found
            change = (await request.json()).get("ticket") or {}
            comment = change.get("comment")
            if comment is not None and not comment.get("body"):
                return JSONResponse({"error": "RecordInvalid", "description": "Record validation errors",
                                     "details": {"base": [{"description": "Comment: cannot be blank"}]}},
                                    422)
            if comment is not None:
                self.comments[ticket_id].append({"body": comment["body"], "public": comment.get("public", True)})
            ticket["tags"] = list(dict.fromkeys([*ticket["tags"], *change.get("additional_tags", [])]))
            if "status" in change:
                ticket["status"] = change["status"]
            elif ticket["status"] == "new":
                ticket["status"] = "open"  # an agent's comment opens a new ticket
            self.changes.append(ticket_id)
            return JSONResponse({"ticket": ticket, "audit": {"ticket_id": ticket_id}})

        @app.get("/api/v2/incremental/tickets/cursor.json")
        async def export(request: Request) -> JSONResponse:
            if request.headers.get("authorization") != self.authorization:
                return JSONResponse({"error": "Couldn't authenticate you"}, 401)
            query = request.query_params
            if "cursor" not in query and "start_time" not in query:
                return JSONResponse({"error": "InvalidPaginationParameter",
                                     "description": "start_time or cursor is required"}, 400)
            start = int(query.get("cursor") or 0)  # every ticket here changed after any start_time
            end = min(start + int(query.get("per_page", "1000")), len(self.changes))
            ids = list(dict.fromkeys(self.changes[start:end]))
            cursor = str(end)
            return JSONResponse({
                "tickets": [self.tickets[i] for i in ids],
                "after_cursor": cursor, "after_url": f"{self.url}/api/v2/incremental/tickets/cursor.json?"
                f"cursor={cursor}", "before_cursor": str(start), "end_of_stream": end >= len(self.changes)})

    def _ticket(self, ticket_id: int, request: Request) -> tuple[dict[str, Any] | None, JSONResponse | None]:
        """The ticket a request names, or the refusal to answer instead (401, 404)."""
        if request.headers.get("authorization") != self.authorization:
            return None, JSONResponse({"error": "Couldn't authenticate you"}, 401)
        ticket = self.tickets.get(ticket_id)
        if ticket is None:
            return None, JSONResponse({"error": "RecordNotFound", "description": "Not found"}, 404)
        return ticket, None

    @staticmethod
    def _problems(ticket: dict[str, Any]) -> dict[str, list[dict[str, str]]]:
        problems: dict[str, list[dict[str, str]]] = {}
        if not (ticket.get("comment") or {}).get("body"):
            problems["description"] = [{"description": "Description: cannot be blank"}]
        if ticket.get("priority") not in PRIORITIES | {None}:
            problems["priority"] = [{"description": "Priority: is not valid"}]
        if ticket.get("type") not in TYPES | {None}:
            problems["type"] = [{"description": "Type: is not valid"}]
        return problems
