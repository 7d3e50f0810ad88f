"""The user's conversation with the CEO: a command language, or an AI model with tools.

`CeoChat.answer(message)` turns one user message into actions on the running
business (USER_COMMAND events through `LiveBackend.submit_command`) and a text
reply.

- With an OpenAI-compatible model configured (`adapters.ai.mode: live`: base
  URL and key from the overlay, model from `ai_policy.model`), the CEO is the
  model: it gets the message and three tools, `get_kpis`, `get_agents` and
  `delegate(agent, command, argument)`, and loops (at most `MAX_TOOL_ROUNDS`)
  until it answers in text.
- Without one (or when the AI token budget is spent and
  `ai_policy.on_budget_exhausted` is `templates`), the deterministic command
  language below is parsed and executed. An unknown message is a `ChatRefused`
  listing the commands.

Limits come from `ai_policy`: `rate_limit_per_minute` over all chat requests
(a token bucket; excess gets `ChatThrottled` with the seconds to wait),
`daily_token_cap` over the tokens the chat spends per UTC day,
`max_tokens` and `temperature` per completion.

Command language (case-insensitive, one command per message)::

    status                      agents, risk mode, cash, budget
    report                      the KPIs in full
    pause campaign N            marketing pauses campaign (product slot) N
    resume campaign N
    pause ads | resume ads      the CEO halts / resumes all ad spend
    set budget X                daily ad budget in dollars (80, $80, 80.50)
    research [CATEGORY]         research scans for products now
    approve product N           research adds product slot N to the tests
    reject product N
    help
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from ds1ray.adapters.live.openai_chat import ChatCompletions, ChatResult, tool
from ds1ray.config.bootstrap import AiPolicy
from ds1ray.live.backend import COMMANDS, LiveBackend
from ds1ray.live.resilience import CircuitBreaker, PlatformError, Resilience, RetryPolicy, TokenBucket

MAX_TOOL_ROUNDS = 4
MAX_MESSAGE_CHARS = 2000
MAX_BUDGET_DOLLARS = Decimal("1000000")
CEO = "ceo"

SYSTEM_PROMPT = (
    "You are the CEO agent of DS1, an autonomous dropshipping business. The owner talks to you. "
    "Use get_kpis and get_agents to answer questions with real figures (money is in integer "
    "cents; say it in dollars). To act, call delegate with an agent and one of these commands: "
    + "; ".join(f"{name} ({what})" for name, what in COMMANDS.items())
    + ". set_budget, pause and resume go to the agent 'ceo'; campaigns to 'marketing'; research, "
    "approve and reject to 'research'. Answer briefly and say what you did."
)

HELP = (
    "Commands: status · report · pause campaign N · resume campaign N · pause ads · resume ads · "
    "set budget X · research [category] · approve product N · reject product N"
)


class ChatRefused(ValueError):
    """The message is not something the CEO can do (answered 422 with the reason)."""


class ChatThrottled(Exception):
    """Over the chat's rate limit or AI budget (answered 429 with Retry-After)."""

    def __init__(self, reason: str, retry_after: float) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = max(1, int(retry_after + 0.999))


@dataclass
class ChatAnswer:
    reply: str
    mode: str  # "commands" or "ai"
    actions: list[dict[str, str]] = field(default_factory=list)
    tokens: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"reply": self.reply, "mode": self.mode, "actions": self.actions, "tokens": self.tokens}


# ----------------------------------------------------------------------------- the command language


@dataclass(frozen=True)
class Command:
    """A parsed message: a query (`status`, `report`, `help`) or a USER_COMMAND for the CEO."""

    name: str
    argument: str = ""

    @property
    def is_query(self) -> bool:
        return self.name in ("status", "report", "help")


_NUMBER = r"#?(\d{1,6})"
_PATTERNS: list[tuple[re.Pattern[str], Callable[[re.Match[str]], Command]]] = [
    (re.compile(r"(?:status|how are we doing\??)"), lambda m: Command("status")),
    (re.compile(r"(?:report|kpis?)"), lambda m: Command("report")),
    (re.compile(r"(?:help|\?)"), lambda m: Command("help")),
    (re.compile(rf"pause\s+campaign\s+{_NUMBER}"), lambda m: Command("pause_campaign", m[1])),
    (re.compile(rf"resume\s+campaign\s+{_NUMBER}"), lambda m: Command("resume_campaign", m[1])),
    (re.compile(r"pause\s+(?:all\s+)?(?:ads|business|everything)"), lambda m: Command("pause")),
    (re.compile(r"resume\s+(?:all\s+)?(?:ads|business|everything)"), lambda m: Command("resume")),
    (re.compile(r"set\s+(?:the\s+)?(?:daily\s+)?(?:ad\s+)?budget\s+(?:to\s+)?\$?(\S+)"),
     lambda m: Command("set_budget", _dollars(m[1]))),
    (re.compile(r"research(?:\s+(.+))?"), lambda m: Command("research", (m[1] or "").strip())),
    (re.compile(rf"approve\s+(?:product\s+)?{_NUMBER}"), lambda m: Command("approve", m[1])),
    (re.compile(rf"reject\s+(?:product\s+)?{_NUMBER}"), lambda m: Command("reject", m[1])),
]


def _dollars(text: str) -> str:
    try:
        amount = Decimal(text.replace(",", ""))
    except InvalidOperation:
        raise ChatRefused(f"the budget {text!r} is not an amount in dollars (e.g. set budget 80)") from None
    if not amount.is_finite() or amount < 0 or amount > MAX_BUDGET_DOLLARS:
        raise ChatRefused(f"the budget must be between 0 and {MAX_BUDGET_DOLLARS} dollars")
    if amount != amount.quantize(Decimal("0.01")):
        raise ChatRefused("the budget has more than two decimals (cents are the smallest unit)")
    return f"{amount.quantize(Decimal('0.01'))}"


def parse_command(message: str) -> Command:
    """The command in `message`, or `ChatRefused` naming what is understood."""
    text = " ".join(message.strip().lower().split()).rstrip(".!")
    if not text:
        raise ChatRefused(f"the message is empty. {HELP}")
    for pattern, build in _PATTERNS:
        match = pattern.fullmatch(text)
        if match:
            return build(match)
    raise ChatRefused(f"I do not understand {message.strip()[:80]!r}. {HELP}")


# ----------------------------------------------------------------------------- answers from figures


def money(cents: Any) -> str:
    if not isinstance(cents, int):
        return "n/a"
    sign = "-" if cents < 0 else ""
    return f"{sign}${abs(cents) // 100:,}.{abs(cents) % 100:02d}"


def status_text(kpis: dict[str, Any], agents: list[dict[str, Any]]) -> str:
    down = [f"{a['name']} ({a['state']})" for a in agents if a.get("state") != "ALIVE"]
    health = "all agents alive" if not down else "not alive: " + ", ".join(down)
    return (
        f"Day {kpis.get('day')}: {health}. Risk mode {kpis.get('risk_mode')}, cash "
        f"{money(kpis.get('cash_cents'))}, daily ad budget {money(kpis.get('daily_ad_budget_cents'))}, "
        f"{kpis.get('orders')} orders so far."
    )


def report_text(kpis: dict[str, Any]) -> str:
    campaigns = kpis.get("campaigns") or []
    active = sum(1 for c in campaigns if c.get("status") == "active")
    lines = [
        f"Day {kpis.get('day')} report:",
        f"cash {money(kpis.get('cash_cents'))}, revenue {money(kpis.get('revenue_cents'))}, "
        f"ad spend {money(kpis.get('ad_spend_cents'))}, orders {kpis.get('orders')}, ROAS {kpis.get('roas')}",
        f"daily ad budget {money(kpis.get('daily_ad_budget_cents'))}, risk mode {kpis.get('risk_mode')}, "
        f"campaigns {active} active of {len(campaigns)}",
    ]
    return "\n".join(lines)


def _acknowledgement(command: Command) -> str:
    what = {
        "set_budget": f"daily ad budget set to ${command.argument}",
        "pause": "all ad spend paused",
        "resume": "ad spend resumed",
        "pause_campaign": f"campaign {command.argument} paused",
        "resume_campaign": f"campaign {command.argument} resumed",
        "research": f"research asked to scan{' for ' + command.argument if command.argument else ''} now",
        "approve": f"product {command.argument} approved for testing",
        "reject": f"product {command.argument} rejected",
    }[command.name]
    return f"Done: {what} (the team applies it now)."


# ----------------------------------------------------------------------------- limits


class RequestLimit:
    """A token bucket that refuses instead of waiting: `per_minute` requests, bursts as large."""

    def __init__(self, per_minute: int, *, now: Callable[[], float] = time.monotonic) -> None:
        if per_minute < 1:
            raise ValueError(f"per_minute must be at least 1, got {per_minute}")
        self.per_minute = per_minute
        self._rate = per_minute / 60.0
        self._tokens = float(per_minute)
        self._now = now
        self._refilled = now()
        self._lock = threading.Lock()

    def take(self) -> float:
        """0 if a request may go now (and it is counted), else the seconds until one may."""
        with self._lock:
            now = self._now()
            self._tokens = min(float(self.per_minute), self._tokens + (now - self._refilled) * self._rate)
            self._refilled = now
            if self._tokens < 1.0:
                return (1.0 - self._tokens) / self._rate
            self._tokens -= 1.0
            return 0.0


class ChatLimits:
    """`ai_policy`'s rate limit over chat requests and its daily AI token cap."""

    def __init__(self, policy: AiPolicy, *, now: Callable[[], float] = time.time) -> None:
        self.policy = policy
        self._now = now
        self._requests = RequestLimit(policy.rate_limit_per_minute, now=now)
        self._day = self._today()
        self._spent = 0
        self._lock = threading.Lock()

    def admit(self) -> None:
        """Count one request, or raise `ChatThrottled` with the wait."""
        wait = self._requests.take()
        if wait > 0:
            raise ChatThrottled(f"more than {self.policy.rate_limit_per_minute} chat requests per minute", wait)

    def budget_left(self) -> int | None:
        """AI tokens left today (None: no cap)."""
        cap = self.policy.daily_token_cap
        with self._lock:
            self._roll_day()
            return None if cap is None else max(0, cap - self._spent)

    def spend(self, tokens: int) -> None:
        with self._lock:
            self._roll_day()
            self._spent += tokens

    def seconds_to_midnight(self) -> float:
        now = datetime.fromtimestamp(self._now(), UTC)
        midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), UTC)
        return (midnight - now).total_seconds()

    def _today(self) -> str:
        return datetime.fromtimestamp(self._now(), UTC).date().isoformat()

    def _roll_day(self) -> None:
        today = self._today()
        if today != self._day:
            self._day, self._spent = today, 0


# ----------------------------------------------------------------------------- the CEO


TOOLS = [
    tool("get_kpis", "The business's KPIs now (money in integer cents).",
         {"type": "object", "properties": {}, "additionalProperties": False}),
    tool("get_agents", "The team's agents and their state.",
         {"type": "object", "properties": {}, "additionalProperties": False}),
    tool("delegate", "Send a command to one agent of the team (publishes a USER_COMMAND).",
         {"type": "object", "properties": {
             "agent": {"type": "string", "description": "agent id, e.g. ceo, marketing, research"},
             "command": {"type": "string", "enum": list(COMMANDS)},
             "argument": {"type": "string", "description": "the command's argument, '' if none"}},
          "required": ["agent", "command"], "additionalProperties": False}),
]


class CeoChat:
    """Answers the user's messages; see the module docstring."""

    def __init__(self, backend: LiveBackend, policy: AiPolicy, *, model: ChatCompletions | None = None,
                 now: Callable[[], float] = time.time) -> None:
        self.backend = backend
        self.policy = policy
        self.model = model
        self.limits = ChatLimits(policy, now=now)

    @classmethod
    def from_config(cls, config: Any, backend: LiveBackend) -> CeoChat:
        """With `adapters.ai.mode: live`, a model client from the overlay (its secret read now)."""
        ai = config.bootstrap.adapters.ai
        model = None
        if ai.mode == "live" and ai.base_url:
            key = config.secret(ai.secret) if ai.secret else "none"
            policies = config.bootstrap.policies
            # The overlay's retry and breaker policies and the AI port's rate; a user waits on the
            # answer, so a long Retry-After fails fast (503) instead of holding the request.
            guard = Resilience(
                "ai",
                retry=RetryPolicy(max_attempts=policies.retry.max_attempts, base_delay=policies.retry.base_delay_s,
                                  max_delay=policies.retry.max_delay_s, max_retry_after=10.0,
                                  total_timeout=float(ai.timeout_s)),
                breaker=CircuitBreaker("ai", failure_threshold=policies.circuit_breaker.failure_threshold,
                                       reset_timeout=policies.circuit_breaker.reset_timeout_s),
                rate_limiter=TokenBucket(ai.rate_limit_per_minute / 60.0, max(1.0, ai.rate_limit_per_minute / 60.0)),
            )
            model = ChatCompletions(ai.base_url, key, config.bootstrap.ai_policy.model, resilience=guard)
        return cls(backend, config.bootstrap.ai_policy, model=model)

    def answer(self, message: str) -> ChatAnswer:
        if len(message) > MAX_MESSAGE_CHARS:
            raise ChatRefused(f"the message is longer than {MAX_MESSAGE_CHARS} characters")
        self.limits.admit()
        if self.model is None:
            return self.run_command(message)
        left = self.limits.budget_left()
        if left is not None and left <= 0:
            if self.policy.on_budget_exhausted == "halt":
                raise ChatThrottled("the AI token budget for today is spent",
                                    self.limits.seconds_to_midnight())
            answer = self.run_command(message)
            answer.reply += " (AI budget for today spent: answered by the command language.)"
            return answer
        return self._converse(message)

    def run_command(self, message: str) -> ChatAnswer:
        """The deterministic command language."""
        command = parse_command(message)
        if command.name == "help":
            return ChatAnswer(HELP, "commands")
        if command.name == "status":
            return ChatAnswer(status_text(self.backend.kpis(), self.backend.agents()), "commands")
        if command.name == "report":
            return ChatAnswer(report_text(self.backend.kpis()), "commands")
        event_id = self.backend.submit_command(CEO, command.name, command.argument)
        action = {"target": CEO, "command": command.name, "argument": command.argument, "event_id": event_id}
        return ChatAnswer(_acknowledgement(command), "commands", [action])

    def _converse(self, message: str) -> ChatAnswer:
        assert self.model is not None
        messages: list[dict[str, Any]] = [{"role": "system", "content": SYSTEM_PROMPT},
                                          {"role": "user", "content": message}]
        answer = ChatAnswer("", "ai")
        for _ in range(MAX_TOOL_ROUNDS):
            result = self._complete(messages)
            answer.tokens += result.usage.total_tokens
            self.limits.spend(result.usage.total_tokens)
            if not result.tool_calls:
                answer.reply = (result.content or "").strip() or "(no answer)"
                return answer
            messages.append({"role": "assistant", "content": result.content, "tool_calls": [
                {"id": call.id, "type": "function",
                 "function": {"name": call.name, "arguments": call.raw_arguments}}
                for call in result.tool_calls]})
            for call in result.tool_calls:
                output = self._run_tool(call.name, call.arguments, answer)
                messages.append({"role": "tool", "tool_call_id": call.id, "content": json.dumps(output)})
        done = "; ".join(f"{a['command']} {a['argument']}".strip() + f" → {a['target']}" for a in answer.actions)
        answer.reply = f"Done: {done}." if done else "I could not finish that; please ask again more simply."
        return answer

    def _complete(self, messages: list[dict[str, Any]]) -> ChatResult:
        assert self.model is not None
        try:
            return self.model.complete(messages, tools=TOOLS, temperature=self.policy.temperature,
                                       max_tokens=self.policy.max_tokens)
        except PlatformError as error:
            raise ChatUnavailable(f"the AI model is unavailable ({error.reason})") from None

    def _run_tool(self, name: str, arguments: dict[str, Any] | None, answer: ChatAnswer) -> Any:
        if name == "get_kpis":
            return self.backend.kpis()
        if name == "get_agents":
            return self.backend.agents()
        if name != "delegate":
            return {"error": f"no tool {name!r}"}
        if not arguments:
            return {"error": "delegate needs JSON arguments {agent, command, argument}"}
        agent, command = str(arguments.get("agent", "")), str(arguments.get("command", ""))
        argument = str(arguments.get("argument", "") or "")
        agents = {a["name"] for a in self.backend.agents()}
        if agent not in agents:
            return {"error": f"no agent {agent!r}; agents: {', '.join(sorted(agents))}"}
        if command not in COMMANDS:
            return {"error": f"no command {command!r}; commands: {', '.join(COMMANDS)}"}
        event_id = self.backend.submit_command(agent, command, argument)
        answer.actions.append({"target": agent, "command": command, "argument": argument, "event_id": event_id})
        return {"published": "USER_COMMAND", "event_id": event_id}


class ChatUnavailable(RuntimeError):
    """The AI model could not be reached (answered 503)."""
