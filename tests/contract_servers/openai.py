"""An OpenAI-compatible `POST /v1/chat/completions` server with scripted replies.

`server.replies` is a queue of assistant messages to answer with (text, or
tool calls with JSON-string arguments; a `finish_reason` key overrides the
finish, e.g. `content_filter` with null content); when empty it answers "ok".
`legacy=True` makes it an older server that rejects `max_completion_tokens`
the way such servers do (400, invalid_request_error).
"""

from __future__ import annotations

import itertools
import json
from collections import deque
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from ds1ray.live.clock import SYSTEM_CLOCK, Clock

from .base import PlatformServer


def invalid_request(message: str, param: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": "invalid_request_error", "param": param,
                      "code": None}}


def tool_call_reply(name: str, arguments: dict[str, Any] | str) -> dict[str, Any]:
    text = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return {"content": None, "tool_calls": [
        {"id": "call_1", "type": "function", "function": {"name": name, "arguments": text}}]}


class OpenAIServer(PlatformServer):
    def __init__(self, clock: Clock = SYSTEM_CLOCK, *, api_key: str = "sk-test",
                 legacy: bool = False) -> None:
        self.api_key = api_key
        self.legacy = legacy
        super().__init__(clock)
        self.reset()

    def reset(self) -> None:
        super().reset()
        self.replies: deque[dict[str, Any]] = deque()
        self._ids = itertools.count(1)

    def add_routes(self, app: FastAPI) -> None:
        @app.post("/v1/chat/completions")
        async def completions(request: Request) -> JSONResponse:
            if request.headers.get("authorization") != f"Bearer {self.api_key}":
                return JSONResponse(invalid_request("Incorrect API key provided."), 401)
            body = await request.json()
            problem = self._problem(body)
            if problem is not None:
                return JSONResponse(problem, 400)
            reply = self.replies.popleft() if self.replies else {"content": "ok"}
            message = {"role": "assistant", "content": reply.get("content")}
            finish = reply.get("finish_reason", "stop")
            if reply.get("tool_calls"):
                message["tool_calls"] = reply["tool_calls"]
                finish = "tool_calls"
            prompt = sum(len(str(m.get("content") or "").split()) for m in body["messages"])
            completion = len(str(reply.get("content") or "").split()) + 5
            return JSONResponse({
                "id": f"chatcmpl-{next(self._ids)}", "object": "chat.completion",
                "created": 1_767_225_600, "model": body["model"],
                "choices": [{"index": 0, "message": message, "finish_reason": finish,
                             "logprobs": None}],
                "usage": {"prompt_tokens": prompt, "completion_tokens": completion,
                          "total_tokens": prompt + completion},
            })

    def _problem(self, body: dict[str, Any]) -> dict[str, Any] | None:
        if self.legacy and "max_completion_tokens" in body:
            return invalid_request(
                "Unrecognized request argument supplied: max_completion_tokens")
        if not body.get("model"):
            return invalid_request("you must provide a model parameter", "model")
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            return invalid_request("'messages' must be a non-empty array", "messages")
        for index, message in enumerate(messages):
            if message.get("role") not in ("system", "user", "assistant", "tool", "developer"):
                return invalid_request(f"Invalid role in messages[{index}]", "messages")
        for index, tool in enumerate(body.get("tools") or []):
            function = tool.get("function") or {}
            if tool.get("type") != "function" or not function.get("name"):
                return invalid_request(f"Invalid tools[{index}]", "tools")
        return None
