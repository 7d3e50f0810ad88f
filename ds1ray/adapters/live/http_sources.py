"""Trend and competitor data from configurable HTTP JSON sources.

A source is described, not coded: a URL, query parameters, headers (with the
credentials), where the list of items sits in the answer (`items_path`,
dotted: `data.items`), and which fields to keep under which names (`fields`:
output name → dotted path inside an item). The research agent's trend and
competitor ports read through these.

Example spec (as it would appear in an overlay):

    name: google_trends_proxy
    url: https://trends.example.com/api/v1/interest
    params: {geo: US}
    items_path: data.series
    fields: {keyword: term, score: value, week: period.start}
"""

from __future__ import annotations

from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field

from ds1ray.adapters.live.platform_http import DEFAULT_TIMEOUT, PlatformHttp, default_resilience
from ds1ray.live.resilience import PlatformUnavailable, Resilience


class SourceSpec(BaseModel):
    """One HTTP JSON source."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    url: str = Field(pattern=r"^https?://")
    params: dict[str, str] = {}
    headers: dict[str, str] = {}
    items_path: str = ""
    fields: dict[str, str] = Field(min_length=1)
    requests_per_second: float = Field(default=1.0, gt=0)


def dig(document: Any, path: str) -> Any:
    """Follow a dotted path (`data.items`, `series.0.value`) into JSON; None if absent."""
    node = document
    for part in filter(None, path.split(".")):
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node


class HttpJsonSource:
    """Fetches one configured source and reshapes its items."""

    def __init__(
        self,
        spec: SourceSpec,
        *,
        resilience: Resilience | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.spec = spec
        platform = f"source:{spec.name}"
        url = httpx.URL(spec.url)
        # The whole URL is the endpoint; httpx would append "/" to a base URL's path.
        self._path = url.path
        self._url_params = dict(url.params)
        self.http = PlatformHttp(
            platform, str(url.copy_with(path="/", query=None)),
            resilience=resilience or default_resilience(platform, spec.requests_per_second),
            headers=spec.headers, timeout=timeout, transport=transport,
        )

    def fetch(self, **params: str) -> list[dict[str, Any]]:
        """The items of one request (spec params overridden by `params`), fields renamed."""
        query = {**self._url_params, **self.spec.params, **params}
        response = self.http.request("GET", self._path, params=query)
        items = dig(self.http.json(response), self.spec.items_path)
        if not isinstance(items, list):
            raise PlatformUnavailable(
                self.http.platform, f"no list at {self.spec.items_path or '(root)'!r}"
            )
        return [
            {name: dig(item, path) for name, path in self.spec.fields.items()}
            for item in items
            if isinstance(item, dict)
        ]

    def close(self) -> None:
        self.http.close()
