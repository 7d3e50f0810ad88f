"""The sweepable decision parameters of each agent, with defaults and bounds.

One pydantic model per agent. `agent_config.yaml` gives each agent's defaults
under `strategy:`; an experiment varies them by dotted path
(`marketing.allocation`). Bounds (`ge`/`le`) are declared here once: the config
loader enforces them and the property tests draw inside them.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Strategy(BaseModel):
    """Base of every agent's strategy: unknown keys are errors, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class CeoStrategy(Strategy):
    """Total ad budget, portfolio size and risk rules."""

    daily_ad_budget: float = Field(60.0, ge=0, le=100_000, description="dollars/day over all campaigns")
    max_active_products: int = Field(3, ge=1, le=12)
    cash_reserve: float = Field(500.0, ge=0, le=1_000_000, description="below it the CEO turns cautious")
    cautious_budget_multiplier: float = Field(0.5, ge=0, le=1)
    crash_reaction: Literal["ignore", "cut", "pause"] = "cut"
    crash_budget_multiplier: float = Field(0.5, ge=0, le=1, description="budget factor while a crash lasts")


class ResearchStrategy(Strategy):
    """Which trending products are worth testing."""

    score_threshold: float = Field(0.35, ge=0, le=1, description="minimum opportunity score (0..1)")
    products_to_test: int = Field(2, ge=1, le=6, description="ideas proposed per scan")
    scan_every_days: int = Field(7, ge=1, le=60)


class SupplierStrategy(Strategy):
    """How a supplier is chosen and what happens when it runs out of stock."""

    selection: Literal["cheapest", "fastest", "most_reliable"] = "cheapest"
    on_stockout: Literal["switch", "keep"] = "switch"


class StoreStrategy(Strategy):
    """How products are priced and what delivery time the page promises."""

    pricing: Literal["markup", "competitor"] = "markup"
    markup: float = Field(2.5, ge=1.0, le=6.0, description="price = landed cost × markup")
    competitor_delta: float = Field(-0.05, ge=-0.5, le=0.5, description="price = competitor × (1 + delta)")
    reprice_every_days: int = Field(7, ge=1, le=90)
    promised_delivery_days: int = Field(28, ge=3, le=60)


class MarketingStrategy(Strategy):
    """How the ad budget is split and when a losing campaign is killed."""

    allocation: Literal["equal", "roas_greedy", "bandit"] = "roas_greedy"
    kill_after_spend: float = Field(150.0, ge=0, le=100_000, description="dollars spent before judging")
    kill_roas: float = Field(1.0, ge=0, le=10, description="campaigns below this ROAS are stopped")
    greedy_exponent: float = Field(2.0, ge=0, le=8, description="roas_greedy: weight ∝ ROAS^k")


class SupportStrategy(Strategy):
    """When a complaint is refunded."""

    refund_policy: Literal["always", "late_or_defect", "threshold", "never"] = "late_or_defect"
    refund_after_days_late: int = Field(7, ge=0, le=60, description="threshold policy: refund if later")
    use_ai_replies: bool = True


class OpsStrategy(Strategy):
    """Fulfilment re-order and escalation rules."""

    on_stockout: Literal["wait", "reroute"] = "reroute"
    escalation_ticket_rate: float = Field(0.25, ge=0, le=1, description="tickets per order that escalate")
    escalation_min_orders: int = Field(20, ge=1, le=10_000)


class AnalyticsStrategy(Strategy):
    """The KPIs behind BUSINESS_REPORT."""

    report_every_days: int = Field(1, ge=1, le=30)
    roas_window_days: int = Field(7, ge=1, le=90)


STRATEGIES: dict[str, type[Strategy]] = {
    "ceo": CeoStrategy,
    "research": ResearchStrategy,
    "supplier": SupplierStrategy,
    "store": StoreStrategy,
    "marketing": MarketingStrategy,
    "support": SupportStrategy,
    "ops": OpsStrategy,
    "analytics": AnalyticsStrategy,
}
"""Agent id → its strategy model; the eight agents of DS1's manifest."""
