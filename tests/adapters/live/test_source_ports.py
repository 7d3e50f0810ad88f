"""The live trend and competitor ports over a JSON feed on a real socket: slots, prices, faults, shapes."""

from __future__ import annotations

import numpy as np
import pytest
from contract_servers.sources import JsonSourceServer

from ds1ray.adapters.live.http_sources import HttpJsonSource, SourceSpec
from ds1ray.adapters.live.ports import GuardSettings, PlatformIds, PortContext
from ds1ray.adapters.live.source_ports import (
    TREND_PRODUCT,
    LiveCompetitor,
    LiveTrends,
    ProductSlots,
    build_competitor,
    build_trends,
)
from ds1ray.errors import UserError
from ds1ray.live.clock import ManualClock
from ds1ray.live.resilience import PlatformUnavailable
from ds1ray.store import Store

from .conftest import MakeGuard
from .live_fixtures import mock_port, store_fixture  # noqa: F401  (the `store` fixture)

RUN = np.zeros(1, np.int64)
TRENDS = {"data": {"series": [
    {"term": "cat tree", "value": 80}, {"term": "lamp", "value": 35},
    {"term": "yoga mat", "value": "55"}, {"term": "no score"}, {"value": 99},
]}}
OPTIONS = {"key_field": "term", "score_field": "value", "items_path": "data.series", "score_scale": "100"}



def _context(store: Store, server: JsonSourceServer, path: str, options: dict[str, str],
             slots: int = 24) -> PortContext:
    return PortContext(base_url=server.url + path, secret="src-key", store=store, slots=slots,
                       guard=GuardSettings(rate_per_second=100.0), timeout_s=5.0, options=options)


def _trends(store: Store, server: JsonSourceServer, make_guard: MakeGuard, slots: int = 24) -> LiveTrends:
    spec = SourceSpec(name="trends", url=server.url + "/trends", headers={"x-api-key": "src-key"},
                      items_path="data.series", fields={"key": "term", "score": "value"})
    source = HttpJsonSource(spec, resilience=make_guard("source:trends", attempts=3))
    return LiveTrends(source, ProductSlots(PlatformIds(store), slots), score_scale=100.0)


def test_trending_products_take_free_slots_hottest_first_and_keep_them(
        store: Store, source_server: JsonSourceServer) -> None:
    source_server.documents["/trends"] = TRENDS
    port = build_trends(_context(store, source_server, "/trends", OPTIONS))
    run, product, score = port.candidates(RUN)
    # Items without a key or a score are skipped; slots in order of heat: cat tree, yoga mat, lamp.
    assert run.tolist() == [0, 0, 0] and product.tolist() == [0, 1, 2]
    assert score.tolist() == pytest.approx([0.80, 0.55, 0.35])
    assert source_server.requests[-1].headers["x-api-key"] == "src-key"
    # A new product later takes the next free slot; known ones keep theirs (a restart re-reads them).
    source_server.documents["/trends"] = {"data": {"series": [{"term": "desk fan", "value": 90},
                                                              {"term": "lamp", "value": 40}]}}
    again = build_trends(_context(store, source_server, "/trends", OPTIONS))
    run, product, score = again.candidates(RUN)
    assert product.tolist() == [2, 3] and score.tolist() == pytest.approx([0.40, 0.90])
    mapped = {m.platform_id: m.slot for m in PlatformIds(store).of_kind(TREND_PRODUCT)}
    assert mapped == {"cat tree": 0, "yoga mat": 1, "lamp": 2, "desk fan": 3}


def test_when_every_slot_is_taken_a_new_product_is_left_out_and_counted(
        store: Store, source_server: JsonSourceServer, make_guard: MakeGuard) -> None:
    source_server.documents["/trends"] = TRENDS
    port = _trends(store, source_server, make_guard, slots=2)
    _, product, score = port.candidates(RUN)
    assert product.tolist() == [0, 1] and score.tolist() == pytest.approx([0.80, 0.55])
    assert port.status()["unplaced"] == 1  # the lamp: no slot left


def test_a_throttled_feed_is_waited_for_and_a_dead_one_raises_for_the_agent_host(
        store: Store, source_server: JsonSourceServer, make_guard: MakeGuard, clock: ManualClock) -> None:
    source_server.documents["/trends"] = TRENDS
    port = _trends(store, source_server, make_guard)
    source_server.faults.fail_next(1, 429, headers={"Retry-After": "2"})
    source_server.faults.fail_next(1, 503)
    _, product, _ = port.candidates(RUN)
    assert product.tolist() == [0, 1, 2] and 2.0 in clock.sleeps
    source_server.faults.fail_next(3, 503)
    with pytest.raises(PlatformUnavailable):
        port.candidates(RUN)
    assert port.status()["breaker"]["state"] == "closed"


def test_competitor_prices_are_the_median_per_product_in_cents_and_zero_when_unlisted(
        store: Store, source_server: JsonSourceServer) -> None:
    ids = PlatformIds(store)
    ids.put(TREND_PRODUCT, 0, "cat tree")
    ids.put(TREND_PRODUCT, 3, "lamp")
    source_server.documents["/offers"] = {"offers": [
        {"product": {"name": "cat tree"}, "price": "49.99"}, {"product": {"name": "cat tree"}, "price": 59.99},
        {"product": {"name": "cat tree"}, "price": 39.00}, {"product": {"name": "lamp"}, "price": 0},
    ]}
    port = build_competitor(_context(store, source_server, "/offers", {
        "key_field": "product.name", "price_field": "price", "items_path": "offers"}))
    prices = port.prices(np.zeros(4, np.int64), np.array([0, 3, 7, 0]))
    # Slot 3's only price is not a price; slot 7 has no product: neither has a competitor price.
    assert prices.tolist() == [4999, 0, 0, 4999]


def test_a_feed_searched_per_product_is_asked_once_per_key(
        store: Store, source_server: JsonSourceServer) -> None:
    ids = PlatformIds(store)
    ids.put(TREND_PRODUCT, 1, "lamp")
    ids.put(TREND_PRODUCT, 2, "desk fan")
    source_server.by_query["/search"] = ("q", {"lamp": {"items": [{"k": "lamp", "cents": 1899}]}})
    port = build_competitor(_context(store, source_server, "/search", {
        "key_field": "k", "price_field": "cents", "items_path": "items", "price_unit": "cents",
        "key_param": "q"}))
    assert port.prices(np.zeros(3, np.int64), np.array([1, 2, 1])).tolist() == [1899, 0, 1899]
    assert sorted(r.query["q"] for r in source_server.requests_to("/search")) == ["desk fan", "lamp"]


def test_a_missing_option_is_one_error_naming_its_overlay_key(
        store: Store, source_server: JsonSourceServer) -> None:
    with pytest.raises(UserError, match=r"adapters\.trends\.options\.score_field is not set"):
        build_trends(_context(store, source_server, "/trends", {"key_field": "term"}))
    with pytest.raises(UserError, match=r"adapters\.competitor\.options\.price_unit"):
        build_competitor(_context(store, source_server, "/o", {"key_field": "k", "price_field": "p",
                                                               "price_unit": "euros"}))


def test_answers_have_the_mock_ports_shapes_and_dtypes(
        store: Store, source_server: JsonSourceServer, make_guard: MakeGuard) -> None:
    source_server.documents["/trends"] = TRENDS
    live = _trends(store, source_server, make_guard).candidates(RUN)
    mock = mock_port("trends").candidates(RUN)
    for ours, theirs in zip(live, mock, strict=True):
        assert ours.dtype == theirs.dtype and ours.ndim == theirs.ndim == 1
    source_server.documents["/offers"] = {"items": [{"k": "cat tree", "p": 10}]}
    competitor = LiveCompetitor(
        HttpJsonSource(SourceSpec(name="c", url=source_server.url + "/offers", headers={"x-api-key": "src-key"},
                                  items_path="items", fields={"key": "k", "price": "p"}),
                       resilience=make_guard("source:c")),
        ProductSlots(PlatformIds(store), 24), cents=False, key_param=None)
    product = np.array([0, 1, 2])
    ours, theirs = competitor.prices(np.zeros(3, np.int64), product), mock_port("competitor").prices(
        np.zeros(3, np.int64), product)
    assert ours.dtype == theirs.dtype and ours.shape == theirs.shape == (3,)
    assert ours.tolist() == [1000, 0, 0]
