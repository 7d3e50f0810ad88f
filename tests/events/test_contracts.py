"""Event contracts: strict pydantic models that agree with the shipped event manifest."""

from __future__ import annotations

import pydantic
import pytest

from ds1ray.config import load_config
from ds1ray.events import CONTRACTS, field_types
from ds1ray.events.contracts import DailyTick, OrderPaid


def test_every_event_in_the_manifest_has_a_contract_with_the_same_fields_and_types() -> None:
    config = load_config()
    assert set(config.events.events) == set(CONTRACTS)
    for name, spec in config.events.events.items():
        assert field_types(name) == dict(spec.fields), name


def test_every_event_the_issue_requires_has_a_contract() -> None:
    required = {"DAILY_TICK", "OPTIMIZATION_TICK", "MARKET_CRASH", "STRATEGY_UPDATED", "PRODUCT_IDEAS",
                "SUPPLIER_ORDER_PLACED", "SUPPLIER_SHIPPED", "INVENTORY_LOW", "PAGE_PUBLISHED", "CAMPAIGN_CREATED",
                "CAMPAIGN_OPTIMIZED", "CHECKOUT_STARTED", "ORDER_PAID", "ORDER_REFUNDED", "TICKET_CREATED",
                "TICKET_RESOLUTION", "BUSINESS_REPORT", "USER_COMMAND", "ESCALATION_TRIGGERED"}
    assert required <= set(CONTRACTS)


def test_contracts_refuse_unknown_fields_and_wrong_types_and_are_frozen() -> None:
    with pytest.raises(pydantic.ValidationError, match="extra"):
        DailyTick(day=1, hour=3)  # type: ignore[call-arg]
    with pytest.raises(pydantic.ValidationError, match="amount_cents"):
        OrderPaid(order_id=1, product=1, amount_cents="a lot", channel=0, customer_ref=1)
    tick = DailyTick(day=1)
    with pytest.raises(pydantic.ValidationError):
        tick.day = 2  # type: ignore[misc]


def test_money_fields_are_integer_cents() -> None:
    for name, contract in CONTRACTS.items():
        for field, info in contract.model_fields.items():
            if field.endswith("_cents"):
                assert info.annotation is int, f"{name}.{field}"
