"""The model of a bootstrap (the base merged with one overlay): adapters, database, seeds,
secrets, features, market, schedules, policies, AI policy and HTTP ingress.

Secrets are `${ENV_VAR}` references; the value is read from the environment only when
`Config.secret(name)` asks for it, so loading a live overlay needs no secret at hand.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from ds1ray.market.params import MarketParams

SECRET_REFERENCE = re.compile(r"^\$\{([A-Z_][A-Z0-9_]*)\}$")
SecretName = Annotated[str, Field(pattern=r"^[A-Z_][A-Z0-9_]*$")]


LITERAL_SECRET = (
    'a literal value is not allowed: write a reference like "${ENV_VAR}" and put the value in the environment'
)


def _reference_only(value: str) -> str:
    # The value itself is never repeated in the message: it may be a real credential.
    if not SECRET_REFERENCE.match(value):
        raise ValueError(LITERAL_SECRET)
    return value


_URL_PASSWORD = re.compile(r"://[^/@:]*:[^/@]+@")


def _no_password_in_url(value: str | None) -> str | None:
    # A database URL may carry a password; like any secret it must come from the environment.
    if value is not None and not SECRET_REFERENCE.match(value) and _URL_PASSWORD.search(value):
        raise ValueError(
            'the URL holds a password: write a reference like "${DATABASE_URL}" and put the URL in the environment'
        )
    return value


SecretReference = Annotated[str, AfterValidator(_reference_only)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AdapterSettings(_Section):
    """How one port is served: by the simulated market (mock) or the real platform (live)."""

    mode: Literal["mock", "live"]
    base_url: str | None = None
    rate_limit_per_minute: int = Field(ge=1, le=1_000_000)
    timeout_s: float = Field(gt=0, le=600)
    secret: SecretName | None = Field(None, description="name of the credential in `secrets`")
    options: dict[str, str] = Field(
        default_factory=dict,
        description="the platform's own settings for its live adapter (e.g. an ad account id)")


class Adapters(_Section):
    ai: AdapterSettings
    trends: AdapterSettings
    competitor: AdapterSettings
    supplier: AdapterSettings
    shop: AdapterSettings
    ads: AdapterSettings
    email: AdapterSettings
    shipping: AdapterSettings

    def modes(self) -> dict[str, str]:
        """Port → mock or live."""
        return {port: settings.mode for port, settings in self}


class Database(_Section):
    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    url: Annotated[str | None, AfterValidator(_no_password_in_url)] = Field(
        None, description='null: the embedded default; may be a reference like "${DATABASE_URL}"'
    )


class SeedPaths(_Section):
    """Seed files, relative to the folder that holds `overlays/` and `seeds/`."""

    products: str
    suppliers: str
    campaigns: str
    tickets: str
    ai_fixtures: str


class Features(_Section):
    webhook_ingress: bool
    email_ingress: bool
    dashboard: bool
    ai_content: bool


class Schedules(_Section):
    timezone: str
    daily_tick: str = Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$", description="HH:MM local")
    optimization_every_hours: int = Field(ge=1, le=24)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (an IANA name such as UTC or Europe/Paris)") from None
        return value

    @field_validator("optimization_every_hours")
    @classmethod
    def _divides_the_day(cls, value: int) -> int:
        # Ticks must fall at the same hours every day, or runs would drift against the calendar.
        if 24 % value:
            raise ValueError(f"must divide 24 (1, 2, 3, 4, 6, 8, 12 or 24), got {value}")
        return value


class PiiRedaction(_Section):
    enabled: bool
    entities: list[str]


class RetryPolicy(_Section):
    max_attempts: int = Field(ge=1, le=20)
    backoff: Literal["full_jitter", "none"]
    base_delay_s: float = Field(ge=0, le=600)
    max_delay_s: float = Field(ge=0, le=3600)
    max_retry_after_s: float = Field(ge=0, le=86_400)
    retry_statuses: list[Annotated[int, Field(ge=400, le=599)]]


class CircuitBreaker(_Section):
    failure_threshold: int = Field(ge=1, le=1000)
    reset_timeout_s: float = Field(gt=0, le=86_400)


class DeadLetters(_Section):
    enabled: bool
    redrive_max: int = Field(ge=0, le=100)


class Policies(_Section):
    pii_redaction: PiiRedaction
    retry: RetryPolicy
    circuit_breaker: CircuitBreaker
    dead_letters: DeadLetters


class AiPolicy(_Section):
    model: str = Field(min_length=1)
    temperature: float = Field(ge=0, le=2)
    max_tokens: int = Field(ge=1, le=1_000_000)
    daily_token_cap: int | None = Field(ge=0)
    rate_limit_per_minute: int = Field(ge=1, le=1_000_000)
    on_budget_exhausted: Literal["templates", "halt"]


class Webhook(_Section):
    path: str = Field(pattern=r"^/")
    secret: SecretName


class Http(_Section):
    host: str = Field(min_length=1)
    port: int = Field(ge=1, le=65_535)
    verify_signatures: bool
    signature_tolerance_s: int = Field(ge=1, le=86_400)
    webhook_rate_limit_per_minute: int = Field(ge=1, le=1_000_000)
    webhooks: dict[str, Webhook]


class Bootstrap(_Section):
    """The merged bootstrap: what runs where, with which data and limits."""

    environment: str = Field(min_length=1)
    adapters: Adapters
    database: Database
    seeds: SeedPaths
    secrets: dict[SecretName, SecretReference]
    features: Features
    market: MarketParams
    schedules: Schedules
    policies: Policies
    ai_policy: AiPolicy
    http: Http
