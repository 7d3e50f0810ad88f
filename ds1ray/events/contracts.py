"""The pydantic contract of every DS1 event.

A contract lists an event's payload fields and their types. Inside a cohort an
event travels as a column of an `EventBatch`; outside (live webhooks, the event
log, the dashboard) as one validated model. Money is integer cents. Codes that
are small enumerations travel as integers; their meanings are the `*_CODES`
tuples below (index = code).
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict


class Event(BaseModel):
    """Base of all contracts: the payload of one event (the envelope is separate)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    type: ClassVar[str]


CHANNEL_CODES = ("organic", "paid")
REFUND_REASON_CODES = ("return", "late", "defect", "supplier_failure", "chargeback", "question")
CUSTOMER_TICKET_REASONS = ("question", "late", "defect", "return")
"""What a customer writes to support about (the seeds' ticket texts cover exactly these)."""
TICKET_REASON_CODES = (*CUSTOMER_TICKET_REASONS, "supplier_failure")
"""Why a ticket exists: a customer's reason, or `supplier_failure`, the ticket ops opens for an
order the supplier could not fill (already refunded: support apologises and never refunds it)."""
OPS_TICKET_IDS = 1 << 62
"""Ticket ids at or above this (`OPS_TICKET_IDS | order id`) are tickets ops opened, one per
failed order; customers' tickets (numbered from 0 in simulation, the helpdesk's ids live) stay
far below it."""
RESOLUTION_CODES = ("replied", "refunded", "escalated")
RISK_MODE_CODES = ("normal", "cautious", "crash", "halt")
CAMPAIGN_STATUS_CODES = ("paused", "active", "killed")
SOURCING_KIND_CODES = ("sourcing", "fulfilment")


class DailyTick(Event):
    type: ClassVar[str] = "DAILY_TICK"
    day: int


class OptimizationTick(Event):
    type: ClassVar[str] = "OPTIMIZATION_TICK"
    day: int


class MarketCrash(Event):
    type: ClassVar[str] = "MARKET_CRASH"
    kind: str
    traffic: float
    conversion: float
    cpm: float
    days: int


class MarketShift(Event):
    """A market shock that is not a crash (viral trend, price war, holiday season, …)."""

    type: ClassVar[str] = "MARKET_SHIFT"
    kind: str
    traffic: float
    conversion: float
    cpm: float
    days: int


class StrategyUpdated(Event):
    type: ClassVar[str] = "STRATEGY_UPDATED"
    risk_mode: int
    daily_ad_budget_cents: int
    max_active_products: int


class ProductIdeas(Event):
    type: ClassVar[str] = "PRODUCT_IDEAS"
    product: int
    score: float
    competitor_price_cents: int


class SupplierOrderPlaced(Event):
    type: ClassVar[str] = "SUPPLIER_ORDER_PLACED"
    kind: int
    product: int
    supplier: int
    order_id: int
    unit_cost_cents: int
    promised_days: int


class SupplierShipped(Event):
    type: ClassVar[str] = "SUPPLIER_SHIPPED"
    order_id: int
    product: int
    supplier: int
    delivery_day: int


class InventoryLow(Event):
    type: ClassVar[str] = "INVENTORY_LOW"
    product: int
    supplier: int
    backorder_days: int


class PagePublished(Event):
    type: ClassVar[str] = "PAGE_PUBLISHED"
    product: int
    price_cents: int


class CampaignCreated(Event):
    type: ClassVar[str] = "CAMPAIGN_CREATED"
    product: int
    daily_budget_cents: int


class CampaignOptimized(Event):
    type: ClassVar[str] = "CAMPAIGN_OPTIMIZED"
    product: int
    daily_budget_cents: int
    status: int


class CheckoutStarted(Event):
    type: ClassVar[str] = "CHECKOUT_STARTED"
    checkout_id: int
    product: int
    amount_cents: int
    channel: int


class OrderPaid(Event):
    type: ClassVar[str] = "ORDER_PAID"
    order_id: int
    product: int
    amount_cents: int
    channel: int
    customer_ref: int


class OrderRefunded(Event):
    type: ClassVar[str] = "ORDER_REFUNDED"
    order_id: int
    product: int
    amount_cents: int
    reason: int


class TicketCreated(Event):
    type: ClassVar[str] = "TICKET_CREATED"
    ticket_id: int
    order_id: int
    product: int
    reason: int
    days_late: int
    amount_cents: int


class TicketResolution(Event):
    type: ClassVar[str] = "TICKET_RESOLUTION"
    ticket_id: int
    order_id: int
    action: int
    refund_cents: int


class BusinessReport(Event):
    type: ClassVar[str] = "BUSINESS_REPORT"
    revenue_cents: int
    ad_spend_cents: int
    refunds_cents: int
    orders: int
    cash_cents: int
    roas: float
    refund_rate: float


class UserCommand(Event):
    type: ClassVar[str] = "USER_COMMAND"
    target: str
    command: str
    argument: str


class EscalationTriggered(Event):
    type: ClassVar[str] = "ESCALATION_TRIGGERED"
    source: str
    reason: str
    product: int


CONTRACTS: dict[str, type[Event]] = {
    contract.type: contract
    for contract in (
        DailyTick, OptimizationTick, MarketCrash, MarketShift, StrategyUpdated, ProductIdeas,
        SupplierOrderPlaced, SupplierShipped, InventoryLow, PagePublished, CampaignCreated,
        CampaignOptimized, CheckoutStarted, OrderPaid, OrderRefunded, TicketCreated,
        TicketResolution, BusinessReport, UserCommand, EscalationTriggered,
    )
}
"""Event type → its contract."""


def field_types(event_type: str) -> dict[str, str]:
    """The contract's fields and their type names (`int`, `float`, `str`), for manifests and checks."""
    contract = CONTRACTS[event_type]
    return {name: getattr(info.annotation, "__name__", str(info.annotation))
            for name, info in contract.model_fields.items()}
