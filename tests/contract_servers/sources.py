"""A generic JSON data source (trend or competitor feed): configured documents at paths.

`documents[path]` is answered for every query; `by_query[path] = (param, {value: document})`
answers a feed searched one key per request (`?q=<key>`), with an empty list for a key it
does not know, as search APIs do.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from ds1ray.live.clock import SYSTEM_CLOCK, Clock

from .base import PlatformServer


class JsonSourceServer(PlatformServer):
    def __init__(self, clock: Clock = SYSTEM_CLOCK, *, api_key: str = "src-key") -> None:
        self.api_key = api_key
        super().__init__(clock)
        self.reset()

    def reset(self) -> None:
        super().reset()
        self.documents: dict[str, Any] = {}
        self.by_query: dict[str, tuple[str, dict[str, Any]]] = {}

    def add_routes(self, app: FastAPI) -> None:
        @app.get("/{path:path}")
        async def document(path: str, request: Request) -> JSONResponse:
            if request.headers.get("x-api-key") != self.api_key:
                return JSONResponse({"error": "unauthorised"}, 401)
            if "/" + path in self.by_query:
                param, answers = self.by_query["/" + path]
                return JSONResponse(answers.get(request.query_params.get(param, ""), {"items": []}))
            found = self.documents.get("/" + path)
            if found is None:
                return JSONResponse({"error": "not found"}, 404)
            return JSONResponse(found)
