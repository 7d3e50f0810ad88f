"""One HTTP connection pool per platform, with every request guarded by `Resilience`.

The platform clients build on `PlatformHttp`: it owns the `httpx.Client`
(base URL, credentials, timeouts on every call), sends each request through
the platform's `Resilience`, and decodes JSON answers. A platform whose answers
need more than the status code to judge (GraphQL throttling in a 200, Meta's
error codes) passes its own `assess` function.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from ds1ray.live.resilience import (
    Assessment,
    PlatformUnavailable,
    Resilience,
    TokenBucket,
    assess_http_status,
)

DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=3.0)

Assess = Callable[[httpx.Response], Assessment]


def deterministic_key(namespace: str, *parts: object) -> str:
    """An idempotency key made from what the write is about, so a redelivered event or a
    restarted actor sends the same key: `namespace-<sha256 of the parts>` (≤ 255 chars)."""
    canonical = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return f"{namespace[:150]}-{hashlib.sha256(canonical.encode()).hexdigest()[:48]}"


def default_resilience(
    platform: str, rate_per_second: float, burst: float | None = None
) -> Resilience:
    """The standard guard: 3 attempts, full jitter, breaker 5/60 s, the platform's rate limit
    (`rate_per_second` on average, bursts of `burst`)."""
    return Resilience(platform, rate_limiter=TokenBucket(rate_per_second, burst))


class PlatformHttp:
    """The HTTP side of one platform client.

    Args:
        platform: name used in errors, logs and breaker status (`shopify`, `meta`, …).
        base_url: the platform's API root.
        resilience: the guard for this platform (shared by all its calls).
        headers: sent with every request (credentials, API version).
        auth: httpx auth (Zendesk's basic auth).
        timeout: per request; never None, so no call can hang a worker.
        transport: an httpx transport, for tests that need one.
    """

    def __init__(
        self,
        platform: str,
        base_url: str,
        *,
        resilience: Resilience,
        headers: Mapping[str, str] | None = None,
        auth: httpx.Auth | tuple[str, str] | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.platform = platform
        self.resilience = resilience
        self._client = httpx.Client(
            base_url=base_url, headers=dict(headers or {}), auth=auth, timeout=timeout,
            transport=transport,
        )

    def assess_status(self, response: httpx.Response) -> Assessment:
        return assess_http_status(
            response, now=self.resilience.clock.time(),
            retry_statuses=self.resilience.retry.retry_statuses,
        )

    def send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        form: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """One unguarded request (for use inside an attempt that is itself guarded)."""
        return self._client.request(
            method, path, params=params, json=json_body, data=form, headers=headers
        )

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        form: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        assess: Assess | None = None,
    ) -> httpx.Response:
        """Send a request with retries; the same headers (idempotency key included) each time."""
        return self.resilience.call(
            lambda: self.send(
                method, path, params=params, json_body=json_body, form=form, headers=headers
            ),
            assess or self.assess_status,
        )

    def json(self, response: httpx.Response) -> Any:
        """The answer's JSON, or `PlatformUnavailable` when a success is not JSON."""
        try:
            return response.json()
        except ValueError:
            raise PlatformUnavailable(
                self.platform, "answer is not JSON", status_code=response.status_code,
                detail=response.text[:200],
            ) from None

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> PlatformHttp:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
