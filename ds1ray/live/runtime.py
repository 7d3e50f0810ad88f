"""Start, inspect and stop the live business on a Ray cluster (`ds1ray live up/status/down`).

`start_live` checks what must hold before anything starts (every secret the
overlay references is set; a cluster of several nodes uses PostgreSQL; the
store's schema is current), then starts the named, detached, restartable
actors of docs/architecture.md in the namespace `ds1ray-live`:

- `adapter:market` (staging: the simulated market, `StagingMarket`) and/or
  `adapter:<port>` (one `LiveAdapterHost` per live port);
- `agent:<id>` ×8 (`AgentHost`);
- `coordinator` (bus, schedules, relay);
- `http` (uvicorn serving the FastAPI app, when `ds1ray.live.server` exists).

Adapters start first, because agents resolve them by name; the coordinator
last, because its relay delivers to the agents at once. Every actor takes no
CPU reservation: they mostly wait on each other and on the store.
"""

from __future__ import annotations

import importlib.util
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import ray

from ds1ray.adapters.live.ports import GuardSettings, PortContext, Unavailable
from ds1ray.adapters.live.registry import build_live_port, live_ports
from ds1ray.adapters.mock import mock_ports
from ds1ray.adapters.ports import PORT_NAMES
from ds1ray.cohort import INGRESS_ORDER
from ds1ray.config import Config
from ds1ray.errors import UserError
from ds1ray.events.batch import EventBatch
from ds1ray.live.agent_host import NAMESPACE, AgentHost, load_snapshot, save_snapshot
from ds1ray.live.coordinator import INGRESS_INTERVAL_S, Coordinator
from ds1ray.live.polled import Polled
from ds1ray.live.resilience import PlatformUnavailable
from ds1ray.market.stack import Stacked
from ds1ray.market.world import AiTask, World
from ds1ray.store.store import Store, migrate_store, open_store
from ds1ray.store.urls import database_url, parse_store_url

MARKET_ACTOR = "adapter:market"
COORDINATOR = "coordinator"
HTTP_ACTOR = "http"
STAGING_HORIZON_DAYS = 3650  # the simulated market's arrays cover ten years of business days

ACTOR_OPTIONS: dict[str, Any] = {
    "namespace": NAMESPACE, "lifetime": "detached", "max_restarts": -1, "max_task_retries": -1,
    "num_cpus": 0,
}


# Adapter actors ---------------------------------------------------------------------------------

# Port methods that only read the market: nothing to commit after them.
_MARKET_READS = frozenset({"balance", "insights", "quotes", "in_stock", "prices", "candidates", "track"})


class StagingMarket:
    """The simulated market for a cohort of one, behind the eight mock ports (staging).

    Built with `idempotent_orders=True`: a fulfilment order repeated after a
    crash gets the supplier's first answer, as a real supplier's idempotency
    key would. `placements` counts the orders the supplier really placed, per
    order id (the reliability tests read it).

    With a store, the market is the outside world's record as a real platform
    keeps its own: after every call that changes it (and every new day) its
    state is committed to `live_agent_snapshots` under `adapter:market`, and a
    restarted actor takes it back. A call that died before its commit is retried
    by Ray with the same idempotency key against the last committed state, so it
    takes effect once.
    """

    def __init__(self, config: Config, horizon_days: int = STAGING_HORIZON_DAYS,
                 store_url: str | None = None) -> None:
        products, fixtures = config.seeds.products, config.seeds.ai_fixtures
        self.world = World(
            market=Stacked([config.bootstrap.market]),
            market_keys=np.array([0], dtype=np.uint64),
            days=horizon_days,
            archetype_prices=np.array([p.ref_price for p in products]),
            archetype_weights=np.array([p.weight for p in products]),
            ai_tasks={name: AiTask(f.prompt_tokens, f.completion_tokens) for name, f in fixtures.items()},
            idempotent_orders=True,
        )
        self.ports: dict[str, Any] = mock_ports(self.world)
        self.placements: Counter[int] = Counter()
        self.requests: Counter[int] = Counter()
        self._polled: dict[int, list[EventBatch]] = {}
        self.store = open_store(store_url) if store_url else None
        saved = load_snapshot(self.store, MARKET_ACTOR) if self.store is not None else None
        if saved is not None:
            self.world, self.placements, self.requests, self._polled = (
                saved["world"], saved["placements"], saved["requests"], saved["polled"])
            self.ports = mock_ports(self.world)

    def _commit(self, cause: str) -> None:
        if self.store is None:
            return
        state = {"world": self.world, "placements": self.placements, "requests": self.requests,
                 "polled": self._polled}
        self.store.run(lambda tx: save_snapshot(tx, MARKET_ACTOR, state, cause))

    def slots(self) -> int:
        return int(self.world.catalog.slots)

    def call(self, key: str | None, port: str, method: str, *args: Any) -> Any:
        if port == "supplier" and method == "place_orders":
            answer = self._place_orders(*args)
        else:
            answer = getattr(self.ports[port], method)(*args)
        if method not in _MARKET_READS:
            self._commit(key or f"{port}.{method}")
        return answer

    def _place_orders(self, *args: Any) -> Any:
        placements = self.world.placements
        assert placements is not None, "the staging world is built with idempotent orders"
        before = set(placements)
        answer = self.ports["supplier"].place_orders(*args)
        self.requests.update(int(order) for order in args[3])
        # A cohort of one is run 0, so a placement's key is its order id.
        self.placements.update(int(key) for key in set(placements) - before)
        return answer

    def open_day(self, day: int) -> list[EventBatch]:
        """Close the market's last day, open `day`, and return what its ingress ports produced.

        Asking again for the same day returns the same events (a coordinator
        that restarted before recording them gets them again).
        """
        if day in self._polled:
            return self._polled[day]
        if day <= self.world.day:
            return []
        if self.world.day >= 0:
            self.world.end_day(self.world.day)
        self.world.begin_day(day)
        polled = [batch for port in INGRESS_ORDER for batch in self.ports[port].poll()]
        self._polled = {day: polled}
        self._commit(f"day:{day}")
        return polled

    def kpis(self) -> dict[str, Any]:
        world, day = self.world, max(self.world.day, 0)
        totals = world.ledger.totals
        roas = float(world.daily["roas"][day, 0])
        return {
            "day": int(world.day),
            "cash_cents": int(world.ledger.cash[0]),
            "revenue_cents": int(totals["revenue"][0]),
            "ad_spend_cents": int(totals["ad_spend"][0]),
            "orders": int(world.totals["orders"][0]),
            "sessions": int(world.totals["sessions"][0]),
            "tickets": int(world.totals["tickets"][0]),
            "roas": None if np.isnan(roas) else round(roas, 4),
        }

    def placements_of(self, order_ids: list[int]) -> dict[int, tuple[int, int]]:
        """Per order id: (orders the supplier placed, place requests it received)."""
        return {o: (self.placements[o], self.requests[o]) for o in order_ids}

    def breakers(self) -> dict[str, dict[str, Any]]:
        return {}  # a simulated market has no platform and no breaker

    def ping(self) -> str:
        return MARKET_ACTOR


class LiveAdapterHost:
    """One live port over its platform client, as an actor (`adapter:<port>`)."""

    def __init__(self, spec: LiveAdapterSpec, store_url: str, slots: int) -> None:
        self.port_name = spec.port
        self.port = spec.build(open_store(store_url), slots)

    def call(self, key: str | None, port: str, method: str, *args: Any) -> Any:
        with self.port.causation(key):
            try:
                return getattr(self.port, method)(*args)
            except PlatformUnavailable as error:
                return Unavailable(error.platform, f"{error.reason or 'unavailable'}: {error}")

    def poll(self) -> Polled | Unavailable:
        """What the port's platform has new since the last recorded poll (the coordinator records it).

        A port with a cursor or marks answers `pending()`, which writes nothing
        (`ds1ray.live.polled`); one without (the shop: orders come by webhook)
        answers its `poll()`, which must then be empty: rows without platform
        ids could not be recorded once.
        """
        try:
            if hasattr(self.port, "pending"):
                polled: Polled = self.port.pending()
                return polled
            batches = self.port.poll()
        except PlatformUnavailable as error:
            return Unavailable(error.platform, f"{error.reason or 'unavailable'}: {error}")
        if batches:
            raise TypeError(f"the live {self.port_name} port's poll() answered rows, but it has no pending() "
                            f"to give them platform ids")
        return Polled(self.port_name)

    def breakers(self) -> dict[str, dict[str, Any]]:
        status = self.port.status()
        breaker: dict[str, Any] = status["breaker"]
        return {str(status["platform"]): breaker}

    def ping(self) -> str:
        return f"adapter:{self.port_name}"


@dataclass(frozen=True)
class LiveAdapterSpec:
    """How to reach one live platform: its API root, the env var of its key, its guard."""

    port: str
    base_url: str
    secret_env: str
    guard: GuardSettings = field(default_factory=GuardSettings)
    timeout_s: float = 30.0
    options: Mapping[str, str] = field(default_factory=dict)

    def build(self, store: Store, slots: int) -> Any:
        """The live port over its client, its key read from this process's environment."""
        import os

        return build_live_port(self.port, PortContext(
            base_url=self.base_url, secret=os.environ.get(self.secret_env, ""), store=store, slots=slots,
            guard=self.guard, timeout_s=self.timeout_s, options=dict(self.options)))


# Checks before start-up -------------------------------------------------------------------------

def referenced_secrets(config: Config) -> dict[str, str]:
    """Secret name → environment variable, for every `${ENV_VAR}` the overlay references."""
    from ds1ray.config.bootstrap import SECRET_REFERENCE

    found = {}
    for name, reference in config.bootstrap.secrets.items():
        match = SECRET_REFERENCE.match(reference)
        if match is not None:
            found[name] = match.group(1)
    return found


def check_secrets(config: Config) -> None:
    """Refuse to start, naming the first secret whose environment variable is unset."""
    for name in referenced_secrets(config):
        config.secret(name)  # ConfigError naming the variable, the file and the line


def live_store_url(config: Config) -> str:
    """The overlay's database: `database.url`, else DS1_DATABASE_URL, else the embedded file."""
    return config.database_url() or database_url(config.bootstrap.database.name)


def check_placement(store_url: str, alive_nodes: int) -> None:
    """A cluster of several nodes needs a store every node reaches: PostgreSQL."""
    location = parse_store_url(store_url)
    if alive_nodes > 1 and location.backend != "postgresql":
        raise UserError(
            f"the Ray cluster has {alive_nodes} nodes and the store is {location.describe()}: "
            f"an embedded SQLite file lives on one machine, so actors on other nodes could not "
            f"reach it; set database.url (or DS1_DATABASE_URL) to a PostgreSQL database")


def plan_adapters(config: Config, live: Mapping[str, LiveAdapterSpec] | None = None
                  ) -> dict[str, LiveAdapterSpec]:
    """The live adapters to start (port → spec); every other port is served by the market."""
    specs = dict(live or {})
    policies = config.bootstrap.policies
    guard = GuardSettings(
        max_attempts=policies.retry.max_attempts, base_delay_s=policies.retry.base_delay_s,
        max_delay_s=policies.retry.max_delay_s, max_retry_after_s=policies.retry.max_retry_after_s,
        failure_threshold=policies.circuit_breaker.failure_threshold,
        reset_timeout_s=policies.circuit_breaker.reset_timeout_s)
    adapters = config.bootstrap.adapters
    for port in PORT_NAMES:
        settings = getattr(adapters, port)
        if settings.mode != "live" or port in specs:
            continue
        if port not in live_ports():
            raise UserError(
                f"{config.overlay}: adapters.{port}.mode is live, but this ds1ray has a live "
                f"adapter only for {', '.join(live_ports())}; set adapters.{port}.mode: mock")
        if not settings.base_url:
            raise UserError(f"{config.overlay}: adapters.{port}.base_url is not set")
        secret_env = referenced_secrets(config).get(settings.secret or "", "")
        options = dict(settings.options)
        if port == "ai":  # the model and token budget are ai_policy's unless the options say otherwise
            ai = config.bootstrap.ai_policy
            options = {"model": ai.model, "max_tokens": str(ai.max_tokens), "temperature": str(ai.temperature),
                       "daily_token_cap": "" if ai.daily_token_cap is None else str(ai.daily_token_cap),
                       **options}
        specs[port] = LiveAdapterSpec(port, settings.base_url, secret_env,
                                      replace(guard, rate_per_second=settings.rate_limit_per_minute / 60),
                                      settings.timeout_s, options)
    return specs


def check_live_ports(config: Config, specs: Mapping[str, LiveAdapterSpec], store_url: str) -> None:
    """Build every live port once here, before any actor starts, so a bad or missing option is one
    error naming the overlay key (in an actor it would be a traceback and a half-started instance).

    Building a port opens no connection to its platform, so this needs no network.
    """
    store = open_store(store_url)
    try:
        for spec in specs.values():
            try:
                spec.build(store, slots=1)
            except (UserError, ValueError) as error:
                raise UserError(f"{config.overlay}: {error}") from None
    finally:
        store.close()


def _options(name: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, **ACTOR_OPTIONS, **extra}


# Up, status, down -------------------------------------------------------------------------------

@dataclass
class LiveInstance:
    """What `start_live` started."""

    store_url: str
    actors: list[str]
    url: str | None


def start_live(config: Config, *, store_url: str | None = None,
               live_adapters: Mapping[str, LiveAdapterSpec] | None = None,
               background: bool = True, relay_interval: float = 0.2, max_attempts: int = 8,
               http: bool = True, port: int | None = None,
               ingress_interval: float = INGRESS_INTERVAL_S) -> LiveInstance:
    """Start the live business on the connected Ray cluster (see the module docstring)."""
    check_secrets(config)
    if http:
        check_http(config)
    url = store_url or live_store_url(config)
    check_placement(url, sum(1 for node in ray.nodes() if node.get("Alive")))
    if _find(COORDINATOR) is not None:
        raise UserError(f"the live instance is already running in Ray namespace {NAMESPACE!r}: "
                        f"`ds1ray live status` shows it, `ds1ray live down` stops it")
    specs = plan_adapters(config, live_adapters)
    migrate_store(url)  # the runtime's tables too (migration 0005)

    check_live_ports(config, specs, url)
    env = {spec.secret_env: _env(spec.secret_env) for spec in specs.values() if spec.secret_env}
    market: Any = ray.remote(StagingMarket).options(**_options(MARKET_ACTOR)).remote(config, store_url=url)
    slots = int(ray.get(market.slots.remote()))
    started: list[str] = [MARKET_ACTOR]
    for name, spec in specs.items():
        ray.remote(LiveAdapterHost).options(**_options(f"adapter:{name}"), runtime_env={
            "env_vars": env}).remote(spec, url, slots)
        started.append(f"adapter:{name}")
    routes = {name: (f"adapter:{name}" if name in specs else MARKET_ACTOR) for name in PORT_NAMES}
    agents: dict[str, Any] = {agent_id: ray.remote(AgentHost).options(**_options(f"agent:{agent_id}")).remote(
        config, url, agent_id, {p: routes[p] for p in config.agents[agent_id].ports}, slots)
        for agent_id in config.agents}
    ray.get([actor.ping.remote() for actor in agents.values()])
    started += [f"agent:{agent_id}" for agent_id in agents]
    coordinator: Any = ray.remote(Coordinator).options(**_options(COORDINATOR)).remote(
        config, url, list(agents), market=MARKET_ACTOR, background=background,
        relay_interval=relay_interval, max_attempts=max_attempts,
        ingress=[name for name in INGRESS_ORDER if name in specs], ingress_interval=ingress_interval)
    ray.get(coordinator.ping.remote())
    started.append(COORDINATOR)
    served = start_http(config, url, port) if http else None
    if served is not None:
        started.append(HTTP_ACTOR)
    return LiveInstance(url, started, served)


def _env(variable: str) -> str:
    import os

    return os.environ.get(variable, "")


class HttpHost:
    """The `http` actor: uvicorn serving the FastAPI app over an `ActorBackend`."""

    def __init__(self, config: Config, store_url: str, host: str, port: int) -> None:
        from ds1ray.live.actor_backend import ActorBackend
        from ds1ray.live.server import HttpServer, build_live_app

        self.store = open_store(store_url)
        app = build_live_app(config, self.store, ActorBackend(self.store))
        advertise = ray.util.get_node_ip_address() if host in ("0.0.0.0", "::") else host
        self.server = HttpServer(app, host=host, port=port, advertise_host=advertise)
        self.served = self.server.start()

    def url(self) -> str:
        return self.served

    def ping(self) -> str:
        return HTTP_ACTOR


HTTP_ENV = ("DS1_PII_HASH_KEY",)
"""Variables the HTTP app reads besides the overlay's secrets (the PII hash key)."""


def check_http(config: Config) -> None:
    """Refuse before start-up what the HTTP app would refuse (a missing key, unsigned webhooks)."""
    if importlib.util.find_spec("ds1ray.live.app") is None:
        return
    from ds1ray.live.app import intake_from_config

    intake_from_config(config)


def start_http(config: Config, store_url: str, port: int | None) -> str | None:
    """Start the `http` actor when the HTTP app is installed; the URL it serves, else None."""
    if importlib.util.find_spec("ds1ray.live.server") is None:
        return None
    http = config.bootstrap.http
    env = {name: _env(name) for name in (*referenced_secrets(config).values(), *HTTP_ENV)
           if _env(name)}
    http_actor: Any = ray.remote(HttpHost).options(**_options(HTTP_ACTOR), runtime_env={
        "env_vars": env}).remote(config, store_url, http.host, http.port if port is None else port)
    return str(ray.get(http_actor.url.remote()))


def _find(name: str) -> Any | None:
    try:
        return ray.get_actor(name, namespace=NAMESPACE)
    except ValueError:
        return None


def _is_live_name(name: str) -> bool:
    return name in (COORDINATOR, HTTP_ACTOR) or name.startswith(("agent:", "adapter:"))


def live_actors() -> list[dict[str, Any]]:
    """Every actor of the live instance with Ray's view of it (state, restarts, pid).

    Read from the GCS actor table, which answers without Ray's dashboard (the
    state API needs it, and a small cluster may run without one).
    """
    from ray._private import state  # the GCS table; ray.util.state needs the dashboard

    latest: dict[str, dict[str, Any]] = {}
    for info in state.actors().values():
        name = str(info.get("Name") or "")
        if not _is_live_name(name) or not info.get("IsDetached"):
            continue
        entry = {"name": name, "state": str(info.get("State")),
                 "restarts": int(info.get("NumRestarts") or 0),
                 "class": info.get("ActorClassName"), "pid": info.get("Pid")}
        # A name also lists the dead actors of earlier instances; the one not dead is current.
        if name not in latest or latest[name]["state"] == "DEAD":
            latest[name] = entry
    return sorted(latest.values(), key=lambda a: str(a["name"]))


def live_status() -> dict[str, Any]:
    """Actors and their state, breakers, queue depths and dead letters of the running instance."""
    coordinator = _find(COORDINATOR)
    if coordinator is None:
        raise UserError(f"no live instance is running in Ray namespace {NAMESPACE!r} "
                        f"(start it with `ds1ray live up`)")
    breakers: dict[str, Any] = {}
    actors = live_actors()
    for actor in actors:
        name = str(actor["name"])
        handle = _find(name) if actor["state"] == "ALIVE" else None
        if handle is None:
            continue
        if name.startswith("adapter:"):
            breakers.update(ray.get(handle.breakers.remote(), timeout=30))
        elif name.startswith("agent:"):
            actor["handled"] = ray.get(handle.stats.remote(), timeout=30)
    return {"actors": actors, "coordinator": ray.get(coordinator.status.remote(), timeout=60),
            "breakers": breakers}


def stop_live() -> dict[str, Any]:
    """Drain the outbox once more, then kill every actor of the namespace (no restart)."""
    coordinator = _find(COORDINATOR)
    drained: dict[str, int] = {}
    if coordinator is not None:
        drained = ray.get(coordinator.stop.remote(), timeout=300)
    killed = []
    for actor in live_actors():
        handle = _find(str(actor["name"])) if actor["state"] != "DEAD" else None
        if handle is not None:
            ray.kill(handle, no_restart=True)
            killed.append(str(actor["name"]))
    return {"drained": drained, "killed": killed}
