"""The AfterShip Tracking API (2024-04): create, get and list trackings, with meta codes."""

from __future__ import annotations

import itertools
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from ds1ray.live.clock import SYSTEM_CLOCK, Clock

from .base import PlatformServer

PREFIX = "/tracking/2024-04"


def envelope(code: int, data: dict[str, Any], message: str = "", kind: str = "") -> dict[str, Any]:
    return {"meta": {"code": code, "message": message, "type": kind}, "data": data}


class AfterShipServer(PlatformServer):
    def __init__(self, clock: Clock = SYSTEM_CLOCK, *, api_key: str = "as-key") -> None:
        self.api_key = api_key
        super().__init__(clock)
        self.reset()

    def reset(self) -> None:
        super().reset()
        self.trackings: dict[str, dict[str, Any]] = {}
        self._ids = itertools.count(1)

    def set_tag(self, tracking_id: str, tag: str, subtag: str | None = None) -> None:
        self.trackings[tracking_id]["tag"] = tag
        self.trackings[tracking_id]["subtag"] = subtag or f"{tag}_001"

    def add_routes(self, app: FastAPI) -> None:
        def unauthorised(request: Request) -> JSONResponse | None:
            if request.headers.get("as-api-key") != self.api_key:
                return JSONResponse(envelope(401, {}, "Invalid API key.", "Unauthorized"), 401)
            return None

        @app.post(f"{PREFIX}/trackings")
        async def create(request: Request) -> JSONResponse:
            if (denied := unauthorised(request)) is not None:
                return denied
            body = await request.json()
            number = body.get("tracking_number")
            if not number:
                return JSONResponse(envelope(4001, {}, "tracking_number is required.",
                                             "BadRequest"), 400)
            for tracking in self.trackings.values():
                if tracking["tracking_number"] == number and tracking["slug"] == body.get("slug"):
                    return JSONResponse(envelope(4003, {}, "Tracking already exists.",
                                                 "BadRequest"), 400)
            tracking_id = f"trk{next(self._ids):06d}"
            tracking = {"id": tracking_id, "tracking_number": number, "slug": body.get("slug"),
                        "order_id": body.get("order_id"), "title": body.get("title"),
                        "tag": "Pending", "subtag": "Pending_001"}
            self.trackings[tracking_id] = tracking
            return JSONResponse(envelope(201, tracking), 201)

        @app.get(f"{PREFIX}/trackings/{{tracking_id}}")
        async def show(tracking_id: str, request: Request) -> JSONResponse:
            if (denied := unauthorised(request)) is not None:
                return denied
            tracking = self.trackings.get(tracking_id)
            if tracking is None:
                return JSONResponse(envelope(4004, {}, "Tracking does not exist.", "NotFound"),
                                    404)
            return JSONResponse(envelope(200, tracking))

        @app.get(f"{PREFIX}/trackings")
        async def listing(request: Request) -> JSONResponse:
            if (denied := unauthorised(request)) is not None:
                return denied
            numbers = set(filter(None, request.query_params.get("tracking_numbers", "")
                                 .split(",")))
            slug = request.query_params.get("slug")
            found = [t for t in self.trackings.values()
                     if (not numbers or t["tracking_number"] in numbers)
                     and (slug is None or t["slug"] == slug)]
            # Cursor pagination: the cursor is the offset of the page (opaque to clients).
            limit = int(request.query_params.get("limit", "100"))
            start = int(request.query_params.get("cursor") or 0)
            page, more = found[start:start + limit], start + limit < len(found)
            return JSONResponse(envelope(200, {"trackings": page, "pagination": {
                "total": len(found), "has_next_page": more,
                "next_cursor": str(start + limit) if more else None}}))
