"""The live instance's HTTP API: webhook ingress, the CEO chat, the JSON API and the dashboard.

`create_app(config, store, backend, intake)` builds the FastAPI application.
It reads and writes the record through the store and asks the running business
(agents, KPIs, breakers, queues, commands) through a `LiveBackend`; it knows
nothing of Ray. Routes (docs/live_http.md has the details):

    POST /webhooks/shopify, /webhooks/stripe   verify, dedupe, validate, redact, commit, then 2xx
    POST /api/chat                             the user talks to the CEO (ds1ray.live.chat)
    GET  /api/agents /api/kpis /api/events /api/dlq /api/config
    GET  /healthz  /metrics  /  (the dashboard, ds1ray/live/static)

A webhook is answered 2xx only after its event and outbox row are committed
(`EventRecorder`, a group commit); a refused one (bad signature, stale, too
large, malformed, invalid, unknown topic, over the rate limit) gets a 4xx, is
counted by reason, and stores nothing. Raw bodies are never logged.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, MutableMapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.routing import BaseRoute, Match

from ds1ray.config import Config
from ds1ray.errors import UserError
from ds1ray.live.backend import BackendUnavailable, LiveBackend
from ds1ray.live.chat import CeoChat, ChatRefused, ChatThrottled, ChatUnavailable, RequestLimit
from ds1ray.live.metrics import CONTENT_TYPE, AppMetrics
from ds1ray.live.redaction import RedactingFilter, Redactor
from ds1ray.live.rejections import RejectReason, WebhookRejected
from ds1ray.live.webhooks import Ds1Event, WebhookIntake, check_content_length
from ds1ray.store.events import EVENT_COLUMNS, Event, event_from_row
from ds1ray.store.store import Store
from ds1ray.store.transaction import Transaction
from ds1ray.store.urls import redact_password

STATIC_DIR = Path(__file__).with_name("static")
PII_HASH_KEY_ENV = "DS1_PII_HASH_KEY"
PII_HASH_SECRET = "PII_HASH_KEY"
MASK = "***"
MAX_EVENTS_LISTED = 500
JS_SAFE_INTEGER = 2**53 - 1


def exact_in_javascript(value: Any) -> Any:
    """`value` with every integer a JavaScript number would round (beyond ±(2^53 − 1): Shopify
    ids, ops's ticket ids) turned into its decimal string, so the dashboard shows it exactly."""
    if isinstance(value, dict):
        return {key: exact_in_javascript(item) for key, item in value.items()}
    if isinstance(value, list):
        return [exact_in_javascript(item) for item in value]
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > JS_SAFE_INTEGER:
        return str(value)
    return value

log = logging.getLogger("ds1ray.live.app")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]],
                   Awaitable[None]]


class ChatRequest(BaseModel):
    message: str = Field(min_length=1, max_length=2000)


# ----------------------------------------------------------------------------- building from config


def pii_hash_key(config: Config) -> str:
    """The key of the e-mail hashes: secret PII_HASH_KEY if the overlay declares it, else $DS1_PII_HASH_KEY."""
    if PII_HASH_SECRET in config.bootstrap.secrets:
        return config.secret(PII_HASH_SECRET)
    key = os.environ.get(PII_HASH_KEY_ENV, "")
    if not key:
        raise UserError(
            f"environment variable {PII_HASH_KEY_ENV} is not set (the key that hashes customers' "
            f"e-mail addresses; keep it stable, or declare a {PII_HASH_SECRET} secret in the overlay)"
        )
    return key


def intake_from_config(config: Config) -> tuple[WebhookIntake, Redactor]:
    """The webhook intake and redactor the overlay describes (secrets read from the environment now).

    Raises `ConfigError`/`UserError` naming a missing secret, and refuses `verify_signatures: false`.
    """
    http = config.bootstrap.http
    if not http.verify_signatures:
        raise UserError(
            f"http.verify_signatures is false in {config.overlay}: ds1ray does not accept unsigned "
            "webhooks (anyone could post fake orders); set it to true"
        )
    redactor = Redactor(pii_hash_key(config))
    secrets: dict[str, str | None] = {}
    for source in ("shopify", "stripe"):
        hook = http.webhooks.get(source)
        secrets[source] = config.secret(hook.secret) if hook else None
    intake = WebhookIntake(
        shopify_secrets=secrets["shopify"], stripe_secrets=secrets["stripe"], redactor=redactor,
        stripe_tolerance=float(http.signature_tolerance_s),
    )
    return intake, redactor


# ----------------------------------------------------------------------------- helpers


def mask_config(data: dict[str, Any]) -> dict[str, Any]:
    """`Config.to_dict()` with every secret reference's value hidden and URL passwords removed."""
    bootstrap = dict(data.get("bootstrap", {}))
    bootstrap["secrets"] = dict.fromkeys(bootstrap.get("secrets", {}), MASK)
    database = dict(bootstrap.get("database", {}))
    if isinstance(database.get("url"), str):
        database["url"] = redact_password(database["url"])
    bootstrap["database"] = database
    return {**data, "bootstrap": bootstrap}


def recent_events(tx: Transaction, limit: int, event_type: str | None) -> list[Event]:
    """The newest events first (the store's `read_events` reads oldest first)."""
    where, params = ("WHERE type = %s", [event_type]) if event_type else ("", [])
    rows = tx.execute(
        f"SELECT {', '.join(EVENT_COLUMNS)} FROM event_log {where} "
        "ORDER BY created_at DESC, event_id DESC LIMIT %s",
        [*params, limit],
    ).fetchall()
    return [event_from_row(tx, row) for row in rows]


def route_template(scope: Scope, routes: Sequence[BaseRoute]) -> str:
    """The path template of the route that served `scope` ("unmatched" if none)."""
    route = scope.get("route")
    if route is None:  # not every route class records itself in the scope
        route = next((r for r in routes if r.matches(scope)[0] is not Match.NONE), None)
    return str(getattr(route, "path", None) or "unmatched")


def timing_middleware(app: ASGIApp, metrics: AppMetrics, routes: Sequence[BaseRoute]) -> ASGIApp:
    """Observe each HTTP request's latency under its route template (not its raw path)."""

    async def middleware(scope: Scope, receive: Callable[[], Awaitable[Message]],
                         send: Callable[[Message], Awaitable[None]]) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await app(scope, receive, send_and_note)
        finally:
            metrics.request_latency.observe(time.perf_counter() - started, route=route_template(scope, routes),
                                            method=scope["method"], status=f"{status // 100}xx")

    return middleware


async def read_limited(request: Request, limit: int) -> bytes:
    """The raw body, refusing (too_large) as soon as it passes `limit` bytes."""
    check_content_length(request.headers.get("content-length"), limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise WebhookRejected(RejectReason.TOO_LARGE, f"body exceeds {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


# ----------------------------------------------------------------------------- the group commit


def add_to_outbox(tx: Transaction, events: list[Event]) -> set[str]:
    """`tx.outbox.add` for many events in two statements; returns the ids newly logged.

    The same rows as `Outbox.add` event by event (log row `ON CONFLICT DO NOTHING`, then
    an outbox row), at a fraction of the per-statement cost: measured 0.23 ms of CPU per
    event in batches through `Outbox.add`, which was a quarter of the server's work per
    webhook. Rows go in event-id order, so concurrent batches lock ids in one order.
    """
    unique = sorted({event.event_id: event for event in reversed(events)}.values(), key=lambda e: e.event_id)
    if not unique:
        return set()
    log_rows = ", ".join(["(%s, %s, %s, %s, %s, %s, %s)"] * len(unique))
    logged = tx.execute(
        f"INSERT INTO event_log ({', '.join(EVENT_COLUMNS)}) VALUES {log_rows} "
        "ON CONFLICT (event_id) DO NOTHING RETURNING event_id",
        [value for e in unique for value in (
            e.event_id, e.correlation_id, e.run_id, e.type, e.source, tx.dialect.json(e.payload),
            tx.dialect.timestamp(e.created_at))],
    ).fetchall()
    now = tx.dialect.timestamp(tx.now())
    tx.execute(
        f"INSERT INTO outbox (event_id, created_at) VALUES {', '.join(['(%s, %s)'] * len(unique))} "
        "ON CONFLICT (event_id) DO NOTHING",
        [value for e in unique for value in (e.event_id, now)],
    )
    return {row[0] for row in logged}


class EventRecorder:
    """Records webhook events durably, many requests per transaction (a group commit).

    `await record(event)` returns only after the transaction holding `event`
    (its event-log row and outbox row, `tx.outbox.add`) has committed: True if
    the event is new, False if its id was already recorded. Requests that arrive
    while a transaction commits wait for the next one, so under load one commit
    serves many requests, and a lone request waits for nobody. `writers`
    transactions may be open at once (PostgreSQL takes several; SQLite has one
    writer anyway). Within a batch events are written in event-id order, so two
    writers never lock the same ids in opposite orders.

    Workers start on the first `record` in the running event loop (with or
    without an ASGI lifespan); `stop()` finishes what is queued. With
    `max_pending` events queued the recorder reports `overloaded`, and the app
    answers new webhooks 503 at once rather than after the platform's timeout.
    """

    def __init__(self, store: Store, *, writers: int | None = None, max_batch: int = 256,
                 max_pending: int = 2000) -> None:
        self.store = store
        self.writers = writers or (1 if store.dialect == "sqlite" else 4)
        self.max_batch = max_batch
        self.max_pending = max_pending
        self.batches = 0  # transactions committed (for the benchmark's report)
        self._queue: asyncio.Queue[tuple[Event, asyncio.Future[bool]]] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._executor: ThreadPoolExecutor | None = None

    @property
    def pending(self) -> int:
        """Events queued for a transaction not yet begun."""
        return 0 if self._queue is None else self._queue.qsize()

    @property
    def overloaded(self) -> bool:
        """More events wait than the store commits in a few seconds: new ones should be refused."""
        return self.pending >= self.max_pending

    async def record(self, event: Event) -> bool:
        if self._queue is None:
            self._start()
        assert self._queue is not None
        done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        await self._queue.put((event, done))
        return await done

    def _start(self) -> None:
        self._queue = asyncio.Queue()
        self._executor = ThreadPoolExecutor(self.writers, thread_name_prefix="ds1ray-recorder")
        self._tasks = [asyncio.create_task(self._write_batches()) for _ in range(self.writers)]

    async def _write_batches(self) -> None:
        assert self._queue is not None
        loop = asyncio.get_running_loop()
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self.max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                inserted = await loop.run_in_executor(self._executor, self._commit, [e for e, _ in batch])
            except Exception as error:  # every waiter learns the batch did not commit
                for _, done in batch:
                    if not done.done():
                        done.set_exception(error)
                continue
            for (_, done), new in zip(batch, inserted, strict=True):
                if not done.done():
                    done.set_result(new)

    def _commit(self, events: list[Event]) -> list[bool]:
        new = self.store.run(lambda tx: add_to_outbox(tx, events))
        self.batches += 1
        # The first occurrence of a new id is the one that recorded it; repeats are duplicates.
        seen: set[str] = set()
        inserted = []
        for event in events:
            inserted.append(event.event_id in new and event.event_id not in seen)
            seen.add(event.event_id)
        return inserted

    async def stop(self) -> None:
        if self._queue is not None:
            while not self._queue.empty():
                await asyncio.sleep(0.01)
        for task in self._tasks:
            task.cancel()
        self._tasks = []
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None
        self._queue = None


# ----------------------------------------------------------------------------- the app


def create_app(
    config: Config,
    store: Store,
    backend: LiveBackend,
    intake: WebhookIntake,
    *,
    redactor: Redactor | None = None,
    chat: CeoChat | None = None,
    metrics: AppMetrics | None = None,
    recorder: EventRecorder | None = None,
    webhook_rate_limit_per_minute: int | None = None,
) -> FastAPI:
    """The live HTTP API over `store` and `backend`.

    Args:
        config: the merged configuration (paths, limits, feature flags, `/api/config`).
        store: the record: webhooks are committed here before their 2xx.
        backend: the running business (`ds1ray.live.backend.LiveBackend`).
        intake: verifies and redacts webhooks (`intake_from_config(config)` builds it).
        redactor: scrubs event payloads and errors shown by the API and this module's log
            records; None shows them as stored (webhook payloads are stored redacted).
        chat: the CEO chat; default `CeoChat.from_config(config, backend)`.
        metrics: counters for `/metrics` (a test may pass its own to read them).
        recorder: the group commit for webhook events; default `EventRecorder(store)`.
        webhook_rate_limit_per_minute: overrides `http.webhook_rate_limit_per_minute`.
    """
    http = config.bootstrap.http
    features = config.bootstrap.features
    metrics = metrics or AppMetrics()
    chat = chat or CeoChat.from_config(config, backend)
    recorder = recorder or EventRecorder(store)
    per_minute = webhook_rate_limit_per_minute or http.webhook_rate_limit_per_minute
    webhook_limit = RequestLimit(per_minute)
    if redactor is not None and not any(isinstance(f, RedactingFilter) for f in log.filters):
        log.addFilter(RedactingFilter(redactor))

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await recorder.stop()

    app = FastAPI(title="ds1ray live", lifespan=lifespan, docs_url="/api/docs", redoc_url=None,
                  openapi_url="/api/openapi.json")
    app.state.metrics = metrics
    app.state.recorder = recorder
    app.state.chat = chat

    async def ask(fn: Callable[..., Any], *args: Any) -> Any:
        """Call the backend off the event loop; an unreachable business is a 503."""
        try:
            return await run_in_threadpool(fn, *args)
        except BackendUnavailable as error:
            raise HTTPException(503, f"the live business is unreachable: {error}") from None

    async def ingest(source: str, request: Request, verify: Callable[[bytes, Mapping[str, str]], Ds1Event]
                     ) -> Response:
        metrics.webhooks_received.inc(source=source)
        try:
            wait = webhook_limit.take()
            if wait > 0:
                metrics.webhooks_rejected.inc(source=source, reason="rate_limited")
                log.warning("%s webhook refused: over %d per minute", source, per_minute)
                return JSONResponse({"error": "rate_limited"}, 429,
                                    headers={"Retry-After": str(max(1, round(wait)))})
            if recorder.overloaded:
                # Shed load before Shopify's 5 s timeout instead of answering too late; it redelivers.
                metrics.webhooks_rejected.inc(source=source, reason="overloaded")
                log.warning("%s webhook refused: %d events wait for the store", source, recorder.pending)
                return JSONResponse({"error": "overloaded"}, 503, headers={"Retry-After": "5"})
            event = verify(await read_limited(request, intake.max_body_bytes), request.headers)
        except WebhookRejected as rejected:
            metrics.webhooks_rejected.inc(source=source, reason=rejected.reason.value)
            log.warning("%s webhook refused (%s): %s", source, rejected.reason.value, rejected.message)
            return JSONResponse({"error": rejected.reason.value, "message": rejected.message},
                                rejected.status_code)
        try:
            inserted = await recorder.record(Event(**event.store_fields()))
        except Exception as error:  # the store is down: no 2xx, so the platform retries later
            log.error("%s webhook %s not recorded: %s", source, event.event_id, type(error).__name__)
            return JSONResponse({"error": "not_recorded", "message": "the store is unavailable; retry"},
                                503, headers={"Retry-After": "5"})
        (metrics.webhooks_accepted if inserted else metrics.webhooks_duplicate).inc(source=source)
        log.info("%s webhook %s %s (%s)", source, event.type, event.event_id,
                 "recorded" if inserted else "duplicate")
        return JSONResponse({"event_id": event.event_id, "type": event.type, "duplicate": not inserted})

    if features.webhook_ingress:
        hooks = http.webhooks
        shopify_path = hooks["shopify"].path if "shopify" in hooks else "/webhooks/shopify"
        stripe_path = hooks["stripe"].path if "stripe" in hooks else "/webhooks/stripe"

        async def shopify_webhook(request: Request) -> Response:
            return await ingest("shopify", request, intake.shopify)

        async def stripe_webhook(request: Request) -> Response:
            return await ingest("stripe", request, intake.stripe)

        # Plain Starlette routes: the raw request is all they take, and FastAPI's parameter
        # machinery would cost CPU on the hottest path for nothing.
        app.router.add_route(shopify_path, shopify_webhook, methods=["POST"], name="shopify_webhook")
        app.router.add_route(stripe_path, stripe_webhook, methods=["POST"], name="stripe_webhook")

    @app.post("/api/chat")
    async def post_chat(body: ChatRequest) -> Response:
        mode = "ai" if chat.model is not None else "commands"
        try:
            answer = await run_in_threadpool(chat.answer, body.message)
        except ChatThrottled as throttled:
            metrics.chat_requests.inc(mode=mode, outcome="throttled")
            return JSONResponse({"error": "throttled", "reply": f"Slow down: {throttled.reason}."}, 429,
                                headers={"Retry-After": str(throttled.retry_after)})
        except ChatRefused as refused:
            metrics.chat_requests.inc(mode=mode, outcome="refused")
            return JSONResponse({"error": "not_understood", "reply": str(refused)}, 422)
        except (ChatUnavailable, BackendUnavailable) as error:
            metrics.chat_requests.inc(mode=mode, outcome="unavailable")
            return JSONResponse({"error": "unavailable", "reply": str(error)}, 503)
        metrics.chat_requests.inc(mode=answer.mode, outcome="ok")
        if answer.tokens:
            metrics.ai_tokens.inc(answer.tokens)
        return JSONResponse(answer.as_dict())

    @app.get("/api/agents")
    async def get_agents() -> Any:
        return {"agents": await ask(backend.agents)}

    @app.get("/api/status")
    async def get_status() -> Any:
        breakers = await ask(backend.breakers)
        depths = await ask(backend.queue_depths)
        return {"breakers": breakers, "queue_depths": depths}

    @app.get("/api/kpis")
    async def get_kpis() -> Any:
        return await ask(backend.kpis)

    @app.get("/api/events")
    async def get_events(limit: int = 50, type: str | None = None) -> Any:
        if not 1 <= limit <= MAX_EVENTS_LISTED:
            raise HTTPException(422, f"limit must be between 1 and {MAX_EVENTS_LISTED}")
        events = await run_in_threadpool(store.run, lambda tx: recent_events(tx, limit, type))
        listed = []
        for event in events:
            row = event.model_dump(mode="json")
            if redactor is not None:
                row["payload"] = redactor.redact_payload(row["payload"])
            row["payload"] = exact_in_javascript(row["payload"])
            listed.append(row)
        return {"events": listed}

    @app.get("/api/dlq")
    async def get_dead_letters() -> Any:
        letters = await run_in_threadpool(store.dead_letters.list)
        return {"dead_letters": [
            {"id": letter.id, "handler": letter.handler, "event_id": letter.event.event_id,
             "type": letter.event.type, "attempts": letter.attempts,
             "last_error": redactor.redact_text(letter.last_error) if redactor else letter.last_error,
             "first_failed_at": letter.first_failed_at.isoformat(),
             "last_failed_at": letter.last_failed_at.isoformat()}
            for letter in letters]}

    @app.get("/api/config")
    async def get_config() -> Any:
        return mask_config(config.to_dict())

    @app.get("/healthz")
    async def healthz() -> Response:
        try:
            await run_in_threadpool(lambda: store.run(lambda tx: tx.scalar("SELECT 1"), retry_for=0))
        except Exception as error:
            return JSONResponse({"status": "unavailable", "store": store.location.describe(),
                                 "error": type(error).__name__}, 503)
        return JSONResponse({"status": "ok", "store": store.location.describe()})

    @app.get("/metrics")
    async def get_metrics() -> Response:
        def dead_letter_count() -> int | None:
            try:
                return int(store.run(lambda tx: tx.scalar("SELECT COUNT(*) FROM dead_letters"), retry_for=0))
            except Exception:  # a down store shows as ds1_store_up 0, not as a failed scrape
                return None

        def running() -> tuple[dict[str, Any], dict[str, int]]:
            try:
                return backend.breakers(), backend.queue_depths()
            except Exception:  # the business is unreachable: show no breakers rather than fail
                return {}, {}

        dead = await run_in_threadpool(dead_letter_count)
        breakers, depths = await run_in_threadpool(running)
        text = metrics.render(dead_letters=dead, breakers=breakers, queue_depths=depths,
                              store_up=dead is not None)
        return PlainTextResponse(text, media_type=CONTENT_TYPE)

    if features.dashboard:
        app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

        @app.get("/", include_in_schema=False)
        async def dashboard() -> FileResponse:
            return FileResponse(STATIC_DIR / "index.html")

    app.add_middleware(_TimingMiddleware, metrics=metrics, routes=app.router.routes)
    return app


class _TimingMiddleware:
    """`timing_middleware` in the class form Starlette's `add_middleware` takes."""

    def __init__(self, app: ASGIApp, metrics: AppMetrics, routes: Sequence[BaseRoute]) -> None:
        self._call = timing_middleware(app, metrics, routes)

    async def __call__(self, scope: Scope, receive: Callable[[], Awaitable[Message]],
                       send: Callable[[Message], Awaitable[None]]) -> None:
        await self._call(scope, receive, send)
