"""OpenAI-compatible chat completions client (hosted APIs, vLLM, llama.cpp, Ollama).

`ChatCompletions.complete` sends messages and tool definitions and returns the
assistant's text or tool calls (their `arguments` arrive as a JSON string and
are parsed here), the finish reason and the token usage, which the caller
charges against the AI budget.

The output limit is sent as `max_completion_tokens`, the current name; a
server that rejects it (older OpenAI-compatible servers know only
`max_tokens`) gets the request again with `max_tokens`, and the client keeps
using that name afterwards.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from ds1ray.adapters.live.platform_http import PlatformHttp, default_resilience
from ds1ray.live.resilience import (
    Assessment,
    PlatformRejected,
    PlatformUnavailable,
    Resilience,
    Verdict,
)

PLATFORM = "ai"
AI_TIMEOUT = httpx.Timeout(60.0, connect=3.0)
UNSUPPORTED_LIMIT = "unsupported max_completion_tokens"


@dataclass(frozen=True)
class ToolCall:
    """A function call the model asked for; `arguments` is None when its JSON is invalid."""

    id: str
    name: str
    raw_arguments: str
    arguments: dict[str, Any] | None


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


@dataclass(frozen=True)
class ChatResult:
    id: str
    model: str
    content: str | None
    finish_reason: str
    usage: Usage
    tool_calls: list[ToolCall] = field(default_factory=list)


def tool(name: str, description: str, parameters: dict[str, Any]) -> dict[str, Any]:
    """A tool definition in the chat-completions format."""
    return {
        "type": "function",
        "function": {"name": name, "description": description, "parameters": parameters},
    }


def _tool_call(raw: dict[str, Any]) -> ToolCall:
    function = raw.get("function") or {}
    text = function.get("arguments") or ""
    try:
        parsed = json.loads(text) if text else {}
    except ValueError:
        parsed = None
    return ToolCall(
        id=str(raw.get("id", "")), name=str(function.get("name", "")), raw_arguments=text,
        arguments=parsed if isinstance(parsed, dict) else None,
    )


def parse_chat_completion(body: dict[str, Any]) -> ChatResult:
    """The parts of a `chat.completion` object DS1 uses; KeyError/TypeError if malformed."""
    choice = body["choices"][0]
    message = choice["message"]
    usage = body.get("usage") or {}
    return ChatResult(
        id=str(body.get("id", "")),
        model=str(body.get("model", "")),
        content=message.get("content"),
        finish_reason=str(choice.get("finish_reason") or ""),
        usage=Usage(
            int(usage.get("prompt_tokens", 0)), int(usage.get("completion_tokens", 0)),
            int(usage.get("total_tokens", 0)),
        ),
        tool_calls=[_tool_call(call) for call in message.get("tool_calls") or []],
    )


def _mentions_completion_limit(response: httpx.Response) -> bool:
    try:
        error = response.json().get("error") or {}
    except (ValueError, AttributeError):
        return "max_completion_tokens" in response.text
    return error.get("param") == "max_completion_tokens" or "max_completion_tokens" in str(
        error.get("message", "")
    )


class ChatCompletions:
    """An OpenAI-compatible `POST {base_url}/chat/completions` endpoint.

    Args:
        base_url: e.g. `https://api.openai.com/v1` or `http://localhost:11434/v1`.
        api_key: sent as a bearer token (local servers accept any value).
        model: the model name the server knows.
        resilience: default 3 attempts, breaker 5/60 s, 2 requests/s.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        model: str,
        *,
        resilience: Resilience | None = None,
        timeout: httpx.Timeout = AI_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.model = model
        self.http = PlatformHttp(
            PLATFORM, base_url.rstrip("/"),
            resilience=resilience or default_resilience(PLATFORM, 2.0, 4.0),
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=timeout, transport=transport,
        )
        self._limit_name = "max_completion_tokens"
        self._lock = threading.Lock()

    @property
    def limit_parameter(self) -> str:
        """The name this server takes for the output limit (learned on first rejection)."""
        return self._limit_name

    def _assess(self, response: httpx.Response) -> Assessment:
        verdict = self.http.assess_status(response)
        if (
            response.status_code == 400
            and self._limit_name == "max_completion_tokens"
            and _mentions_completion_limit(response)
        ):
            return Assessment(Verdict.REJECT, UNSUPPORTED_LIMIT, status_code=400)
        return verdict

    def complete(
        self,
        messages: Sequence[dict[str, Any]],
        *,
        tools: Sequence[dict[str, Any]] | None = None,
        tool_choice: str | dict[str, Any] | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        seed: int | None = None,
    ) -> ChatResult:
        """One completion (not streamed). Raises PlatformRejected for a refused request."""
        body: dict[str, Any] = {"model": self.model, "messages": list(messages), "stream": False}
        if tools:
            body["tools"] = list(tools)
        if tool_choice is not None:
            body["tool_choice"] = tool_choice
        if temperature is not None:
            body["temperature"] = temperature
        if seed is not None:
            body["seed"] = seed
        if max_tokens is None:
            return self._send(body)
        try:
            return self._send({**body, self._limit_name: max_tokens})
        except PlatformRejected as exc:
            if exc.reason != UNSUPPORTED_LIMIT:
                raise
            with self._lock:
                self._limit_name = "max_tokens"
            return self._send({**body, "max_tokens": max_tokens})

    def _send(self, body: dict[str, Any]) -> ChatResult:
        response = self.http.request("POST", "/chat/completions", json_body=body,
                                     assess=self._assess)
        try:
            return parse_chat_completion(self.http.json(response))
        except (KeyError, IndexError, TypeError, ValueError, AttributeError):
            raise PlatformUnavailable(
                PLATFORM, "answer is not a chat.completion", status_code=response.status_code
            ) from None

    def close(self) -> None:
        self.http.close()
