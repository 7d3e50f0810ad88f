"""The shipped seed data and the seed models' rules."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from ds1ray.config import load_config
from ds1ray.config.seeds import AI_TASKS, CampaignTemplate, ProductArchetype, Seeds, TicketsFile
from ds1ray.events.contracts import CUSTOMER_TICKET_REASONS

from .conftest import REPOSITORY


@pytest.fixture(scope="module")
def seeds() -> Seeds:
    return load_config(root=REPOSITORY).seeds


def test_there_are_at_least_twelve_distinct_product_archetypes(seeds: Seeds) -> None:
    names = [product.name for product in seeds.products]

    assert len(names) >= 12
    assert len(set(names)) == len(names)
    assert len({product.category for product in seeds.products}) >= 6


def test_every_supplier_tier_has_named_suppliers_on_a_platform(seeds: Seeds) -> None:
    assert set(seeds.suppliers) == {"cheap", "fast", "reliable"}
    assert all(supplier.platform for tier in seeds.suppliers.values() for supplier in tier)


def test_campaign_templates_are_sales_campaigns(seeds: Seeds) -> None:
    assert {template.objective for template in seeds.campaigns} == {"OUTCOME_SALES"}
    assert all(template.initial_daily_budget > 0 for template in seeds.campaigns)


def test_every_ticket_reason_and_ai_task_has_texts(seeds: Seeds) -> None:
    assert set(seeds.tickets) == set(CUSTOMER_TICKET_REASONS)
    assert set(seeds.ai_fixtures) == set(AI_TASKS)


def test_templates_format_with_their_placeholders(seeds: Seeds) -> None:
    for templates in seeds.tickets.values():
        for ticket in templates:
            ticket.body.format(order="#1001", product="Neck Fan", days_late=9)
    for fixture in seeds.ai_fixtures.values():
        fixture.template.format(product="Neck Fan", category="gadgets", price="29.99", order="#1001", reason="delay")


def test_a_product_needs_a_positive_price() -> None:
    with pytest.raises(ValidationError, match="greater than 0"):
        ProductArchetype(name="Lamp", category="home", ref_price=0, weight=1, shipping_kg=0.3)


def test_a_campaign_objective_other_than_sales_is_refused() -> None:
    with pytest.raises(ValidationError, match="OUTCOME_SALES"):
        CampaignTemplate(name_pattern="{product}", objective="OUTCOME_TRAFFIC", initial_daily_budget=10)


def test_a_ticket_reason_without_texts_is_refused() -> None:
    with pytest.raises(ValidationError, match="late must not be empty"):
        TicketsFile.model_validate(
            {
                "tickets": {
                    "question": [{"subject": "a", "body": "b"}],
                    "late": [],
                    "defect": [{"subject": "a", "body": "b"}],
                    "return": [{"subject": "a", "body": "b"}],
                }
            }
        )


def test_an_unbalanced_template_brace_is_refused() -> None:
    with pytest.raises(ValidationError, match="bad template"):
        CampaignTemplate(name_pattern="{product", objective="OUTCOME_SALES", initial_daily_budget=10)
