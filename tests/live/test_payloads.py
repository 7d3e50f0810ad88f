"""Money conversion and the payload models' tolerance for fields Shopify adds later."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ds1ray.live.payloads import ShopifyLineItem, minor_units


@pytest.mark.parametrize("amount, currency, cents", [
    ("59.99", "USD", 5999), ("0.5", "eur", 50), ("1000", "JPY", 1000),
    ("1.234", "KWD", 1234), (Decimal("19.90"), "GBP", 1990), ("-5.00", "USD", -500),
])
def test_minor_units_are_exact(amount: str | Decimal, currency: str, cents: int) -> None:
    assert minor_units(amount, currency) == cents


@pytest.mark.parametrize("amount, currency", [
    ("59.999", "USD"), ("10.5", "JPY"), ("abc", "USD"), ("NaN", "USD"), ("Infinity", "USD"),
])
def test_amounts_that_cannot_be_whole_minor_units_are_refused(amount: str, currency: str) -> None:
    with pytest.raises(ValueError):
        minor_units(amount, currency)


def test_line_items_keep_unknown_fields_and_validate_known_ones() -> None:
    item = ShopifyLineItem.model_validate(
        {"id": 1, "title": "Lamp", "quantity": 1, "price": "9.99", "new_field": [1]})
    assert item.model_extra == {"new_field": [1]}
    with pytest.raises(ValueError):
        ShopifyLineItem.model_validate({"id": 1, "title": "Lamp", "quantity": -1, "price": "1"})
