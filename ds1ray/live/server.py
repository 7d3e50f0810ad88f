"""Serving the live HTTP app with uvicorn: in a thread (inside a Ray actor, in tests) or standalone.

`HttpServer(app, host=…, port=…)` binds the socket itself (so "port in use"
is one clear error at `start()`), runs uvicorn (one process, asyncio) in a
daemon thread, reports its `url`, and `stop()`s gracefully. The live runtime's
`http` actor holds one; tests and benchmarks use it on 127.0.0.1 port 0 (a
free port).

Why uvicorn in an actor and not Ray Serve: on this machine Serve's HTTP proxy
answered ≈ 270 requests/s for a trivial handler where uvicorn alone answered
≈ 9,700 (shared/reference/ray_costs.md), and webhooks need ≥ 1,000/s.

Standalone staging rehearsal (no Ray; the business is an in-process cohort of one):

    DS1_PII_HASH_KEY=… SHOPIFY_WEBHOOK_SECRET=… STRIPE_WEBHOOK_SECRET=… \\
        python -m ds1ray.live.server --overlay overlays/bootstrap.staging.yaml [--db URL] [--port 8000]
            [--day-seconds 10]   # the simulated business moves on a day every 10 s
"""

from __future__ import annotations

import argparse
import socket
import sys
import threading
import time
from collections.abc import Sequence
from typing import Any

import uvicorn

from ds1ray.errors import UserError

START_TIMEOUT_SECONDS = 15.0
WILDCARD_HOSTS = ("0.0.0.0", "::", "")


class HttpServer:
    """uvicorn serving one ASGI app from a background thread.

    Args:
        app: the ASGI application (`ds1ray.live.app.create_app(...)`).
        host, port: where to listen; port 0 picks a free port.
        advertise_host: the host name put in `url` (default: `host`, or 127.0.0.1 for a
            wildcard address; a Ray actor passes its node's IP).
        log_level: uvicorn's own log level. Access logs are off: they would carry client
            addresses, and `/metrics` counts requests instead.
        http, loop: uvicorn's HTTP parser and event loop; "auto" takes httptools and uvloop
            when installed (`uvicorn[standard]`), else h11 and asyncio.
    """

    def __init__(self, app: Any, *, host: str = "127.0.0.1", port: int = 8000,
                 advertise_host: str | None = None, log_level: str = "warning", http: str = "auto",
                 loop: str = "auto") -> None:
        self.app = app
        self.host = host
        self.port = port
        self.advertise_host = advertise_host or ("127.0.0.1" if host in WILDCARD_HOSTS else host)
        self._config = uvicorn.Config(
            app, host=host, port=port, log_level=log_level, access_log=False, log_config=None,
            lifespan="on", backlog=4096, timeout_keep_alive=30, server_header=False,
            http=http, loop=loop,
        )
        self._server = uvicorn.Server(self._config)
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None

    @property
    def url(self) -> str:
        return f"http://{self.advertise_host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and self._server.started

    def start(self, timeout: float = START_TIMEOUT_SECONDS) -> str:
        """Listen and serve in a daemon thread; returns the URL once requests are answered."""
        if self._thread is not None:
            raise RuntimeError("the server was already started")
        self._socket = bind(self.host, self.port)
        self.port = self._socket.getsockname()[1]
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._socket]},
                                        name=f"ds1ray-http-{self.port}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive():
                raise UserError(f"the HTTP server on {self.host}:{self.port} stopped while starting "
                                "(see the log above)")
            if time.monotonic() > deadline:
                self.stop()
                raise UserError(f"the HTTP server on {self.host}:{self.port} did not start within {timeout:g} s")
            time.sleep(0.01)
        return self.url

    def stop(self, timeout: float = 10.0) -> None:
        """Finish the requests in flight, run the app's shutdown, close the socket."""
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                self._server.force_exit = True
                self._thread.join(timeout)
        if self._socket is not None:
            self._socket.close()
            self._socket = None


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket, or one `UserError` saying why not."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY on accepted connections only when the
    # listening socket says TCP; without it every answer waits ≈ 40 ms for a delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(4096)
    except OSError as error:
        sock.close()
        raise UserError(f"cannot listen on {host}:{port}: {error.strerror or error} "
                        "(choose another port with http.port or --port)") from None
    sock.set_inheritable(True)
    return sock


def build_live_app(config: Any, store: Any, backend: Any) -> Any:
    """The app for `config` with its intake, redactor and CEO chat (secrets read now)."""
    from ds1ray.live.app import create_app, intake_from_config

    intake, redactor = intake_from_config(config)
    return create_app(config, store, backend, intake, redactor=redactor)


def main(argv: Sequence[str] | None = None) -> int:
    """Serve a staging rehearsal in this process until interrupted (see the module docstring)."""
    parser = argparse.ArgumentParser(prog="python -m ds1ray.live.server",
                                     description="Serve the live HTTP app over an in-process business.")
    parser.add_argument("--overlay", default="bootstrap.staging.yaml", help="bootstrap overlay (default staging)")
    parser.add_argument("--db", default=None, help="store URL (default: the overlay's database)")
    parser.add_argument("--host", default=None, help="listen address (default: http.host)")
    parser.add_argument("--port", type=int, default=None, help="port (default: http.port)")
    parser.add_argument("--day-seconds", type=float, default=0.0,
                        help="advance the simulated business one day every this many seconds (default: never)")
    args = parser.parse_args(argv)
    if args.day_seconds < 0:
        parser.error(f"--day-seconds must be 0 or more, got {args.day_seconds}")
    try:
        return serve_staging(args.overlay, args.db, args.host, args.port, args.day_seconds)
    except UserError as error:
        print(f"ds1ray live server: error: {error}", file=sys.stderr)
        return error.exit_code


def serve_staging(overlay: str, db: str | None, host: str | None, port: int | None,
                  day_seconds: float = 0.0) -> int:
    from ds1ray.config import load_config
    from ds1ray.live.app import create_app, intake_from_config
    from ds1ray.live.backend import InProcessBackend
    from ds1ray.store import database_url, open_store

    config = load_config(overlay)
    intake, redactor = intake_from_config(config)  # a missing secret stops us before the store is touched
    url = db or config.database_url() or database_url(config.bootstrap.database.name)
    with open_store(url, migrate=True) as store:
        backend = InProcessBackend(config, store)
        http = config.bootstrap.http
        app = create_app(config, store, backend, intake, redactor=redactor)
        server = HttpServer(app, host=host or http.host, port=http.port if port is None else port)
        print(f"serving {server.start()} (store: {store.location.describe()}); Ctrl-C stops", flush=True)
        next_day = time.monotonic() + day_seconds
        try:
            while server.running:
                time.sleep(min(0.5, day_seconds) if day_seconds else 0.5)
                if day_seconds and time.monotonic() >= next_day:
                    backend.advance(1)
                    next_day += day_seconds
        except KeyboardInterrupt:
            pass
        finally:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
