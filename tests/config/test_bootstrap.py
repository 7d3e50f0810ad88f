"""The bootstrap model's own rules: schedules, secrets, adapters."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from ds1ray.config.bootstrap import Bootstrap, Schedules
from ds1ray.config.yamlfile import read_yaml

from .conftest import REPOSITORY


def base_tree() -> dict[str, Any]:
    data: dict[str, Any] = read_yaml(REPOSITORY / "overlays" / "bootstrap.base.yaml").data
    return data


def test_the_base_alone_is_a_valid_bootstrap_with_every_adapter_mocked() -> None:
    bootstrap = Bootstrap.model_validate(base_tree())

    assert set(bootstrap.adapters.modes()) == {
        "ai",
        "trends",
        "competitor",
        "supplier",
        "shop",
        "ads",
        "email",
        "shipping",
    }
    assert set(bootstrap.adapters.modes().values()) == {"mock"}
    assert bootstrap.schedules.daily_tick == "00:00"
    assert bootstrap.schedules.optimization_every_hours == 4
    assert bootstrap.policies.retry.max_attempts == 3
    assert (bootstrap.ai_policy.temperature, bootstrap.ai_policy.max_tokens) == (0.3, 600)
    assert bootstrap.http.port == 8000


@pytest.mark.parametrize("hours", [5, 7, 9, 25, 0])
def test_the_optimisation_tick_must_divide_the_day(hours: int) -> None:
    with pytest.raises(ValidationError):
        Schedules(timezone="UTC", daily_tick="00:00", optimization_every_hours=hours)


def test_an_unknown_time_zone_is_refused_with_what_is_expected() -> None:
    with pytest.raises(ValidationError, match="unknown time zone 'Mars/Olympus'"):
        Schedules(timezone="Mars/Olympus", daily_tick="00:00", optimization_every_hours=4)


@pytest.mark.parametrize("tick", ["24:00", "7:00", "noon"])
def test_the_daily_tick_is_a_time_of_day(tick: str) -> None:
    with pytest.raises(ValidationError):
        Schedules(timezone="UTC", daily_tick=tick, optimization_every_hours=4)


@pytest.mark.parametrize("value", ["${OPENAI_API_KEY}", "${_X1}"])
def test_secret_references_are_accepted(value: str) -> None:
    tree = base_tree() | {"secrets": {"OPENAI_API_KEY": value}}

    assert Bootstrap.model_validate(tree).secrets["OPENAI_API_KEY"] == value


@pytest.mark.parametrize("value", ["sk-abc", "$OPENAI_API_KEY", "${openai}", "${A} ", 12345])
def test_anything_but_a_reference_is_a_literal_secret(value: object) -> None:
    tree = base_tree() | {"secrets": {"OPENAI_API_KEY": value}}

    with pytest.raises(ValidationError) as caught:
        Bootstrap.model_validate(tree)

    assert caught.value.errors()[0]["loc"][:2] == ("secrets", "OPENAI_API_KEY")


def test_an_adapter_mode_is_mock_or_live() -> None:
    tree = base_tree()
    tree["adapters"]["ads"]["mode"] = "sandbox"

    with pytest.raises(ValidationError, match="'mock' or 'live'"):
        Bootstrap.model_validate(tree)
