"""The live AI port over the OpenAI-compatible contract server: served rows, the daily token budget, re-runs."""

from __future__ import annotations

from pathlib import Path

import pytest
from contract_servers.openai import OpenAIServer, invalid_request

from ds1ray.adapters.live.ai_port import TASK_PROMPTS, AiBudget, LiveAi, ai_budget, build_ai
from ds1ray.adapters.live.openai_chat import ChatCompletions
from ds1ray.adapters.live.ports import GuardSettings, PortContext
from ds1ray.config import load_config
from ds1ray.errors import UserError
from ds1ray.live.clock import ManualClock
from ds1ray.live.resilience import PlatformUnavailable
from ds1ray.live.runtime import plan_adapters
from ds1ray.store import Store

from .conftest import MakeGuard
from .live_fixtures import mock_port, store_fixture  # noqa: F401  (the `store` fixture)
from .twins import RUN, same_form


class Calendar:
    """The UTC day the port charges tokens to, moved by the test."""

    def __init__(self) -> None:
        self.day = "2026-11-25"

    def __call__(self) -> str:
        return self.day


@pytest.fixture
def calendar() -> Calendar:
    return Calendar()


def live_ai(server: OpenAIServer, store: Store, make_guard: MakeGuard, calendar: Calendar,
            cap: int | None = None) -> LiveAi:
    client = ChatCompletions(f"{server.url}/v1", "sk-test", "gpt-4o-mini", resilience=make_guard("ai"))
    return LiveAi(client, store, AiBudget(daily_token_cap=cap, max_tokens=300, temperature=0.3), today=calendar)


def calls(store: Store) -> list[tuple[str, int, int, str | None]]:
    return store.run(lambda tx: tx.execute(
        "SELECT task, served, tokens, content FROM live_ai_calls ORDER BY call_key").fetchall())


def test_each_row_is_one_completion_served_and_its_text_and_tokens_kept(
        openai_server: OpenAIServer, store: Store, make_guard: MakeGuard, calendar: Calendar) -> None:
    port = live_ai(openai_server, store, make_guard, calendar)
    openai_server.replies.extend([{"content": "Meet the cat tree."}, {"content": "Sorry for the delay."}])
    with port.causation("support:evt-1:0"):
        served = port.complete("support_reply", RUN.repeat(2))
    assert served.tolist() == [True, True]
    sent = openai_server.requests_to("/v1/chat/completions", "POST")
    assert len(sent) == 2
    body = sent[0].json()
    assert body["model"] == "gpt-4o-mini" and body["max_completion_tokens"] == 300
    assert body["messages"][1]["content"] == TASK_PROMPTS["support_reply"]
    kept = calls(store)
    assert [(task, bool(ok), text) for task, ok, _, text in kept] == [
        ("support_reply", True, "Meet the cat tree."), ("support_reply", True, "Sorry for the delay.")]
    assert port.spent_today() == sum(tokens for _, _, tokens, _ in kept) > 0


def test_a_rerun_with_the_same_key_asks_and_charges_nothing_more(
        openai_server: OpenAIServer, store: Store, make_guard: MakeGuard, calendar: Calendar) -> None:
    port = live_ai(openai_server, store, make_guard, calendar)
    with port.causation("store:evt-2:0"):
        first = port.complete("product_copy", RUN)
    spent = port.spent_today()
    with port.causation("store:evt-2:0"):
        again = port.complete("product_copy", RUN)
    assert first.tolist() == again.tolist() == [True]
    assert len(openai_server.requests) == 1 and port.spent_today() == spent


def test_calls_are_refused_without_asking_once_the_days_budget_is_spent(
        openai_server: OpenAIServer, store: Store, make_guard: MakeGuard, calendar: Calendar) -> None:
    port = live_ai(openai_server, store, make_guard, calendar, cap=1)
    with port.causation("research:evt-3:0"):
        served = port.complete("trend_summary", RUN.repeat(3))
    # The first call crosses the cap; the others are not sent.
    assert served.tolist() == [True, False, False]
    assert len(openai_server.requests) == 1
    calendar.day = "2026-11-26"  # a new UTC day: a new budget
    with port.causation("research:evt-4:0"):
        assert port.complete("trend_summary", RUN).tolist() == [True]


def test_the_budget_survives_a_restarted_port(
        openai_server: OpenAIServer, store: Store, make_guard: MakeGuard, calendar: Calendar) -> None:
    with (port := live_ai(openai_server, store, make_guard, calendar, cap=1)).causation("ceo:evt-5:0"):
        port.complete("ceo_brief", RUN)
    restarted = live_ai(openai_server, store, make_guard, calendar, cap=1)
    with restarted.causation("ceo:evt-6:0"):
        assert restarted.complete("ceo_brief", RUN).tolist() == [False]


def test_rate_limits_and_server_errors_are_retried_then_served(
        openai_server: OpenAIServer, store: Store, make_guard: MakeGuard, calendar: Calendar,
        clock: ManualClock) -> None:
    openai_server.faults.fail_next(1, 429, headers={"Retry-After": "2"})
    openai_server.faults.fail_next(1, 502)
    port = live_ai(openai_server, store, make_guard, calendar)
    with port.causation("store:evt-7:0"):
        assert port.complete("ad_copy", RUN).tolist() == [True]
    assert clock.sleeps[0] == 2.0 and len(openai_server.requests) == 3


def test_a_refused_request_and_a_filtered_answer_are_not_served(
        openai_server: OpenAIServer, store: Store, make_guard: MakeGuard, calendar: Calendar) -> None:
    openai_server.faults.fail_next(1, 400, body=invalid_request("Your request was rejected by the safety system."))
    openai_server.replies.extend([{"content": None, "finish_reason": "content_filter"}, {"content": "Fine."}])
    port = live_ai(openai_server, store, make_guard, calendar)
    with port.causation("support:evt-8:0"):
        assert port.complete("support_reply", RUN.repeat(3)).tolist() == [False, False, True]


def test_a_server_down_after_retries_raises_unavailable(
        openai_server: OpenAIServer, store: Store, make_guard: MakeGuard, calendar: Calendar) -> None:
    openai_server.faults.fail_next(3, 503)
    port = live_ai(openai_server, store, make_guard, calendar)
    with port.causation("store:evt-9:0"), pytest.raises(PlatformUnavailable):
        port.complete("product_copy", RUN)
    assert calls(store) == []  # nothing charged: the re-run asks again


def test_an_unknown_task_is_a_clear_error(
        openai_server: OpenAIServer, store: Store, make_guard: MakeGuard, calendar: Calendar) -> None:
    with pytest.raises(ValueError, match="no AI prompt for task 'poem'; known tasks: product_copy"):
        live_ai(openai_server, store, make_guard, calendar).complete("poem", RUN)


def test_answers_have_the_mock_ports_shape_and_dtype(
        openai_server: OpenAIServer, store: Store, make_guard: MakeGuard, calendar: Calendar) -> None:
    port = live_ai(openai_server, store, make_guard, calendar)
    with port.causation("store:evt-10:0"):
        live = port.complete("product_copy", RUN.repeat(2))
    assert same_form(live, mock_port("ai").complete("product_copy", RUN.repeat(2)))


def test_the_runtime_gives_the_port_the_overlays_ai_policy_and_options_override_it(
        openai_server: OpenAIServer, store: Store, tmp_path: Path) -> None:
    overlay = tmp_path / "bootstrap.ai.yaml"
    overlay.write_text('environment: ai-only\nadapters:\n  ai: {mode: live, options: {model: llama3.1:8b}}\n'
                       'secrets:\n  OPENAI_API_KEY: "${OPENAI_API_KEY}"\n')
    config = load_config(overlay)
    options = plan_adapters(config)["ai"].options
    policy = config.bootstrap.ai_policy
    assert options["model"] == "llama3.1:8b" != policy.model  # the overlay's option wins
    assert options["max_tokens"] == str(policy.max_tokens)
    assert ai_budget(options).daily_token_cap == policy.daily_token_cap
    built = build_ai(PortContext(base_url=f"{openai_server.url}/v1", secret="sk-test", store=store, slots=24,
                                 guard=GuardSettings(), options=options))
    assert built.client.model == "llama3.1:8b" and built.status()["platform"] == "ai"
    assert ai_budget({"daily_token_cap": ""}).daily_token_cap is None


def test_build_without_a_model_or_with_a_bad_budget_is_a_clear_error(store: Store) -> None:
    context = PortContext(base_url="http://127.0.0.1:9/v1", secret="k", store=store, slots=24,
                          guard=GuardSettings())
    with pytest.raises(UserError, match=r"ai_policy\.model"):
        build_ai(context)
    with pytest.raises(UserError, match=r"adapters\.ai\.options\.daily_token_cap must be a number, got 'lots'"):
        ai_budget({"daily_token_cap": "lots"})
