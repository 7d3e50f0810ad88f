"""Live ingress: Zendesk tickets and AfterShip shipments polled into the store once each.

The adapter hosts run in this process (the same `LiveAdapterHost` class the
live instance starts as actors) over the contract servers on real sockets; the
poller records into a real store, embedded and PostgreSQL. A "crash" between
poll and record is a poll whose answer is thrown away, or a recording
transaction that fails before it commits.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

import pytest
from contract_servers.aftership import PREFIX, AfterShipServer
from contract_servers.base import serve
from contract_servers.zendesk import ZendeskServer

from ds1ray.adapters.live.email_port import CURSOR_KEY, ticket_event_id
from ds1ray.adapters.live.ports import SHOP_PRODUCT, GuardSettings, PlatformIds, Unavailable
from ds1ray.adapters.live.shipping_port import SHIPMENT, shipped_event_id
from ds1ray.events.contracts import TICKET_REASON_CODES
from ds1ray.live.agent_host import LIVE_RUN_ID, derived_event_id
from ds1ray.live.ingress import IngressPoller
from ds1ray.live.polled import Polled, record_polled
from ds1ray.live.runtime import LiveAdapterHost, LiveAdapterSpec
from ds1ray.store import Store, migrate_store, open_store
from ds1ray.store.events import Event, append_event
from ds1ray.store.transaction import Transaction

from .test_runtime import postgres_database

ORDER = 7_300_000_002
PRODUCT = 4
GUARD = GuardSettings(max_attempts=1, failure_threshold=100, rate_per_second=100.0)  # fail at once, no sleeps


class Crash(RuntimeError):
    """The process dying at the worst moment."""


@pytest.fixture(scope="module")
def zendesk() -> Iterator[ZendeskServer]:
    server = ZendeskServer()
    with serve(server):
        yield server


@pytest.fixture(scope="module")
def aftership() -> Iterator[AfterShipServer]:
    server = AfterShipServer()
    with serve(server):
        yield server


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'live.sqlite3'}"
        migrate_store(url)
        yield url
        return
    url, drop = postgres_database()
    migrate_store(url)
    try:
        yield url
    finally:
        drop()


@pytest.fixture
def store(store_url: str, zendesk: ZendeskServer, aftership: AfterShipServer) -> Iterator[Store]:
    zendesk.reset()
    aftership.reset()
    with open_store(store_url) as opened:
        yield opened


@pytest.fixture
def hosts(store_url: str, store: Store, zendesk: ZendeskServer, aftership: AfterShipServer,
          monkeypatch: pytest.MonkeyPatch) -> dict[str, LiveAdapterHost]:
    """The e-mail and shipping adapter hosts, as `start_live` builds them."""
    monkeypatch.setenv("ZENDESK_API_TOKEN", "zd-token")
    monkeypatch.setenv("AFTERSHIP_API_KEY", "as-key")
    email = LiveAdapterSpec("email", zendesk.url, "ZENDESK_API_TOKEN", GUARD, 10.0,
                            {"agent_email": "agent@ds1.test", "start_time": "0"})
    shipping = LiveAdapterSpec("shipping", aftership.url + PREFIX, "AFTERSHIP_API_KEY", GUARD, 10.0)
    return {"email": LiveAdapterHost(email, store_url, 24), "shipping": LiveAdapterHost(shipping, store_url, 24)}


def poller(store: Store, ports: dict[str, Callable[[], Polled | Unavailable]]) -> IngressPoller:
    return IngressPoller(store, ports, run_id=LIVE_RUN_ID, escalation_id=derived_event_id)


def _paid_order(store: Store) -> None:
    """Order #1002 as the Shopify webhook recorded it, and the fulfilment ops placed for it."""
    PlatformIds(store).put(SHOP_PRODUCT, PRODUCT, "632910392")

    def record(tx: Transaction) -> None:
        append_event(tx, Event(type="ORDER_PAID", source="shopify_webhook", correlation_id=f"shopify:order:{ORDER}",
                               payload={"order_id": ORDER, "order_name": "#1002", "amount_cents": 5999,
                                        "line_items": [{"product_id": 632910392, "quantity": 1}]}))
        append_event(tx, Event(type="SUPPLIER_ORDER_PLACED", source="ops", correlation_id=f"order-paid:{ORDER}",
                               payload={"kind": 1, "product": PRODUCT, "supplier": 2, "order_id": ORDER,
                                        "unit_cost_cents": 2150, "promised_days": 9}))

    store.run(record)


def _ship(server: AfterShipServer, order: int, tag: str) -> str:
    tracking_id = f"trk{len(server.trackings) + 1:06d}"
    server.trackings[tracking_id] = {"id": tracking_id, "tracking_number": f"94001{order}", "slug": "usps",
                                     "order_id": str(order), "title": None, "tag": tag, "subtag": f"{tag}_001"}
    return tracking_id


def _ids(store: Store, event_type: str) -> list[str]:
    return [str(row[0]) for row in store.run(lambda tx: tx.execute(
        "SELECT e.event_id FROM event_log e JOIN outbox o ON o.event_id = e.event_id WHERE e.type = %s "
        "ORDER BY e.event_id", [event_type]).fetchall())]


def _setting(store: Store, key: str) -> str | None:
    value = store.run(lambda tx: tx.scalar("SELECT value FROM live_settings WHERE key = %s", [key]))
    return None if value is None else str(value)


def _thrown_away(fetch: Callable[[], Polled | Unavailable]) -> Callable[[], Polled | Unavailable]:
    """A fetch that reads the platform, then dies before anything is recorded."""
    def crash() -> Polled | Unavailable:
        fetch()
        raise Crash("killed between poll and record")

    return crash


# Tests ---------------------------------------------------------------------------------------------

def test_a_ticket_and_a_shipment_polled_twice_are_one_event_each_with_the_platforms_id(
        store: Store, hosts: dict[str, LiveAdapterHost], zendesk: ZendeskServer, aftership: AfterShipServer) -> None:
    _paid_order(store)
    ticket = zendesk.receive("Where is order #1002?", "I paid last week and heard nothing since.")
    tracking = _ship(aftership, ORDER, "InTransit")
    ingress = poller(store, {name: host.poll for name, host in hosts.items()})
    assert ingress.poll_all() == {"email": 1, "shipping": 1}
    assert ingress.poll_all() == {"email": 0, "shipping": 0}
    assert _ids(store, "TICKET_CREATED") == [ticket_event_id(ticket)] == [f"zendesk-ticket:{ticket}"]
    assert _ids(store, "SUPPLIER_SHIPPED") == [shipped_event_id(tracking)] == [f"aftership:{tracking}:shipped"]
    created = store.run(lambda tx: tx.scalar("SELECT payload FROM event_log WHERE event_id = %s",
                                             [ticket_event_id(ticket)]))
    payload = store.run(lambda tx: tx.dialect.load_json(created))
    assert payload == {"ticket_id": ticket, "order_id": ORDER, "product": PRODUCT,
                       "reason": TICKET_REASON_CODES.index("question"), "days_late": 0, "amount_cents": 5999}
    shipped = store.run(lambda tx: tx.dialect.load_json(tx.scalar(
        "SELECT payload FROM event_log WHERE event_id = %s", [shipped_event_id(tracking)])))
    assert shipped == {"order_id": ORDER, "product": PRODUCT, "supplier": 2, "delivery_day": -1}
    assert ingress.status()["recorded"] == {"email": 1, "shipping": 1}


def test_a_crash_between_poll_and_record_loses_nothing_and_repeats_nothing(
        store: Store, hosts: dict[str, LiveAdapterHost], zendesk: ZendeskServer, aftership: AfterShipServer) -> None:
    _paid_order(store)
    tickets = [zendesk.receive("Order #1002 arrived broken", "It does not switch on."),
               zendesk.receive("Question", "Do you ship to Canada?")]
    tracking = _ship(aftership, ORDER, "InTransit")

    # Killed after the platforms answered: nothing recorded, and no state advanced past them.
    crashed = poller(store, {name: _thrown_away(host.poll) for name, host in hosts.items()})
    assert crashed.poll_all() == {"email": -1, "shipping": -1}
    assert _ids(store, "TICKET_CREATED") == _ids(store, "SUPPLIER_SHIPPED") == []
    assert _setting(store, CURSOR_KEY) is None and PlatformIds(store).of_kind(SHIPMENT) == []

    # Killed inside the recording transaction, after its inserts: it rolls back as a whole.
    answers = {name: host.poll() for name, host in hosts.items()}

    def record_then_die(tx: Transaction) -> None:
        for polled in answers.values():
            assert isinstance(polled, Polled)
            record_polled(tx, polled, LIVE_RUN_ID)
        raise Crash("killed before commit")

    with pytest.raises(Crash):
        store.run(record_then_die)
    assert _ids(store, "TICKET_CREATED") == [] and _setting(store, CURSOR_KEY) is None

    # The next poll reads everything again from the recorded state, and records it once.
    ingress = poller(store, {name: host.poll for name, host in hosts.items()})
    assert ingress.poll_all() == {"email": 2, "shipping": 1}
    assert _ids(store, "TICKET_CREATED") == sorted(ticket_event_id(t) for t in tickets)
    assert _ids(store, "SUPPLIER_SHIPPED") == [shipped_event_id(tracking)]
    assert _setting(store, CURSOR_KEY) is not None
    assert [m.attributes["shipped"] for m in PlatformIds(store).of_kind(SHIPMENT)] == [True]

    # The answers read before the crash, recorded late (a poll that outlived its caller): no-ops.
    for polled in answers.values():
        assert isinstance(polled, Polled)
        assert store.run(partial(record_polled, polled=polled, run_id=LIVE_RUN_ID)) == 0
    assert ingress.poll_all() == {"email": 0, "shipping": 0}
    pending = store.run(lambda tx: tx.execute(
        "SELECT e.type, COUNT(*) FROM outbox o JOIN event_log e ON e.event_id = o.event_id "
        "WHERE o.published_at IS NULL GROUP BY e.type ORDER BY e.type").fetchall())
    # Two tickets and one shipment wait for the relay once each; the crashed poll escalated per port.
    assert [(str(t), int(n)) for t, n in pending] == [
        ("ESCALATION_TRIGGERED", 2), ("SUPPLIER_SHIPPED", 1), ("TICKET_CREATED", 2)]


def test_an_unavailable_helpdesk_is_escalated_once_per_outage_and_its_tickets_come_after(
        store: Store, hosts: dict[str, LiveAdapterHost], zendesk: ZendeskServer, aftership: AfterShipServer) -> None:
    ingress = poller(store, {name: host.poll for name, host in hosts.items()})
    ticket = zendesk.receive("Question", "Gift wrap?")
    tracking = _ship(aftership, ORDER, "InTransit")
    zendesk.faults.fail_next(2, 503)
    assert ingress.poll_all() == {"email": -1, "shipping": 1}  # the other port is still read
    assert ingress.poll_all() == {"email": -1, "shipping": 0}
    assert ingress.status()["unavailable"] == {"email": 2}
    assert "zendesk unavailable" in ingress.status()["last_errors"]["email"]
    escalations = store.run(lambda tx: tx.execute(
        "SELECT correlation_id, payload FROM event_log WHERE type = 'ESCALATION_TRIGGERED'").fetchall())
    assert len(escalations) == 1 and escalations[0][0] == "ingress:email"
    assert _ids(store, "TICKET_CREATED") == [] and _ids(store, "SUPPLIER_SHIPPED") == [shipped_event_id(tracking)]

    assert ingress.poll_all() == {"email": 1, "shipping": 0}  # recovered: the ticket is there
    assert _ids(store, "TICKET_CREATED") == [ticket_event_id(ticket)]
    assert ingress.status()["outages"] == {}
    zendesk.faults.fail_next(1, 503)
    assert ingress.poll_all()["email"] == -1  # a new outage is escalated again
    count = store.run(lambda tx: tx.scalar("SELECT COUNT(*) FROM event_log WHERE type = 'ESCALATION_TRIGGERED'"))
    assert int(count) == 2


def test_a_port_that_fails_otherwise_is_counted_and_escalated_without_stopping_the_poll(
        store: Store, hosts: dict[str, LiveAdapterHost], aftership: AfterShipServer) -> None:
    def broken() -> Polled | Unavailable:
        raise ValueError("the export page had no `tickets`")

    tracking = _ship(aftership, ORDER, "OutForDelivery")
    ingress = poller(store, {"email": broken, "shipping": hosts["shipping"].poll})
    assert ingress.poll_all() == {"email": -1, "shipping": 1}
    assert ingress.status()["failed"] == {"email": 1}
    assert "ValueError: the export page had no `tickets`" in ingress.status()["last_errors"]["email"]
    assert _ids(store, "SUPPLIER_SHIPPED") == [shipped_event_id(tracking)]
    count = store.run(lambda tx: tx.scalar("SELECT COUNT(*) FROM event_log WHERE type = 'ESCALATION_TRIGGERED'"))
    assert int(count) == 1
