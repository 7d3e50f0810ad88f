"""Pydantic models of the webhook payloads the business reads (Shopify and Stripe).

Platforms add fields over time, so every model allows unknown keys
(`extra="allow"`) and validates only what DS1 uses. Money arrives as decimal
strings (Shopify: `"59.99"`) or as integer minor units (Stripe: `5999`);
`minor_units` turns the former into integer cents exactly, or refuses.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

# Currencies whose minor unit is not 1/100 (ISO 4217); all others have two decimals.
CURRENCY_EXPONENTS: dict[str, int] = {
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0, "PYG": 0,
    "RWF": 0, "UGX": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
}


def minor_units(amount: Decimal | str, currency: str) -> int:
    """`"59.99"` USD → 5999: exact, or ValueError if the amount has more decimals than
    the currency has (money is never rounded silently)."""
    try:
        value = Decimal(str(amount))
    except InvalidOperation:
        raise ValueError(f"{amount!r} is not a decimal amount") from None
    if not value.is_finite():
        raise ValueError(f"{amount!r} is not a finite amount")
    scaled = value.scaleb(CURRENCY_EXPONENTS.get(currency.upper(), 2))
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{amount} has more decimals than {currency.upper()} allows")
    return int(scaled)


Money = Annotated[Decimal, Field(allow_inf_nan=False)]
CurrencyCode = Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{3}$")]


class _Open(BaseModel):
    """Base for platform payloads: unknown keys allowed and kept."""

    model_config = ConfigDict(extra="allow", frozen=True)


# ----------------------------------------------------------------------------- Shopify


class ShopifyAddress(_Open):
    city: str | None = None
    province_code: str | None = None
    country_code: str | None = None


class ShopifyCustomer(_Open):
    id: int
    email: str | None = None


class ShopifyLineItem(_Open):
    id: int
    product_id: int | None = None
    variant_id: int | None = None
    title: str
    quantity: int = Field(ge=0)
    price: Money
    sku: str | None = None


class ShopifyOrder(_Open):
    """The order resource sent with `orders/paid`, `orders/cancelled` and other order topics."""

    id: int
    admin_graphql_api_id: str = Field(pattern=r"^gid://shopify/Order/\d+$")
    name: str
    email: str | None = None
    created_at: datetime
    total_price: Money
    subtotal_price: Money | None = None
    total_tax: Money | None = None
    total_discounts: Money | None = None
    currency: CurrencyCode
    financial_status: str | None = None
    fulfillment_status: str | None = None
    cancelled_at: datetime | None = None
    cancel_reason: str | None = None
    line_items: list[ShopifyLineItem]
    customer: ShopifyCustomer | None = None
    shipping_address: ShopifyAddress | None = None


class ShopifyRefundTransaction(_Open):
    id: int
    amount: Money
    kind: str
    status: str
    currency: CurrencyCode | None = None


class ShopifyRefundLineItem(_Open):
    id: int
    line_item_id: int
    quantity: int = Field(ge=0)
    restock_type: str | None = None


class ShopifyRefund(_Open):
    """The refund resource sent with `refunds/create`."""

    id: int
    order_id: int
    created_at: datetime
    note: str | None = None
    restock: bool | None = None
    transactions: list[ShopifyRefundTransaction] = []
    refund_line_items: list[ShopifyRefundLineItem] = []

    def refunded_amount(self) -> tuple[Decimal, str | None]:
        """Money actually returned: successful `refund` transactions, and their currency."""
        done = [t for t in self.transactions if t.kind == "refund" and t.status == "success"]
        currency = next((t.currency for t in done if t.currency), None)
        return sum((t.amount for t in done), Decimal(0)), currency


# ----------------------------------------------------------------------------- Stripe


class StripeObject(_Open):
    id: str
    object: str


class StripeDispute(StripeObject):
    object: Literal["dispute"]
    amount: int = Field(ge=0)
    currency: CurrencyCode
    charge: str
    payment_intent: str | None = None
    reason: str
    status: str


class StripeCharge(StripeObject):
    object: Literal["charge"]
    amount: int = Field(ge=0)
    amount_refunded: int = Field(ge=0)
    currency: CurrencyCode
    payment_intent: str | None = None
    refunded: bool
    metadata: dict[str, str] = {}


class StripePaymentIntent(StripeObject):
    object: Literal["payment_intent"]
    amount: int = Field(ge=0)
    amount_received: int = Field(ge=0)
    currency: CurrencyCode
    status: str
    metadata: dict[str, str] = {}


class StripeEventData(_Open):
    object: dict[str, Any]


class StripeEvent(_Open):
    """A Stripe event envelope; `data.object` is validated by the model its `type` needs."""

    id: str = Field(pattern=r"^evt_\w+$")
    object: Literal["event"]
    type: str
    created: int
    livemode: bool = False
    data: StripeEventData
