"""The models of the seed files under `seeds/`: products, suppliers, campaigns, tickets and
the mock AI adapter's fixtures.

Seed data feeds the mock adapters (names, prices, texts, token counts); the market's
figures live in `market:`. Text templates may only use the placeholders listed per model,
so a typo like `{prodcut}` fails at load time rather than deep inside a run.
"""

from __future__ import annotations

import string
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from ds1ray.events.contracts import CUSTOMER_TICKET_REASONS
from ds1ray.market.params import SupplierName

AI_TASKS: tuple[str, ...] = (
    "product_copy",
    "support_reply",
    "trend_summary",
    "ceo_brief",
    "ad_copy",
)
"""The kinds of request agents send to the AI port."""


class _Seed(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _placeholders(allowed: frozenset[str]) -> AfterValidator:
    def check(template: str) -> str:
        try:
            used = {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
        except ValueError as error:
            raise ValueError(f"bad template: {error}") from None
        unknown = sorted(used - allowed)
        if unknown:
            raise ValueError(
                f"unknown placeholder {{{unknown[0]}}}; allowed: "
                + ", ".join(f"{{{name}}}" for name in sorted(allowed))
            )
        return template

    return AfterValidator(check)


def _complete(required: tuple[str, ...]) -> AfterValidator:
    """Every member of `required` must be present and, when it holds a list, not empty."""

    def check(mapping: dict[str, object]) -> dict[str, object]:
        missing = [name for name in required if name not in mapping]
        if missing:
            raise ValueError(f"missing {', '.join(missing)} (needed: {', '.join(required)})")
        empty = [name for name, value in mapping.items() if isinstance(value, list) and not value]
        if empty:
            raise ValueError(f"{', '.join(empty)} must not be empty")
        return mapping

    return AfterValidator(check)


class ProductArchetype(_Seed):
    """A kind of product that can trend."""

    name: str = Field(min_length=1)
    category: str = Field(min_length=1, pattern=r"^[a-z][a-z0-9_]*$")
    ref_price: float = Field(gt=0, le=10_000, description="typical retail price, dollars")
    weight: float = Field(gt=0, le=100, description="how often it trends relative to the others")
    shipping_kg: float = Field(gt=0, le=100)


class SupplierSeed(_Seed):
    name: str = Field(min_length=1)
    platform: str = Field(min_length=1)
    ships_from: str = Field(pattern=r"^[A-Z]{2}$", description="ISO 3166 country code")


CampaignName = Annotated[str, Field(min_length=1), _placeholders(frozenset({"product", "category", "day"}))]


class CampaignTemplate(_Seed):
    name_pattern: CampaignName
    objective: Literal["OUTCOME_SALES"]
    initial_daily_budget: float = Field(gt=0, le=100_000, description="dollars")
    special_ad_categories: list[str] = Field(default_factory=list)


TicketText = Annotated[str, Field(min_length=1), _placeholders(frozenset({"order", "product", "days_late"}))]


class TicketTemplate(_Seed):
    subject: TicketText
    body: TicketText


AiText = Annotated[
    str,
    Field(min_length=1),
    _placeholders(frozenset({"product", "category", "price", "order", "reason"})),
]


class AiFixture(_Seed):
    template: AiText
    prompt_tokens: int = Field(ge=1, le=1_000_000)
    completion_tokens: int = Field(ge=1, le=1_000_000)


class ProductsFile(_Seed):
    products: list[ProductArchetype] = Field(min_length=1)


SupplierTable = Annotated[dict[SupplierName, list[SupplierSeed]], _complete(("cheap", "fast", "reliable"))]


class SuppliersFile(_Seed):
    suppliers: SupplierTable


class CampaignsFile(_Seed):
    campaigns: list[CampaignTemplate] = Field(min_length=1)


TicketReason = Literal["question", "late", "defect", "return"]


TicketTable = Annotated[dict[TicketReason, list[TicketTemplate]], _complete(CUSTOMER_TICKET_REASONS)]


class TicketsFile(_Seed):
    tickets: TicketTable


AiTask = Literal["product_copy", "support_reply", "trend_summary", "ceo_brief", "ad_copy"]


AiFixtureTable = Annotated[dict[AiTask, AiFixture], _complete(AI_TASKS)]


class AiFixturesFile(_Seed):
    ai_fixtures: AiFixtureTable


SEED_FILES: dict[str, type[_Seed]] = {
    "products": ProductsFile,
    "suppliers": SuppliersFile,
    "campaigns": CampaignsFile,
    "tickets": TicketsFile,
    "ai_fixtures": AiFixturesFile,
}
"""Seed name (a key of `bootstrap.seeds`, and the top key of its file) → the model of its file."""


class Seeds(_Seed):
    """All seed data, loaded."""

    products: list[ProductArchetype]
    suppliers: SupplierTable
    campaigns: list[CampaignTemplate]
    tickets: TicketTable
    ai_fixtures: AiFixtureTable
