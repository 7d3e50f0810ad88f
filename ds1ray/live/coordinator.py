"""The coordinator: the live business's bus, schedules and outbox relay, as one actor.

Everything the agents work on reaches them through the store's outbox: webhooks
(written by the HTTP app), the user's commands, the ticks of the schedules and
what the agents themselves publish. The relay claims pending outbox rows,
turns each into a one-row `EventBatch` of its contract (`to_delivery`), puts it
on the bus, whose subscribers are the agent actors (`AgentHost.handle`), and
marks the row published only after every subscriber returned. Delivery is at
least once; the agent hosts apply each event once (`Store.consume_once`).

The relay claims rows with `FOR UPDATE SKIP LOCKED` on PostgreSQL (the store's
`OutboxRelay`). On the embedded SQLite store a claiming transaction would hold
the file's single write lock while the agents, in other processes, try to
commit, so there the relay reads pending rows, delivers each outside any
transaction and marks it afterwards; the coordinator is the one relay (a named
actor), so no second relay competes for the rows.

Ticks: DAILY_TICK and OPTIMIZATION_TICK fire on the overlay's schedule in the
business's time zone (`ds1ray.live.schedules`); each tick is an outbox event
with a fixed id, recorded together with the time of the last tick, so a
restarted coordinator neither skips nor repeats one. In staging, a daily tick
also moves the simulated market to the new day and records what its ingress
ports produced (customers, carriers, inbox) as outbox events.

Live ingress: the ports served by live adapters whose platform must be pulled
(Zendesk tickets, AfterShip shipments) are polled at every tick and every
`ingress_interval` seconds (`ds1ray.live.ingress`); each port's rows are
committed with its cursor in one transaction, under ids derived from the
platform's ids, so a re-poll or a crash between poll and record neither loses
nor repeats one.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, cast

import ray

from ds1ray.adapters.live.ports import SHOP_PRODUCT, Unavailable, slot_of
from ds1ray.bus import CohortBus
from ds1ray.cohort import build_bus
from ds1ray.config import Config
from ds1ray.events.batch import EventBatch
from ds1ray.events.contracts import CONTRACTS
from ds1ray.live.agent_host import (
    LIVE_RUN_ID,
    NAMESPACE,
    RELAY_HANDLER,
    derived_event_id,
    published_events,
)
from ds1ray.live.ingress import IngressPoller
from ds1ray.live.polled import Polled
from ds1ray.live.schedules import BusinessCalendar, Tick, business_start_date
from ds1ray.store.events import EVENT_COLUMNS, Event, event_from_row
from ds1ray.store.outbox import OutboxRelay, RelayReport
from ds1ray.store.store import Store, open_store
from ds1ray.store.transaction import Transaction

log = logging.getLogger(__name__)

LAST_TICK_KEY = "last_tick_at"
INGRESS_INTERVAL_S = 60.0  # between polls of the live ingress ports (tickets, shipments)
INGRESS_POLL_TIMEOUT_S = 300.0  # an adapter actor that answers no poll in this long counts as failed
REFUND_REASON_RETURN = 0  # ds1ray.events.contracts.REFUND_REASON_CODES: a platform refund


class UndeliverableEvent(ValueError):
    """A stored event that cannot become a contract batch (yet): it stays for a redrive."""


# Stored event → contract batch -------------------------------------------------------------

def to_delivery(store: Store, event: Event) -> tuple[EventBatch, str] | None:
    """The one-row batch of `event` and the key that identifies its fact; None if no contract.

    Agents' events and commands store their contract fields as the payload.
    Platform webhooks store the platform's payload; their contract fields are
    mapped here (a Shopify product id to its product slot, through the store's
    `live_platform_ids`). Two ORDER_PAID events of one order are one fact: the
    key is the order, so the agents act on it once.
    """
    contract = CONTRACTS.get(event.type)
    if contract is None:
        return None  # recorded in the log (Stripe payments, cancellations): nothing subscribes
    fields = contract.model_fields
    if set(fields) <= set(event.payload):
        values = {name: event.payload[name] for name in fields}
    else:
        values = store.run(lambda tx: _platform_fields(tx, event))
    try:
        model = contract.model_validate(values)
    except ValueError as error:
        raise UndeliverableEvent(f"{event.type} {event.event_id}: {error}") from None
    key = f"order-paid:{values['order_id']}" if event.type == "ORDER_PAID" else event.event_id
    return EventBatch.from_events([0], [model]), key


def _platform_fields(tx: Transaction, event: Event) -> dict[str, Any]:
    payload = event.payload
    if event.type == "ORDER_PAID":
        return {"order_id": int(payload["order_id"]),
                "product": _slot_of_order(tx, payload, event.event_id),
                "amount_cents": int(payload["amount_cents"]), "channel": 0,
                "customer_ref": int(payload.get("customer_ref") or 0)}
    if event.type == "ORDER_REFUNDED":
        paid = tx.scalar("SELECT payload FROM event_log WHERE type = 'ORDER_PAID' AND "
                         "correlation_id = %s ORDER BY created_at LIMIT 1", [event.correlation_id])
        if paid is None:
            raise UndeliverableEvent(f"ORDER_REFUNDED {event.event_id}: no ORDER_PAID of "
                                     f"{event.correlation_id} in the log yet")
        order = tx.dialect.load_json(paid)
        return {"order_id": int(payload["order_id"]),
                "product": _slot_of_order(tx, order, event.event_id),
                "amount_cents": int(payload["amount_cents"]), "reason": REFUND_REASON_RETURN}
    missing = sorted(set(CONTRACTS[event.type].model_fields) - set(payload))
    raise UndeliverableEvent(f"{event.type} {event.event_id}: payload lacks {', '.join(missing)}")


def _slot_of_order(tx: Transaction, order: dict[str, Any], event_id: str) -> int:
    products = [str(item.get("product_id")) for item in order.get("line_items", [])]
    for product in products:
        slot = slot_of(tx, SHOP_PRODUCT, product)
        if slot is not None:
            return slot
    raise UndeliverableEvent(f"order event {event_id}: no product slot is mapped to Shopify "
                             f"product(s) {', '.join(products) or '(none)'}")


# The relay ------------------------------------------------------------------------------

class LiveRelay(OutboxRelay):
    """`OutboxRelay` with a backoff per row, and delivery outside the claim on SQLite.

    A row that failed waits `retry_base · (2^attempts − 1)` seconds from its first
    failure before the next try (an ORDER_REFUNDED that came before its
    ORDER_PAID waits for it), and is dead-lettered after `max_attempts`.
    """

    def __init__(self, store: Store, publish: Any, *, retry_base: float = 0.5, **options: Any) -> None:
        super().__init__(store, publish, **options)
        self.retry_base = retry_base

    def drain_once(self) -> RelayReport:
        if self.store.dialect == "postgresql":
            # Claimed rows stay locked (FOR UPDATE SKIP LOCKED) while they are delivered.
            return self.store.run(self._deliver_claimed)
        rows = self.store.run(self._claim)
        report = RelayReport()
        for outbox_id, attempts, event in rows:
            try:
                self.publish(event)
            except Exception as error:  # recorded on the row, dead-lettered after max_attempts
                self.store.run(partial(self._failed, outbox_id=outbox_id, attempts=attempts,
                                       event=event, error=error, report=report))
                continue
            self.store.run(partial(_mark_published, outbox_id=outbox_id))
            report.published.append(event.event_id)
        return report

    def _deliver_claimed(self, tx: Transaction) -> RelayReport:
        report = RelayReport()
        for outbox_id, attempts, event in self._claim(tx):
            try:
                self.publish(event)
            except Exception as error:  # recorded on the row, dead-lettered after max_attempts
                self._failed(tx, outbox_id=outbox_id, attempts=attempts, event=event, error=error,
                             report=report)
                continue
            _mark_published(tx, outbox_id=outbox_id)
            report.published.append(event.event_id)
        return report

    def _failed(self, tx: Transaction, *, outbox_id: int, attempts: int, event: Event,
                error: Exception, report: RelayReport) -> None:
        self._record_failure(tx, outbox_id, attempts + 1, event, error, report)

    def _claim(self, tx: Transaction) -> list[tuple[int, int, Event]]:
        lock = " FOR UPDATE OF o SKIP LOCKED" if tx.backend == "postgresql" else ""
        columns = ", ".join(f"e.{column}" for column in EVENT_COLUMNS)
        rows = tx.execute(
            f"SELECT o.id, o.attempts, o.first_failed_at, {columns} FROM outbox o JOIN event_log e "
            "ON e.event_id = o.event_id WHERE o.published_at IS NULL AND o.dead_lettered_at IS NULL "
            f"ORDER BY o.id LIMIT %s{lock}", [self.batch_size]).fetchall()
        now = tx.now()
        due = []
        for outbox_id, attempts, first_failed, *event_row in rows:
            failed_at = tx.dialect.load_timestamp(first_failed)
            wait = self.retry_base * (2 ** min(int(attempts), 16) - 1)
            if failed_at is None or now >= failed_at + timedelta(seconds=wait):
                due.append((int(outbox_id), int(attempts), event_from_row(tx, tuple(event_row))))
        return due


def _mark_published(tx: Transaction, *, outbox_id: int) -> None:
    tx.execute("UPDATE outbox SET published_at = %s, attempts = attempts + 1 WHERE id = %s",
               [tx.dialect.timestamp(tx.now()), outbox_id])


def _poll_adapter(port: str) -> Polled | Unavailable:
    """Ask the adapter actor of `port` for what its platform has new."""
    actor = ray.get_actor(f"adapter:{port}", namespace=NAMESPACE)
    return cast(Polled | Unavailable, ray.get(actor.poll.remote(), timeout=INGRESS_POLL_TIMEOUT_S))


# The coordinator --------------------------------------------------------------------------

class Coordinator:
    """The bus, the schedules and the relay of the live business (one named actor).

    Args:
        config: the live configuration (bus manifest, schedules).
        store_url: the store.
        agent_ids: the agents; each is the actor `agent:<id>`.
        market: the staging market actor's name, or None when the adapters are live.
        background: run the relay and the schedules in a thread (False: tests drive them).
        relay_interval: seconds between relay passes when the outbox is empty.
        max_attempts: deliveries of one event before it is dead-lettered.
        retry_base: seconds before the first retry of a failed delivery (then doubling).
        ingress: the ports served by live adapter actors (`adapter:<port>`) whose platform is
            polled for new rows (tickets, shipments), at every tick and every `ingress_interval`
            seconds.
    """

    def __init__(self, config: Config, store_url: str, agent_ids: list[str], *,
                 market: str | None = None, background: bool = True, relay_interval: float = 0.2,
                 max_attempts: int = 8, retry_base: float = 0.5, ingress: Sequence[str] = (),
                 ingress_interval: float = INGRESS_INTERVAL_S) -> None:
        self.store = open_store(store_url)
        self.agent_ids = list(agent_ids)
        self.market = market
        self.relay_interval = relay_interval
        self.calendar = BusinessCalendar(config.bootstrap.schedules,
                                         business_start_date(self.store, datetime.now(UTC).date()))
        self.bus: CohortBus = build_bus(config, {a: self._deliverer(a) for a in self.agent_ids})
        self.relay = LiveRelay(self.store, self._publish, name=RELAY_HANDLER,
                               max_attempts=max_attempts, retry_base=retry_base)
        self.outcomes: Counter[str] = Counter()
        self.totals = RelayReport()
        self.last_error: str | None = None
        self._current: tuple[str, str] = ("", "")
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._last_tick = self._read_last_tick()
        self.ingress = IngressPoller(self.store, {port: partial(_poll_adapter, port) for port in ingress},
                                     run_id=LIVE_RUN_ID, escalation_id=derived_event_id)
        self.ingress_interval = ingress_interval
        self._next_ingress = 0.0  # the first loop pass polls at once
        if self.market is not None:
            self._record(self._open_market_day(self.calendar.day_of(datetime.now(UTC))))
        self._thread: threading.Thread | None = None
        if background:
            self._thread = threading.Thread(target=self._loop, name="relay", daemon=True)
            self._thread.start()

    # Delivery ---------------------------------------------------------------------------

    def _deliverer(self, agent_id: str) -> Any:
        def deliver(batch: EventBatch) -> list[EventBatch]:
            event_id, key = self._current
            actor = ray.get_actor(f"agent:{agent_id}", namespace=NAMESPACE)
            outcome = str(ray.get(actor.handle.remote(event_id, batch, key)))
            self.outcomes[outcome] += 1
            return []  # what the agent published is in the outbox, committed with its state

        return deliver

    def _publish(self, event: Event) -> None:
        delivery = to_delivery(self.store, event)
        if delivery is None:
            return
        batch, key = delivery
        self._current = (event.event_id, key)
        self.bus.publish(batch)
        self.bus.drain()

    def relay_once(self) -> dict[str, int]:
        """Drain the outbox until it is empty or only failing rows are left."""
        with self._lock:
            report = self.relay.drain()
            self.totals.merge(report)
            if report.dead_lettered:
                self._escalate_dead_letters(report.dead_lettered)
        return {"published": len(report.published), "failed": len(report.failed),
                "dead_lettered": len(report.dead_lettered)}

    def _escalate_dead_letters(self, event_ids: list[str]) -> None:
        def record(tx: Transaction) -> None:
            for event_id in event_ids:
                tx.outbox.add(Event(
                    event_id=derived_event_id("escalation", RELAY_HANDLER, event_id),
                    type="ESCALATION_TRIGGERED", source="coordinator", run_id=LIVE_RUN_ID,
                    correlation_id=event_id,
                    payload={"source": "coordinator", "reason": "event could not be delivered",
                             "product": -1}))

        self.store.run(record)

    # Schedules ------------------------------------------------------------------------------

    def _read_last_tick(self) -> datetime:
        value = self.store.run(lambda tx: tx.scalar(
            "SELECT value FROM live_settings WHERE key = %s", [LAST_TICK_KEY]))
        # A first start fires no tick for the past: the schedule begins now.
        return datetime.fromisoformat(value) if value else datetime.now(UTC)

    def due_ticks(self, now: datetime | None = None) -> int:
        """Record every tick that fell due since the last one; returns how many."""
        now = now or datetime.now(UTC)
        with self._lock:
            ticks = self.calendar.ticks_between(self._last_tick, now)
            for tick in ticks:
                self.record_tick(tick)
        return len(ticks)

    def fire(self, kind: str, day: int | None = None) -> str:
        """Record a tick now (an operator's or a test's), as if the schedule had fired."""
        now = datetime.now(UTC)
        tick = Tick(kind, now.astimezone(self.calendar.zone),
                    self.calendar.day_of(now) if day is None else day)
        with self._lock:
            self.record_tick(tick)
        return tick.event_id

    def record_tick(self, tick: Tick) -> None:
        polled = self._open_market_day(tick.day) if tick.kind == "daily" and self.market else []
        event = Event(event_id=tick.event_id, type=tick.event_type, source="clock",
                      run_id=LIVE_RUN_ID, payload={"day": tick.day})

        def record(tx: Transaction) -> None:
            tx.outbox.add(event)
            for ingress in polled:
                tx.outbox.add(ingress)
            tx.execute("INSERT INTO live_settings (key, value) VALUES (%s, %s) ON CONFLICT (key) "
                       "DO UPDATE SET value = excluded.value", [LAST_TICK_KEY, tick.at.isoformat()])

        self.store.run(record)
        self._last_tick = max(self._last_tick, tick.at)
        if self.ingress.ports:
            self._poll_ingress()

    # Ingress --------------------------------------------------------------------------------

    def poll_ingress(self) -> dict[str, int]:
        """Poll every live ingress port now and record what it read (per port: new events, -1: failed)."""
        with self._lock:
            return self._poll_ingress()

    def _poll_ingress(self) -> dict[str, int]:
        report = self.ingress.poll_all()
        self._next_ingress = time.monotonic() + self.ingress_interval
        return report

    def _record(self, events: list[Event]) -> None:
        def record(tx: Transaction) -> None:
            for event in events:
                tx.outbox.add(event)

        self.store.run(record)

    def _open_market_day(self, day: int) -> list[Event]:
        """Move the staging market to `day`; its ingress of that day as store events."""
        assert self.market is not None, "only a staging instance has a market"
        host = ray.get_actor(self.market, namespace=NAMESPACE)
        batches: list[EventBatch] = ray.get(host.open_day.remote(day))
        return published_events("staging-market", f"day:{day}", batches)

    # The loop ---------------------------------------------------------------------------------

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.due_ticks()
                if self.ingress.ports and time.monotonic() >= self._next_ingress:
                    self.poll_ingress()
                moved = self.relay_once()
                self.last_error = None
            except Exception as error:  # kept for `live status`; the loop must go on
                self.last_error = f"{type(error).__name__}: {error}"
                log.exception("relay pass failed")
                moved = {}
            if not moved.get("published"):
                self._stop.wait(self.relay_interval)

    def stop(self) -> dict[str, int]:
        """Stop the loop after a last full drain (`ds1ray live down`)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        return self.relay_once()

    # Read side ---------------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        def read(tx: Transaction) -> tuple[int, int]:
            pending = int(tx.outbox.pending_count())
            dead = int(tx.scalar("SELECT COUNT(*) FROM dead_letters"))
            return pending, dead

        pending, dead = self.store.run(read)
        return {
            "day": self.calendar.day_of(datetime.now(UTC)),
            "last_tick_at": self._last_tick.isoformat(),
            "outbox_pending": pending,
            "dead_letters": dead,
            "published": len(self.totals.published),
            "failed_deliveries": len(self.totals.failed),
            "relay_dead_lettered": len(self.totals.dead_lettered),
            "agent_outcomes": dict(self.outcomes),
            "delivered": dict(self.bus.delivered),
            "running": self._thread is not None and self._thread.is_alive(),
            "last_error": self.last_error,
            "ingress": self.ingress.status(),
        }

    def ping(self) -> str:
        return "coordinator"
