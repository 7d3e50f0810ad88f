"""What every fake platform shares: a real socket, a request log, and scripted faults.

A `PlatformServer` subclass is a FastAPI app speaking one platform's contract.
`serve(server)` runs it with uvicorn on 127.0.0.1 at a free port in a
background thread and yields its base URL. Tests script failures on it
(`server.faults.fail_next(3, 429, headers={"Retry-After": "1"})`,
`server.faults.fail_for(2.0, 503)`) and read what it received
(`server.requests`). Faults and time windows read the server's `clock`, which
a test may share with the client under test (a `ManualClock`), so "503 for
2 s" ends when the client's backoff has moved the clock 2 s, without sleeping.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import uvicorn
from fastapi import FastAPI

from ds1ray.live.clock import SYSTEM_CLOCK, Clock

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self) -> dict[str, str]:
        return dict(parse_qsl(self.body.decode()))


@dataclass
class Fault:
    """An answer given instead of the real one while `remaining` > 0 or until `until`."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    remaining: int | None = None
    until: float | None = None
    path_prefix: str = ""
    delay: float = 0.0


class FaultPlan:
    """The scripted failures of one server, consumed in order."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def fail_next(
        self,
        count: int,
        status: int,
        *,
        body: Any = None,
        headers: dict[str, str] | None = None,
        path_prefix: str = "",
        delay: float = 0.0,
    ) -> None:
        """Answer the next `count` matching requests with `status` (and `body`, `headers`).

        `delay` holds the answer back for that many real seconds (for timeout tests).
        """
        with self._lock:
            self._faults.append(
                Fault(status, body, dict(headers or {}), remaining=count,
                      path_prefix=path_prefix, delay=delay)
            )

    def fail_for(
        self,
        seconds: float,
        status: int,
        *,
        body: Any = None,
        headers: dict[str, str] | None = None,
        path_prefix: str = "",
    ) -> None:
        """Answer every matching request with `status` for `seconds` on the server's clock."""
        with self._lock:
            self._faults.append(
                Fault(status, body, dict(headers or {}),
                      until=self.clock.monotonic() + seconds, path_prefix=path_prefix)
            )

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def take(self, path: str) -> Fault | None:
        now = self.clock.monotonic()
        with self._lock:
            self._faults = [
                fault for fault in self._faults
                if (fault.remaining is None or fault.remaining > 0)
                and (fault.until is None or now < fault.until)
            ]
            for fault in self._faults:
                if path.startswith(fault.path_prefix):
                    if fault.remaining is not None:
                        fault.remaining -= 1
                    return fault
        return None


class PlatformServer:
    """A fake platform: subclasses add routes to `self.app` in `add_routes`."""

    def __init__(self, clock: Clock = SYSTEM_CLOCK) -> None:
        self.clock = clock
        self.faults = FaultPlan(clock)
        self.requests: list[RecordedRequest] = []
        self.url = ""  # set by `serve`
        self.app = FastAPI()
        self.add_routes(self.app)

    def add_routes(self, app: FastAPI) -> None:
        raise NotImplementedError

    def reset(self) -> None:
        """Forget requests, faults and platform state (between tests)."""
        self.requests.clear()
        self.faults.clear()

    def requests_to(self, path_prefix: str, method: str | None = None) -> list[RecordedRequest]:
        return [
            request for request in self.requests
            if request.path.startswith(path_prefix) and (method is None or request.method == method)
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """ASGI entry: record the request, answer a scripted fault or pass it to the app."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        chunks = []
        more = True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        headers = {key.decode().lower(): value.decode() for key, value in scope["headers"]}
        query = dict(parse_qsl(scope.get("query_string", b"").decode()))
        self.requests.append(RecordedRequest(scope["method"], scope["path"], query, headers, body))
        fault = self.faults.take(scope["path"])
        if fault is not None:
            await _answer(send, fault)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return {"type": "http.disconnect"}
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


async def _answer(send: Send, fault: Fault) -> None:
    if fault.delay:
        await asyncio.sleep(fault.delay)
    if isinstance(fault.body, bytes):
        payload, content_type = fault.body, "application/octet-stream"
    elif isinstance(fault.body, str):
        payload, content_type = fault.body.encode(), "text/plain"
    else:
        payload = json.dumps(fault.body if fault.body is not None else {"error": "fault"}).encode()
        content_type = "application/json"
    headers = [(b"content-type", content_type.encode()), (b"content-length", b"%d" % len(payload))]
    headers += [(k.lower().encode(), v.encode()) for k, v in fault.headers.items()]
    await send({"type": "http.response.start", "status": fault.status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


class RunningServer:
    """A uvicorn server on 127.0.0.1 at a free port, in a daemon thread."""

    def __init__(self, app: Any) -> None:
        config = uvicorn.Config(
            app, host="127.0.0.1", port=0, log_level="warning", lifespan="off",
            access_log=False,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def start(self) -> str:
        self._thread.start()
        deadline = time.monotonic() + 10.0
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the contract server did not start within 10 s")
            time.sleep(0.01)
        port = self._server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10.0)


@contextlib.contextmanager
def serve(app: Any) -> Iterator[str]:
    """Serve an ASGI app (a `PlatformServer`) on a real socket; yields its base URL."""
    running = RunningServer(app)
    url = running.start()
    if isinstance(app, PlatformServer):
        app.url = url
    try:
        yield url
    finally:
        running.stop()
