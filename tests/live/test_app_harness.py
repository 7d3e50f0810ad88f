"""The live app on a real socket: fixtures shared by the app, chat and dashboard tests, and the
tests of `HttpServer` itself.

`live_app` serves `create_app(...)` with uvicorn on 127.0.0.1 at a free port
over a migrated store (SQLite, and PostgreSQL for tests marked `postgres`) and
an in-process business (a cohort of one, two days in, so campaigns are live).
Other modules import the fixtures they use from here.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from store.conftest import SERVER_URL, PostgresServer

from ds1ray.config import Config, load_config
from ds1ray.errors import UserError
from ds1ray.live.app import create_app, intake_from_config
from ds1ray.live.backend import InProcessBackend
from ds1ray.live.chat import CeoChat
from ds1ray.live.metrics import AppMetrics
from ds1ray.live.server import HttpServer
from ds1ray.live.signatures import shopify_webhook_headers, stripe_signature_header
from ds1ray.store import Store, migrate_store, open_store

SHOPIFY_SECRET = "shpss_test_0123456789abcdef"
STRIPE_SECRET = "whsec_test_0123456789abcdef"
PII_KEY = "pii-hash-key-for-tests"
SECRETS_ENV = {"SHOPIFY_WEBHOOK_SECRET": SHOPIFY_SECRET, "STRIPE_WEBHOOK_SECRET": STRIPE_SECRET,
               "DS1_PII_HASH_KEY": PII_KEY}
WARM_UP_DAYS = 2  # the staging business has two live campaigns on day 2


@dataclass
class LiveApp:
    """A served app and what the tests need to drive and inspect it."""

    url: str
    client: httpx.Client
    store: Store
    backend: InProcessBackend
    metrics: AppMetrics
    config: Config
    app: Any

    def post_shopify(self, payload: Any, *, topic: str = "orders/paid", event_id: str = "evt-1",
                     secret: str = SHOPIFY_SECRET, body: bytes | None = None,
                     headers: dict[str, str] | None = None) -> httpx.Response:
        raw = body if body is not None else json.dumps(payload).encode()
        signed = shopify_webhook_headers(raw, secret, topic=topic, event_id=event_id)
        return self.client.post("/webhooks/shopify", content=raw, headers={**signed, **(headers or {})})

    def post_stripe(self, event: dict[str, Any], *, timestamp: int | None = None,
                    secret: str = STRIPE_SECRET) -> httpx.Response:
        raw = json.dumps(event).encode()
        signature = stripe_signature_header(raw, secret, timestamp=int(time.time()) if timestamp is None
                                            else timestamp)
        return self.client.post("/webhooks/stripe", content=raw,
                                headers={"Stripe-Signature": signature, "Content-Type": "application/json"})

    def count(self, table: str, where: str = "") -> int:
        return int(self.store.run(lambda tx: tx.scalar(f"SELECT COUNT(*) FROM {table} {where}")))

    def stored_text(self) -> str:
        """Everything in the event log, as text (for personal-data checks)."""
        rows = self.store.run(lambda tx: tx.execute("SELECT payload FROM event_log").fetchall())
        return json.dumps([self.store.backend.dialect.load_json(row[0]) for row in rows])

    def metric(self, name: str, **labels: str) -> float:
        """One sample of /metrics (0 if absent)."""
        wanted = name + ("{" + ",".join(f'{k}="{v}"' for k, v in labels.items()) + "}" if labels else "")
        for line in self.client.get("/metrics").text.splitlines():
            if line.startswith(wanted + " "):
                return float(line.rsplit(" ", 1)[1])
        return 0.0


_shared_postgres: list[PostgresServer] = []


@pytest.fixture(scope="session")
def live_postgres() -> Iterator[PostgresServer]:
    """The test server with a migrated template, made once per session.

    Each module that imports this fixture gets its own fixture definition, hence the
    process-wide `_shared_postgres`: one template, dropped with the rest at the end.
    """
    if not _shared_postgres:
        server = PostgresServer(SERVER_URL)
        server.template = f"{server.template}_live"  # not the store suite's template, which may exist too
        try:
            with server.admin():
                pass
        except psycopg.Error as error:
            reason = f"no PostgreSQL server at {SERVER_URL}: {str(error).strip().splitlines()[-1]}"
            if os.environ.get("DS1_REQUIRE_POSTGRES") == "1":
                pytest.fail(f"{reason} (DS1_REQUIRE_POSTGRES=1)")
            pytest.skip(reason)
        server.make_template()
        _shared_postgres.append(server)
    yield _shared_postgres[0]
    if _shared_postgres:
        _shared_postgres.pop().drop_all()


@pytest.fixture(params=[pytest.param("sqlite", id="sqlite"),
                        pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres)])
def live_store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A freshly migrated store, once per backend."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'live.sqlite3'}"
        migrate_store(url)
        return url
    server: PostgresServer = request.getfixturevalue("live_postgres")
    return server.new_database()


@pytest.fixture
def sqlite_store_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'live.sqlite3'}"
    migrate_store(url)
    return url


@pytest.fixture
def secrets_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in SECRETS_ENV.items():
        monkeypatch.setenv(name, value)


@pytest.fixture(scope="session")
def staging_config() -> Config:
    return load_config("bootstrap.staging.yaml")


def serve_live_app(config: Config, store_url: str, **app_options: Any) -> Iterator[LiveApp]:
    """Serve the app over a new store; yields a `LiveApp` and tears everything down."""
    with open_store(store_url) as store:
        backend = InProcessBackend(config, store, days=40, warm_up_days=WARM_UP_DAYS)
        intake, redactor = intake_from_config(config)
        metrics = AppMetrics()
        app = create_app(config, store, backend, intake, redactor=redactor, metrics=metrics, **app_options)
        server = HttpServer(app, host="127.0.0.1", port=0)
        url = server.start()
        try:
            with httpx.Client(base_url=url, timeout=30.0) as client:
                yield LiveApp(url, client, store, backend, metrics, config, app)
        finally:
            server.stop()


@pytest.fixture
def live_app(secrets_env: None, staging_config: Config, live_store_url: str) -> Iterator[LiveApp]:
    """The app on both store backends."""
    yield from serve_live_app(staging_config, live_store_url)


@pytest.fixture
def sqlite_live_app(secrets_env: None, staging_config: Config, sqlite_store_url: str) -> Iterator[LiveApp]:
    """The app on the embedded store only (for what does not depend on the backend)."""
    yield from serve_live_app(staging_config, sqlite_store_url)


def chat_for(live: LiveApp, **policy: Any) -> CeoChat:
    """A command-language chat over `live`'s backend with `ai_policy` fields replaced."""
    return CeoChat(live.backend, live.config.bootstrap.ai_policy.model_copy(update=policy))


# ----------------------------------------------------------------------------- HttpServer


def test_server_reports_its_url_answers_and_frees_the_port_on_stop(sqlite_live_app: LiveApp) -> None:
    assert sqlite_live_app.url.startswith("http://127.0.0.1:")
    assert sqlite_live_app.client.get("/healthz").json()["status"] == "ok"


def test_stopped_server_no_longer_accepts_connections(secrets_env: None, staging_config: Config,
                                                      sqlite_store_url: str) -> None:
    served = serve_live_app(staging_config, sqlite_store_url)
    live = next(served)
    port = int(live.url.rsplit(":", 1)[1])
    served.close()  # runs the teardown: server.stop()
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port), timeout=2):
        pass


def test_port_in_use_is_one_clear_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = HttpServer(object(), host="127.0.0.1", port=port)
        with pytest.raises(UserError, match=rf"cannot listen on 127.0.0.1:{port}"):
            server.start()


def test_wildcard_bind_advertises_a_reachable_address() -> None:
    assert HttpServer(object(), host="0.0.0.0", port=8000).url == "http://127.0.0.1:8000"
    assert HttpServer(object(), host="0.0.0.0", port=8000, advertise_host="10.0.0.5").url == "http://10.0.0.5:8000"


def test_missing_webhook_secret_stops_start_up_naming_it(monkeypatch: pytest.MonkeyPatch,
                                                         staging_config: Config) -> None:
    monkeypatch.setenv("DS1_PII_HASH_KEY", PII_KEY)
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", STRIPE_SECRET)
    monkeypatch.delenv("SHOPIFY_WEBHOOK_SECRET", raising=False)
    with pytest.raises(Exception, match="SHOPIFY_WEBHOOK_SECRET"):
        intake_from_config(staging_config)


def test_missing_pii_hash_key_stops_start_up_naming_it(monkeypatch: pytest.MonkeyPatch,
                                                       staging_config: Config) -> None:
    for name, value in SECRETS_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("DS1_PII_HASH_KEY")
    with pytest.raises(UserError, match="DS1_PII_HASH_KEY"):
        intake_from_config(staging_config)


def test_standalone_staging_server_serves_until_interrupted(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys

    env = {**os.environ, **SECRETS_ENV}
    process = subprocess.Popen(
        [sys.executable, "-m", "ds1ray.live.server", "--overlay", "bootstrap.staging.yaml",
         "--db", f"sqlite:///{tmp_path / 'staging.sqlite3'}", "--host", "127.0.0.1", "--port", "0",
         "--day-seconds", "0.2"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert process.stdout is not None
        first_line = process.stdout.readline()
        url = first_line.split()[1]
        assert httpx.get(f"{url}/healthz", timeout=10).json()["status"] == "ok"
        deadline = time.monotonic() + 30
        while httpx.get(f"{url}/api/kpis", timeout=10).json()["day"] < 2:  # the business moves on
            assert time.monotonic() < deadline, "the simulated days did not advance"
            time.sleep(0.1)
    finally:
        process.send_signal(signal.SIGINT)
        code = process.wait(30)
    assert code == 0


def test_standalone_server_without_its_secrets_exits_with_one_clear_line(tmp_path: Path) -> None:
    import subprocess
    import sys

    env = {name: value for name, value in os.environ.items() if name not in SECRETS_ENV}
    done = subprocess.run(
        [sys.executable, "-m", "ds1ray.live.server", "--db", f"sqlite:///{tmp_path / 's.sqlite3'}", "--port", "0"],
        capture_output=True, text=True, env=env, timeout=120)

    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert done.stderr.count("\n") == 1 and "DS1_PII_HASH_KEY is not set" in done.stderr
    assert not (tmp_path / "s.sqlite3").exists()  # refused before anything was created
