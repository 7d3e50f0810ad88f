"""The CEO chat: the command language, its effects on the business, limits, and the AI with tools."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from contract_servers.base import serve
from contract_servers.openai import OpenAIServer, tool_call_reply

from ds1ray.adapters.live.openai_chat import ChatCompletions
from ds1ray.live.app import create_app, intake_from_config
from ds1ray.live.chat import CeoChat, ChatRefused, ChatThrottled, Command, parse_command
from ds1ray.live.resilience import Resilience, RetryPolicy
from ds1ray.live.server import HttpServer
from live.test_app_harness import (
    LiveApp,
    chat_for,
    secrets_env,
    sqlite_live_app,
    sqlite_store_url,
    staging_config,
)

__all__ = ["secrets_env", "sqlite_live_app", "sqlite_store_url", "staging_config"]


@pytest.mark.parametrize(("message", "command"), [
    ("status", Command("status")),
    ("  Report. ", Command("report")),
    ("pause campaign 3", Command("pause_campaign", "3")),
    ("Resume Campaign #12", Command("resume_campaign", "12")),
    ("pause ads", Command("pause")),
    ("resume all ads", Command("resume")),
    ("set budget 80", Command("set_budget", "80.00")),
    ("set the daily ad budget to $80.50", Command("set_budget", "80.50")),
    ("research", Command("research", "")),
    ("research Kitchen Gadgets", Command("research", "kitchen gadgets")),
    ("approve product 5", Command("approve", "5")),
    ("reject 7", Command("reject", "7")),
    ("help", Command("help")),
])
def test_command_language_parses_each_command(message: str, command: Command) -> None:
    assert parse_command(message) == command


@pytest.mark.parametrize(("message", "complaint"), [
    ("", "empty"),
    ("sell everything", "do not understand"),
    ("set budget eighty", "not an amount"),
    ("set budget -5", "between 0 and"),
    ("set budget 80.001", "more than two decimals"),
    ("set budget nan", "between 0 and"),
    ("pause campaign x", "do not understand"),
])
def test_command_language_refuses_what_it_cannot_do_saying_why(message: str, complaint: str) -> None:
    with pytest.raises(ChatRefused, match=complaint):
        parse_command(message)


def chat(live: LiveApp, message: str) -> dict[str, Any]:
    response = live.client.post("/api/chat", json={"message": message})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_set_budget_publishes_a_user_command_and_the_ceo_applies_it(sqlite_live_app: LiveApp) -> None:
    answer = chat(sqlite_live_app, "set budget 80")

    assert answer["mode"] == "commands"
    assert answer["actions"][0]["command"] == "set_budget"
    assert "$80.00" in answer["reply"]
    assert sqlite_live_app.client.get("/api/kpis").json()["daily_ad_budget_cents"] == 8000
    recorded = sqlite_live_app.count("event_log", f"WHERE event_id = '{answer['actions'][0]['event_id']}'")
    assert recorded == 1


def test_pause_campaign_is_delegated_to_marketing_and_resume_undoes_it(sqlite_live_app: LiveApp) -> None:
    live = sqlite_live_app
    campaign = live.client.get("/api/kpis").json()["campaigns"][0]["id"]

    chat(live, f"pause campaign {campaign}")
    paused = {c["id"]: c["status"] for c in live.client.get("/api/kpis").json()["campaigns"]}
    chat(live, f"resume campaign {campaign}")
    resumed = {c["id"]: c["status"] for c in live.client.get("/api/kpis").json()["campaigns"]}

    assert paused[campaign] == "paused"
    assert resumed[campaign] == "active"


def test_pause_ads_halts_the_business_and_status_says_so(sqlite_live_app: LiveApp) -> None:
    chat(sqlite_live_app, "pause ads")

    status = chat(sqlite_live_app, "status")["reply"]

    assert "Risk mode halt" in status
    assert "Day 2: all agents alive" in status


def test_report_gives_the_figures_in_dollars(sqlite_live_app: LiveApp) -> None:
    kpis = sqlite_live_app.client.get("/api/kpis").json()
    cash = kpis["cash_cents"]

    reply = chat(sqlite_live_app, "report")["reply"]

    assert f"cash ${cash // 100:,}.{cash % 100:02d}" in reply


def test_a_message_that_is_no_command_is_refused_with_the_list_of_commands(sqlite_live_app: LiveApp) -> None:
    response = sqlite_live_app.client.post("/api/chat", json={"message": "buy bitcoin"})

    assert response.status_code == 422
    assert "set budget X" in response.json()["reply"]
    assert sqlite_live_app.count("event_log") == 0


def test_chat_over_its_rate_limit_is_throttled_with_the_wait(sqlite_live_app: LiveApp) -> None:
    limited = chat_for(sqlite_live_app, rate_limit_per_minute=2)
    limited.answer("status")
    limited.answer("status")

    with pytest.raises(ChatThrottled, match="more than 2 chat requests per minute") as throttled:
        limited.answer("status")
    assert 1 <= throttled.value.retry_after <= 30


def test_the_http_answer_to_a_throttled_chat_is_429_with_retry_after(
        secrets_env: None, staging_config: Any, sqlite_store_url: str) -> None:
    from live.test_app_harness import serve_live_app

    for live in serve_live_app(staging_config, sqlite_store_url):
        statuses = [live.client.post("/api/chat", json={"message": "status"}).status_code for _ in range(61)]
        assert statuses[:60] == [200] * 60  # ai_policy.rate_limit_per_minute: 60
        last = live.client.post("/api/chat", json={"message": "status"})
        assert last.status_code == 429
        assert int(last.headers["Retry-After"]) >= 1
        assert live.metric("ds1_chat_requests_total", mode="commands", outcome="throttled") == 2


# ----------------------------------------------------------------------------- with an AI model


@pytest.fixture
def openai_server() -> Iterator[OpenAIServer]:
    server = OpenAIServer(api_key="sk-test")
    with serve(server):
        yield server


def model_client(server: OpenAIServer) -> ChatCompletions:
    # One attempt: a chat user should not wait out backoff (the resilience layer is tested elsewhere).
    return ChatCompletions(f"{server.url}/v1", "sk-test", "gpt-test",
                           resilience=Resilience("ai", retry=RetryPolicy(max_attempts=1)))


def ai_chat(live: LiveApp, server: OpenAIServer, **policy: Any) -> CeoChat:
    model = model_client(server)
    return CeoChat(live.backend, live.config.bootstrap.ai_policy.model_copy(update=policy), model=model)


def test_ai_ceo_reads_kpis_and_delegates_with_tool_calls(sqlite_live_app: LiveApp,
                                                         openai_server: OpenAIServer) -> None:
    ceo = ai_chat(sqlite_live_app, openai_server)
    openai_server.replies.extend([
        tool_call_reply("get_kpis", {}),
        tool_call_reply("delegate", {"agent": "ceo", "command": "set_budget", "argument": "95"}),
        {"content": "Budget raised to $95.00 a day."},
    ])

    answer = ceo.answer("Things look good, raise the ad budget to 95 dollars")

    assert answer.mode == "ai"
    assert answer.reply == "Budget raised to $95.00 a day."
    assert [(a["target"], a["command"], a["argument"]) for a in answer.actions] == [("ceo", "set_budget", "95")]
    assert answer.tokens > 0
    assert sqlite_live_app.backend.kpis()["daily_ad_budget_cents"] == 9500
    requests = openai_server.requests_to("/v1/chat/completions", "POST")
    assert {t["function"]["name"] for t in requests[0].json()["tools"]} == {"get_kpis", "get_agents", "delegate"}
    # The model saw the KPIs it asked for, as the tool's answer.
    tool_message = requests[1].json()["messages"][-1]
    assert tool_message["role"] == "tool" and '"cash_cents"' in tool_message["content"]


def test_ai_delegation_to_an_unknown_agent_is_answered_as_a_tool_error_and_publishes_nothing(
        sqlite_live_app: LiveApp, openai_server: OpenAIServer) -> None:
    ceo = ai_chat(sqlite_live_app, openai_server)
    openai_server.replies.extend([
        tool_call_reply("delegate", {"agent": "cfo", "command": "set_budget", "argument": "1"}),
        {"content": "I have no CFO."},
    ])

    answer = ceo.answer("ask the cfo")

    assert answer.actions == []
    assert sqlite_live_app.count("event_log") == 0
    tool_message = openai_server.requests_to("/v1/chat/completions")[1].json()["messages"][-1]
    assert "no agent 'cfo'" in tool_message["content"]


def test_spent_ai_budget_falls_back_to_the_command_language_with_templates(
        sqlite_live_app: LiveApp, openai_server: OpenAIServer) -> None:
    ceo = ai_chat(sqlite_live_app, openai_server, daily_token_cap=10, on_budget_exhausted="templates")
    openai_server.replies.append({"content": "All is well, and here are many words to spend tokens."})
    ceo.answer("how are we doing today, in detail?")

    answer = ceo.answer("set budget 70")

    assert answer.mode == "commands"
    assert "AI budget for today spent" in answer.reply
    assert sqlite_live_app.backend.kpis()["daily_ad_budget_cents"] == 7000
    assert len(openai_server.requests_to("/v1/chat/completions")) == 1


def test_spent_ai_budget_with_halt_is_throttled_until_midnight(sqlite_live_app: LiveApp,
                                                                openai_server: OpenAIServer) -> None:
    ceo = ai_chat(sqlite_live_app, openai_server, daily_token_cap=10, on_budget_exhausted="halt")
    openai_server.replies.append({"content": "All is well, and here are many words to spend tokens."})
    ceo.answer("how are we doing?")

    with pytest.raises(ChatThrottled, match="AI token budget") as throttled:
        ceo.answer("and now?")
    assert 0 < throttled.value.retry_after <= 86_400


def test_ai_chat_is_served_over_http_when_a_model_is_configured(
        secrets_env: None, staging_config: Any, sqlite_store_url: str, openai_server: OpenAIServer) -> None:
    from ds1ray.live.backend import InProcessBackend
    from ds1ray.store import open_store

    with open_store(sqlite_store_url) as store:
        backend = InProcessBackend(staging_config, store, days=10)
        model = model_client(openai_server)
        ceo = CeoChat(backend, staging_config.bootstrap.ai_policy, model=model)
        intake, redactor = intake_from_config(staging_config)
        server = HttpServer(create_app(staging_config, store, backend, intake, redactor=redactor, chat=ceo), port=0)
        url = server.start()
        try:
            import httpx

            openai_server.replies.append({"content": "Cash is fine."})
            answer = httpx.post(f"{url}/api/chat", json={"message": "how is cash?"}).json()
            openai_server.faults.fail_for(60, 503)
            down = httpx.post(f"{url}/api/chat", json={"message": "and now?"}, timeout=60)
        finally:
            server.stop()
    assert (answer["mode"], answer["reply"]) == ("ai", "Cash is fine.")
    assert down.status_code == 503
    assert "AI model is unavailable" in down.json()["reply"]


def test_a_live_ai_adapter_gives_the_ceo_a_model_and_staging_the_command_language(
        sqlite_live_app: LiveApp, monkeypatch: pytest.MonkeyPatch) -> None:
    from ds1ray.config import load_config

    monkeypatch.setenv("OPENAI_API_KEY", "sk-live-test")
    live_config = load_config("bootstrap.live.yaml")

    with_model = CeoChat.from_config(live_config, sqlite_live_app.backend)
    without = CeoChat.from_config(sqlite_live_app.config, sqlite_live_app.backend)

    assert with_model.model is not None
    assert with_model.model.model == live_config.bootstrap.ai_policy.model
    assert without.model is None


def test_a_live_ai_adapter_without_its_key_stops_start_up_naming_it(
        sqlite_live_app: LiveApp, monkeypatch: pytest.MonkeyPatch) -> None:
    from ds1ray.config import load_config

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)

    with pytest.raises(Exception, match="OPENAI_API_KEY"):
        CeoChat.from_config(load_config("bootstrap.live.yaml"), sqlite_live_app.backend)
