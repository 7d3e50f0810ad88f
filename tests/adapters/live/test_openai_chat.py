"""ChatCompletions against an OpenAI-compatible contract server."""

from __future__ import annotations

import pytest
from contract_servers.openai import OpenAIServer, tool_call_reply

from ds1ray.adapters.live.openai_chat import ChatCompletions, tool
from ds1ray.live.clock import ManualClock
from ds1ray.live.resilience import PlatformRejected, PlatformUnavailable

from .conftest import MakeGuard

KPI_TOOL = tool("get_kpis", "Read today's KPIs", {
    "type": "object", "properties": {"day": {"type": "string"}}, "required": ["day"]})


def chat(server: OpenAIServer, make_guard: MakeGuard, key: str = "sk-test") -> ChatCompletions:
    return ChatCompletions(f"{server.url}/v1", key, "gpt-test", resilience=make_guard("ai"))


def test_text_reply_with_usage(openai_server: OpenAIServer, make_guard: MakeGuard) -> None:
    openai_server.replies.append({"content": "Revenue is up four percent."})
    result = chat(openai_server, make_guard).complete(
        [{"role": "user", "content": "How are we doing today?"}], temperature=0.3, max_tokens=600
    )
    assert result.content == "Revenue is up four percent."
    assert result.finish_reason == "stop"
    assert result.usage.total_tokens == result.usage.prompt_tokens + result.usage.completion_tokens
    assert result.usage.prompt_tokens == 5
    sent = openai_server.requests[-1].json()
    assert sent["max_completion_tokens"] == 600 and "max_tokens" not in sent
    assert sent["temperature"] == 0.3


def test_tool_calls_come_back_with_parsed_arguments(
    openai_server: OpenAIServer, make_guard: MakeGuard
) -> None:
    openai_server.replies.append(tool_call_reply("get_kpis", {"day": "2026-01-05"}))
    result = chat(openai_server, make_guard).complete(
        [{"role": "user", "content": "KPIs?"}], tools=[KPI_TOOL], tool_choice="auto"
    )
    assert result.finish_reason == "tool_calls"
    assert [(c.name, c.arguments) for c in result.tool_calls] == [
        ("get_kpis", {"day": "2026-01-05"})]
    assert openai_server.requests[-1].json()["tools"][0]["function"]["name"] == "get_kpis"


def test_invalid_tool_arguments_are_kept_raw_not_guessed(
    openai_server: OpenAIServer, make_guard: MakeGuard
) -> None:
    openai_server.replies.append(tool_call_reply("get_kpis", '{"day": 2026-01'))
    call = chat(openai_server, make_guard).complete(
        [{"role": "user", "content": "KPIs?"}], tools=[KPI_TOOL]
    ).tool_calls[0]
    assert call.arguments is None
    assert call.raw_arguments == '{"day": 2026-01'


def test_a_server_that_rejects_max_completion_tokens_gets_max_tokens_from_then_on(
    openai_server: OpenAIServer, make_guard: MakeGuard
) -> None:
    openai_server.legacy = True
    client = chat(openai_server, make_guard)
    assert client.complete([{"role": "user", "content": "hi"}], max_tokens=100).content == "ok"
    assert client.limit_parameter == "max_tokens"
    client.complete([{"role": "user", "content": "again"}], max_tokens=100)
    sent = [r.json() for r in openai_server.requests]
    assert ["max_completion_tokens" in s for s in sent] == [True, False, False]
    assert all(s.get("max_tokens", 100) == 100 for s in sent)
    assert client.http.resilience.breaker.snapshot().consecutive_failures == 0


def test_rate_limited_completion_honours_retry_after(
    openai_server: OpenAIServer, make_guard: MakeGuard, clock: ManualClock
) -> None:
    rate_limited = {"error": {"message": "Rate limit reached", "type": "requests",
                              "code": "rate_limit_exceeded"}}
    openai_server.faults.fail_next(1, 429, headers={"Retry-After": "2"}, body=rate_limited)
    assert chat(openai_server, make_guard).complete([{"role": "user", "content": "x"}]).content
    assert clock.sleeps == [2.0]


def test_a_bad_request_is_rejected_without_retry(
    openai_server: OpenAIServer, make_guard: MakeGuard, clock: ManualClock
) -> None:
    with pytest.raises(PlatformRejected) as raised:
        chat(openai_server, make_guard).complete([{"role": "robot", "content": "x"}])
    assert raised.value.status_code == 400
    assert clock.sleeps == []


def test_a_wrong_key_is_rejected(openai_server: OpenAIServer, make_guard: MakeGuard) -> None:
    with pytest.raises(PlatformRejected) as raised:
        chat(openai_server, make_guard, key="sk-wrong").complete(
            [{"role": "user", "content": "x"}])
    assert raised.value.status_code == 401


def test_an_answer_that_is_not_a_chat_completion_is_unavailable(
    openai_server: OpenAIServer, make_guard: MakeGuard
) -> None:
    openai_server.faults.fail_next(1, 200, body={"object": "list", "data": []})
    with pytest.raises(PlatformUnavailable, match=r"not a chat\.completion"):
        chat(openai_server, make_guard).complete([{"role": "user", "content": "x"}])
