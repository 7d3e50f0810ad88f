"""Fixtures of the live-adapter tests: fake platforms on real sockets, a shared manual clock.

Each fake platform runs once per module (starting uvicorn costs ~50 ms) and is
reset before every test. The client under test and the server share one
`ManualClock`: backoff sleeps move it, so "503 for 2 s" and "Retry-After: 1"
play out without the test sleeping.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator

import pytest
from contract_servers.aftership import AfterShipServer
from contract_servers.base import PlatformServer, serve
from contract_servers.imap import ImapServer
from contract_servers.meta import MetaServer
from contract_servers.openai import OpenAIServer
from contract_servers.shopify import ShopifyServer
from contract_servers.smtp import SmtpServer
from contract_servers.sources import JsonSourceServer
from contract_servers.supplier import SupplierServer
from contract_servers.zendesk import ZendeskServer

from ds1ray.live.clock import ManualClock
from ds1ray.live.resilience import CircuitBreaker, Resilience, RetryPolicy, TokenBucket

MakeGuard = Callable[..., Resilience]


@pytest.fixture(scope="module")
def clock() -> ManualClock:
    return ManualClock(start=1_000.0)


@pytest.fixture(autouse=True)
def _forget_sleeps(clock: ManualClock) -> None:
    clock.sleeps.clear()


@pytest.fixture
def make_guard(clock: ManualClock) -> MakeGuard:
    """A `Resilience` on the manual clock with a seeded jitter; options override the defaults."""

    def build(
        platform: str = "test",
        *,
        attempts: int = 3,
        failure_threshold: int = 5,
        reset_timeout: float = 60.0,
        rate: float | None = None,
        burst: float | None = None,
        max_retry_after: float = 60.0,
    ) -> Resilience:
        return Resilience(
            platform,
            retry=RetryPolicy(max_attempts=attempts, max_retry_after=max_retry_after),
            breaker=CircuitBreaker(platform, failure_threshold=failure_threshold,
                                   reset_timeout=reset_timeout, clock=clock),
            rate_limiter=None if rate is None else TokenBucket(rate, burst, clock=clock),
            clock=clock,
            rng=random.Random(42),
        )

    return build


def _running(server: PlatformServer) -> Iterator[PlatformServer]:
    with serve(server):
        yield server


def _fresh(server: PlatformServer) -> PlatformServer:
    server.reset()
    return server


@pytest.fixture(scope="module")
def shopify_running(clock: ManualClock) -> Iterator[PlatformServer]:
    yield from _running(ShopifyServer(clock))


@pytest.fixture
def shopify_server(shopify_running: ShopifyServer) -> ShopifyServer:
    return _fresh(shopify_running)  # type: ignore[return-value]


@pytest.fixture(scope="module")
def meta_running(clock: ManualClock) -> Iterator[PlatformServer]:
    yield from _running(MetaServer(clock))


@pytest.fixture
def meta_server(meta_running: MetaServer) -> MetaServer:
    return _fresh(meta_running)  # type: ignore[return-value]


@pytest.fixture(scope="module")
def openai_running(clock: ManualClock) -> Iterator[PlatformServer]:
    yield from _running(OpenAIServer(clock))


@pytest.fixture
def openai_server(openai_running: OpenAIServer) -> OpenAIServer:
    openai_running.legacy = False
    return _fresh(openai_running)  # type: ignore[return-value]


@pytest.fixture(scope="module")
def zendesk_running(clock: ManualClock) -> Iterator[PlatformServer]:
    yield from _running(ZendeskServer(clock))


@pytest.fixture
def zendesk_server(zendesk_running: ZendeskServer) -> ZendeskServer:
    return _fresh(zendesk_running)  # type: ignore[return-value]


@pytest.fixture(scope="module")
def aftership_running(clock: ManualClock) -> Iterator[PlatformServer]:
    yield from _running(AfterShipServer(clock))


@pytest.fixture
def aftership_server(aftership_running: AfterShipServer) -> AfterShipServer:
    return _fresh(aftership_running)  # type: ignore[return-value]


@pytest.fixture(scope="module")
def supplier_running(clock: ManualClock) -> Iterator[PlatformServer]:
    yield from _running(SupplierServer(clock))


@pytest.fixture
def supplier_server(supplier_running: SupplierServer) -> SupplierServer:
    return _fresh(supplier_running)  # type: ignore[return-value]


@pytest.fixture(scope="module")
def source_running(clock: ManualClock) -> Iterator[PlatformServer]:
    yield from _running(JsonSourceServer(clock))


@pytest.fixture
def source_server(source_running: JsonSourceServer) -> JsonSourceServer:
    return _fresh(source_running)  # type: ignore[return-value]


@pytest.fixture(scope="module")
def imap_running() -> Iterator[ImapServer]:
    server = ImapServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def imap_server(imap_running: ImapServer) -> ImapServer:
    imap_running.reset()
    return imap_running


@pytest.fixture(scope="module")
def smtp_running() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def smtp_server(smtp_running: SmtpServer) -> SmtpServer:
    smtp_running.reset()
    return smtp_running
