"""Mock adapters: each satisfies its port protocol, and they all answer from one shared world."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from ds1ray.adapters import mock, ports
from ds1ray.adapters.mock import mock_ports
from ds1ray.adapters.ports import PORT_NAMES, Ingress
from ds1ray.cohort import build_world, resolve_runs
from ds1ray.config import load_config
from ds1ray.market.world import World
from ds1ray.runspec import RunSpec

PROTOCOLS = {
    "ai": ports.AiPort, "trends": ports.TrendsPort, "competitor": ports.CompetitorPort,
    "supplier": ports.SupplierPort, "shop": ports.ShopPort, "ads": ports.AdsPort, "email": ports.EmailPort,
    "shipping": ports.ShippingPort,
}


def _port_methods(protocol: type) -> dict[str, inspect.Signature]:
    """The methods a protocol declares, its bases' included (Ingress.poll), with their signatures."""
    methods = {}
    for cls in reversed(protocol.__mro__):
        if cls is object or not getattr(cls, "_is_protocol", False):
            continue
        for name, member in vars(cls).items():
            if callable(member) and not name.startswith("_"):
                methods[name] = inspect.signature(member)
    return methods


@pytest.fixture(scope="module")
def world() -> World:
    config = load_config()
    runs = [RunSpec("mock", 0), RunSpec("mock", 1)]
    return build_world(config, resolve_runs(config, runs), runs, 30)


def test_there_is_one_mock_adapter_per_port(world: World) -> None:
    assert tuple(mock_ports(world)) == PORT_NAMES == tuple(PROTOCOLS)


@pytest.mark.parametrize("port", PORT_NAMES)
def test_each_mock_adapter_has_its_ports_methods_with_the_same_signatures(port: str, world: World) -> None:
    adapter = mock_ports(world)[port]
    expected = _port_methods(PROTOCOLS[port])
    assert expected, port
    for name, signature in expected.items():
        method = getattr(type(adapter), name, None)
        assert method is not None, f"{type(adapter).__name__} lacks {name}"
        assert inspect.signature(method) == signature, f"{type(adapter).__name__}.{name}"
    # Ports that bring events in are pollable; the others are not pretending to be.
    assert isinstance(adapter, Ingress) == ("poll" in expected)


def test_the_protocol_method_lists_are_what_the_ports_module_documents() -> None:
    assert set(_port_methods(ports.ShopPort)) == {"publish", "set_prices", "unpublish", "refund", "balance", "poll"}
    assert set(_port_methods(ports.SupplierPort)) == {"quotes", "buy_sample", "in_stock", "place_orders"}


def test_every_mock_adapter_class_is_a_facade_over_the_world(world: World) -> None:
    adapters = mock_ports(world)
    assert all(a.world is world for a in adapters.values())
    assert {type(a).__module__ for a in adapters.values()} == {mock.__name__}


def test_the_adapters_agree_with_each_other_through_the_shared_world(world: World) -> None:
    adapters = mock_ports(world)
    world.begin_day(0)
    shop, ads, competitor, supplier = (adapters[p] for p in ("shop", "ads", "competitor", "supplier"))
    run, product = np.array([0, 1]), np.array([3, 3])
    shop.publish(run, product, np.array([2999, 2999]), np.array([28, 28]), np.array([True, True]))
    ads.set_budgets(run, product, np.array([5000, 0]))
    batches = shop.poll()
    assert [b.type for b in batches][:2] == ["CHECKOUT_STARTED", "ORDER_PAID"]
    spend, _, _ = ads.insights()
    assert spend[0, 3] == 5000 and spend[1, 3] == 0
    # The shop's balance is the ledger: starting cash, less what the ad platform charged, plus sales.
    balance = shop.balance()
    np.testing.assert_array_equal(balance, world.ledger.cash)
    assert balance[0] == 300_000 - 5000 + world.ledger.totals["revenue"][0] - world.ledger.totals["payment_fees"][0]
    # Quotes, competitor prices and the catalog describe the same products.
    cost, days, rating = supplier.quotes(run, product)
    assert cost.shape == days.shape == rating.shape == (2, 3)
    np.testing.assert_array_equal(cost, world.catalog.landed_cost_cents()[run, product])
    prices = competitor.prices(run, product)
    np.testing.assert_array_equal(prices, np.rint(world.catalog.market_price(0)[run, product] * 100))
    # Insights are read-only and keep the values they were read with when the ads run another day.
    assert not spend.flags.writeable
    world.begin_day(1)
    shop.poll()
    assert spend[0, 3] == 5000 and ads.insights()[0][0, 3] == 10_000
