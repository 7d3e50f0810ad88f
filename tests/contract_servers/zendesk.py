"""The Zendesk Support tickets API, with idempotency keys and validation errors."""

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
            answer = {"ticket": stored_ticket}
            if key is not None:
                self.keys[key] = (digest, answer)
            return JSONResponse(answer, 201, headers={"x-idempotency-lookup": "miss"})

        @app.get("/api/v2/tickets/{ticket_id}.json")
        async def show(ticket_id: int, request: Request) -> JSONResponse:
            if request.headers.get("authorization") != self.authorization:
                return JSONResponse({"error": "Couldn't authenticate you"}, 401)
            ticket = self.tickets.get(ticket_id)
            if ticket is None:
                return JSONResponse({"error": "RecordNotFound", "description": "Not found"}, 404)
            return JSONResponse({"ticket": ticket})

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
