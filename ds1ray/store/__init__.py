"""ds1ray's store: the record of sweeps and of the live business.

Two backends behind one interface and one schema: an embedded SQLite file (the
default, no server) and PostgreSQL (psycopg 3 + psycopg_pool). Usage::

    from ds1ray.store import Event, database_url, load_sweep, open_store

    with open_store(database_url("dropship_sim")) as store:
        store.record_sweep_cohort("exp-1", manifest, runs, daily, cohort_key="0")
        runs, daily = load_sweep(store, "exp-1")
        with store.transaction() as tx:
            tx.insert("orders", {...})
            tx.outbox.add(Event(type="ORDER_PAID", source="shopify", payload={...}))

See docs/store.md for the full API, the schema and the CLI (`ds1ray db`, `ds1ray dlq`).
"""

from ds1ray.store.dead_letters import DeadLetter, DeadLetters, RedriveReport
from ds1ray.store.events import Event, append_event, read_events
from ds1ray.store.handlers import DeliveryReport, HandlerRegistry, deliver, registry
from ds1ray.store.idempotency import (
    KEY_TTL,
    IdempotencyKeyReused,
    IdempotencyKeys,
    Response,
    request_hash,
)
from ds1ray.store.outbox import OutboxRelay, RelayReport
from ds1ray.store.store import (
    MigrationReport,
    Store,
    StoreStatus,
    migrate_store,
    open_store,
    store_status,
)
from ds1ray.store.sweeps import load_sweep, record_sweep_cohort
from ds1ray.store.transaction import Transaction
from ds1ray.store.urls import DATABASE_URL_ENV, StoreLocation, database_url, parse_store_url

__all__ = [
    "DATABASE_URL_ENV",
    "KEY_TTL",
    "DeadLetter",
    "DeadLetters",
    "DeliveryReport",
    "Event",
    "HandlerRegistry",
    "IdempotencyKeyReused",
    "IdempotencyKeys",
    "MigrationReport",
    "OutboxRelay",
    "RedriveReport",
    "RelayReport",
    "Response",
    "Store",
    "StoreLocation",
    "StoreStatus",
    "Transaction",
    "append_event",
    "database_url",
    "deliver",
    "load_sweep",
    "migrate_store",
    "open_store",
    "parse_store_url",
    "read_events",
    "record_sweep_cohort",
    "registry",
    "request_hash",
    "store_status",
]
