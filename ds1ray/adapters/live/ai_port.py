"""The live AI port: `AiPort` over an OpenAI-compatible chat-completions server.

`complete(task, run)` asks the model once per row for the task's kind of text
(product copy, a support reply, a trend summary, the CEO's brief, ad copy) and
answers True where it was served. The port protocol carries no product or
ticket details, so the prompt is the task's standing instruction; the text the
model wrote is kept in the store table `live_ai_calls` with the tokens it cost.

Token budget: `daily_token_cap` tokens per UTC day over all agents' calls
(from the overlay's `ai_policy`, or `adapters.ai.options.daily_token_cap`;
empty means no cap), counted from `live_ai_calls`, so a restarted actor keeps
the day's spend. Once the day's spend reaches the cap, calls are refused
(False) without asking the model; the call that crosses the cap is served, so
the spend can pass the cap by at most one call (≤ `max_tokens` of output plus
its prompt).

Re-runs: a call made under an event's key (`<agent>:<event id>:<n>:<row>`) is
recorded under it, and a handler re-run after a crash gets the recorded answer
without a second model call or a second charge. A request the server refuses
(400: a content policy, a prompt too long) or a `content_filter` finish is
not served (False); a server still failing after retries raises
`PlatformUnavailable`.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any

import httpx
import numpy as np

from ds1ray.adapters.live.openai_chat import ChatCompletions
from ds1ray.adapters.live.ports import KeyedPort, PortContext
from ds1ray.adapters.ports import I64, B
from ds1ray.errors import UserError
from ds1ray.live.resilience import PlatformRejected
from ds1ray.store.store import Store
from ds1ray.store.transaction import Transaction

AI_CALLS_DDL = (
    "CREATE TABLE IF NOT EXISTS live_ai_calls ("
    "call_key TEXT PRIMARY KEY, day TEXT NOT NULL, task TEXT NOT NULL, model TEXT NOT NULL, "
    "served INTEGER NOT NULL, tokens BIGINT NOT NULL, content TEXT)"
)
SYSTEM_PROMPT = ("You write for a small online store that sells trending products. Be concrete, "
                 "friendly and brief; never invent discounts, guarantees or delivery promises.")
TASK_PROMPTS: dict[str, str] = {
    "product_copy": "Write the product page copy for a newly listed product: a headline and three "
                    "short benefit bullets.",
    "support_reply": "Write a reply to a customer whose order is late or faulty: apologise, say what "
                     "happens next, and keep it under 120 words.",
    "trend_summary": "Summarise in three sentences why a product whose searches are rising is worth "
                     "testing in the store, and the main risk.",
    "ceo_brief": "Write a five-line daily brief for the store's owner: revenue, ad return, cash, the "
                 "decision taken and the one thing to watch.",
    "ad_copy": "Write a primary text of at most 125 characters for a social ad of a product.",
}


@dataclass(frozen=True)
class AiBudget:
    """Tokens per UTC day (None: no cap) and the output limit of one call."""

    daily_token_cap: int | None
    max_tokens: int
    temperature: float | None = None


def utc_day() -> str:
    return datetime.fromtimestamp(time.time(), UTC).date().isoformat()


class LiveAi(KeyedPort):
    """`AiPort` over one chat-completions model; see the module docstring."""

    def __init__(self, client: ChatCompletions, store: Store, budget: AiBudget, *,
                 today: Callable[[], str] = utc_day) -> None:
        super().__init__()
        self.client = client
        self.store = store
        self.budget = budget
        self.today = today
        store.run(lambda tx: tx.execute(AI_CALLS_DDL))

    def complete(self, task: str, run: I64) -> B:
        prompt = TASK_PROMPTS.get(task)
        if prompt is None:
            raise ValueError(f"no AI prompt for task {task!r}; known tasks: {', '.join(TASK_PROMPTS)}")
        served = np.zeros(run.size, bool)
        for row in range(run.size):
            key = None if self._key is None else self.write_key(row)
            answered = None if key is None else self.store.run(partial(_recorded, key=key))
            served[row] = self._ask(task, prompt, key) if answered is None else answered
        return served

    def _ask(self, task: str, prompt: str, key: str | None) -> bool:
        day = self.today()
        cap = self.budget.daily_token_cap
        if cap is not None and self.store.run(lambda tx: _spent(tx, day)) >= cap:
            self._keep(key, day, task, served=False, tokens=0, content=None)
            return False
        try:
            result = self.client.complete(
                [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": prompt}],
                max_tokens=self.budget.max_tokens, temperature=self.budget.temperature)
        except PlatformRejected:
            self._keep(key, day, task, served=False, tokens=0, content=None)
            return False  # the server's answer to this request: not served
        served = bool(result.content) and result.finish_reason != "content_filter"
        self._keep(key, day, task, served=served, tokens=result.usage.total_tokens,
                   content=result.content)
        return served

    def _keep(self, key: str | None, day: str, task: str, *, served: bool, tokens: int,
              content: str | None) -> None:
        def insert(tx: Transaction) -> None:
            tx.execute("INSERT INTO live_ai_calls (call_key, day, task, model, served, tokens, content) "
                       "VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (call_key) DO NOTHING",
                       [key or f"unkeyed:{uuid.uuid4()}", day, task, self.client.model, int(served),
                        tokens, content])

        self.store.run(insert)

    def spent_today(self) -> int:
        day = self.today()
        return int(self.store.run(lambda tx: _spent(tx, day)))

    def status(self) -> dict[str, Any]:
        return self.client.http.resilience.status()


def _recorded(tx: Transaction, key: str) -> bool | None:
    served = tx.scalar("SELECT served FROM live_ai_calls WHERE call_key = %s", [key])
    return None if served is None else bool(served)


def _spent(tx: Transaction, day: str) -> int:
    return int(tx.scalar("SELECT COALESCE(SUM(tokens), 0) FROM live_ai_calls WHERE day = %s", [day]) or 0)


def ai_budget(options: Mapping[str, str]) -> AiBudget:
    """The budget from `adapters.ai.options` (filled from `ai_policy` by the runtime)."""
    def number(name: str, kind: Callable[[str], Any], default: Any) -> Any:
        raw = options.get(name, "")
        if raw in ("", "none", "null"):
            return default
        try:
            return kind(raw)
        except ValueError:
            raise UserError(f"adapters.ai.options.{name} must be a number, got {raw!r}") from None

    return AiBudget(daily_token_cap=number("daily_token_cap", int, None),
                    max_tokens=number("max_tokens", int, 600),
                    temperature=number("temperature", float, None))


def build_ai(context: PortContext) -> LiveAi:
    """The live AI port over the chat-completions server at `context.base_url`."""
    model = context.options.get("model")
    if not model:
        raise UserError("the live AI port needs a model: set ai_policy.model (or adapters.ai.options.model)")
    client = ChatCompletions(context.base_url, context.secret, model,
                             resilience=context.guard.resilience("ai"),
                             timeout=httpx.Timeout(context.timeout_s, connect=min(3.0, context.timeout_s)))
    return LiveAi(client, context.store, ai_budget(context.options))
