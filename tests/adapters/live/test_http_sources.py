"""HttpJsonSource: configured trend/competitor feeds read over HTTP."""

from __future__ import annotations

import pytest
from contract_servers.sources import JsonSourceServer
from pydantic import ValidationError

from ds1ray.adapters.live.http_sources import HttpJsonSource, SourceSpec, dig
from ds1ray.live.clock import ManualClock
from ds1ray.live.resilience import PlatformRejected, PlatformUnavailable

from .conftest import MakeGuard


def spec(server: JsonSourceServer, **overrides: object) -> SourceSpec:
    values: dict[str, object] = {
        "name": "trends", "url": f"{server.url}/api/v1/interest?geo=US",
        "headers": {"X-Api-Key": "src-key"}, "items_path": "data.series",
        "fields": {"keyword": "term", "score": "value", "week": "period.start"},
    }
    values.update(overrides)
    return SourceSpec.model_validate(values)


def test_fetch_reshapes_items_and_merges_query_parameters(
    source_server: JsonSourceServer, make_guard: MakeGuard
) -> None:
    source_server.documents["/api/v1/interest"] = {"data": {"series": [
        {"term": "cat tree", "value": 87, "period": {"start": "2026-01-04"}},
        {"term": "led lamp", "value": 41, "period": {"start": "2026-01-04"}},
    ]}}
    source = HttpJsonSource(spec(source_server), resilience=make_guard("trends"))
    items = source.fetch(category="pets")
    assert items == [
        {"keyword": "cat tree", "score": 87, "week": "2026-01-04"},
        {"keyword": "led lamp", "score": 41, "week": "2026-01-04"},
    ]
    assert source_server.requests[-1].query == {"geo": "US", "category": "pets"}


def test_a_missing_items_list_is_reported_as_unavailable(
    source_server: JsonSourceServer, make_guard: MakeGuard
) -> None:
    source_server.documents["/api/v1/interest"] = {"data": {}}
    with pytest.raises(PlatformUnavailable, match=r"data\.series"):
        HttpJsonSource(spec(source_server), resilience=make_guard("trends")).fetch()


def test_a_503_feed_is_retried(
    source_server: JsonSourceServer, make_guard: MakeGuard, clock: ManualClock
) -> None:
    source_server.documents["/api/v1/interest"] = {"data": {"series": []}}
    source_server.faults.fail_next(1, 503)
    assert HttpJsonSource(spec(source_server), resilience=make_guard("trends")).fetch() == []
    assert len(clock.sleeps) == 1


def test_a_wrong_key_is_rejected(source_server: JsonSourceServer, make_guard: MakeGuard) -> None:
    source = HttpJsonSource(spec(source_server, headers={"X-Api-Key": "no"}),
                            resilience=make_guard("trends"))
    with pytest.raises(PlatformRejected):
        source.fetch()


def test_spec_refuses_unknown_keys_and_non_http_urls() -> None:
    with pytest.raises(ValidationError):
        SourceSpec.model_validate({"name": "x", "url": "ftp://x", "fields": {"a": "b"}})
    with pytest.raises(ValidationError):
        SourceSpec.model_validate({"name": "x", "url": "http://x", "fields": {"a": "b"},
                                   "itemz": "typo"})


def test_dig_follows_dicts_and_list_indexes() -> None:
    assert dig({"a": [{"b": 1}, {"b": 2}]}, "a.1.b") == 2
    assert dig({"a": []}, "a.0") is None
    assert dig({"a": 1}, "") == {"a": 1}
