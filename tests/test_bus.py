"""The cohort bus: manifest delivery order, counter tie-breaks, loud failures, no empty deliveries."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pytest

from ds1ray.bus import CohortBus, DeliveryError
from ds1ray.events.batch import EventBatch

ORDER = ["DAILY_TICK", "STRATEGY_UPDATED", "PAGE_PUBLISHED", "ORDER_PAID", "OPTIMIZATION_TICK"]


def _tick(event_type: str, day: int, runs: Sequence[int] = (0,)) -> EventBatch:
    return EventBatch.of(event_type, list(runs), day=day)


def _page(product: int) -> EventBatch:
    return EventBatch.of("PAGE_PUBLISHED", [0], product=product, price_cents=999)


class Recorder:
    """Handlers that log (subscriber, event type, first value) and publish what they are told to."""

    def __init__(self) -> None:
        self.log: list[tuple[str, str, int]] = []
        self.reactions: dict[tuple[str, str], list[EventBatch]] = {}

    def handler(self, name: str) -> Callable[[EventBatch], list[EventBatch]]:
        def handle(batch: EventBatch) -> list[EventBatch]:
            first = next(iter(batch.columns.values()))[0]
            self.log.append((name, batch.type, int(first)))
            return list(self.reactions.pop((name, batch.type), []))

        return handle


def test_batches_are_delivered_in_delivery_order_whatever_the_publication_order() -> None:
    rec = Recorder()
    bus = CohortBus(ORDER, {t: ["a"] for t in ORDER}, {"a": rec.handler("a")})
    bus.publish(_tick("OPTIMIZATION_TICK", 1))
    bus.publish(_page(5))
    bus.publish(_tick("DAILY_TICK", 1))
    assert bus.drain() == 3
    assert [t for _, t, _ in rec.log] == ["DAILY_TICK", "PAGE_PUBLISHED", "OPTIMIZATION_TICK"]


def test_batches_of_the_same_type_are_delivered_in_publication_order() -> None:
    rec = Recorder()
    bus = CohortBus(ORDER, {"PAGE_PUBLISHED": ["a"]}, {"a": rec.handler("a")})
    for product in (7, 3, 9, 1):
        bus.publish(_page(product))
    bus.drain()
    assert [v for _, _, v in rec.log] == [7, 3, 9, 1]


def test_subscribers_are_called_in_manifest_order() -> None:
    rec = Recorder()
    handlers = {name: rec.handler(name) for name in ("ceo", "research", "store")}
    bus = CohortBus(ORDER, {"DAILY_TICK": ["store", "ceo", "research"]}, handlers)
    bus.publish(_tick("DAILY_TICK", 0))
    bus.drain()
    assert [name for name, _, _ in rec.log] == ["store", "ceo", "research"]


def test_an_event_published_by_a_handler_goes_before_pending_events_of_a_later_rank() -> None:
    rec = Recorder()
    bus = CohortBus(ORDER, {t: ["a"] for t in ORDER}, {"a": rec.handler("a")})
    rec.reactions[("a", "DAILY_TICK")] = [_page(4)]
    bus.publish(_tick("OPTIMIZATION_TICK", 0))
    bus.publish(_tick("DAILY_TICK", 0))
    bus.drain()
    assert [t for _, t, _ in rec.log] == ["DAILY_TICK", "PAGE_PUBLISHED", "OPTIMIZATION_TICK"]


def test_a_failing_handler_raises_delivery_error_naming_subscriber_and_event() -> None:
    def broken(batch: EventBatch) -> list[EventBatch]:
        raise ZeroDivisionError("no budget")

    bus = CohortBus(ORDER, {"PAGE_PUBLISHED": ["marketing"]}, {"marketing": broken})
    bus.publish(_page(1))
    expected = r"marketing failed on PAGE_PUBLISHED: ZeroDivisionError\('no budget'\)"
    with pytest.raises(DeliveryError, match=expected) as info:
        bus.drain()
    assert isinstance(info.value.__cause__, ZeroDivisionError)


def test_a_publishing_cycle_hits_the_bound_and_fails_loudly() -> None:
    def echo(batch: EventBatch) -> list[EventBatch]:
        return [batch]

    bus = CohortBus(ORDER, {"PAGE_PUBLISHED": ["echo"]}, {"echo": echo}, max_deliveries=50)
    bus.publish(_page(1))
    with pytest.raises(DeliveryError, match="more than 50 deliveries in one drain"):
        bus.drain()


def test_empty_batches_are_not_delivered() -> None:
    rec = Recorder()
    bus = CohortBus(ORDER, {"PAGE_PUBLISHED": ["a"]}, {"a": rec.handler("a")})
    bus.publish(EventBatch.empty("PAGE_PUBLISHED"))
    observed: list[EventBatch] = []
    bus.observers.append(observed.append)
    assert bus.drain() == 0
    assert rec.log == [] and observed == []


def test_observers_see_every_batch_and_delivered_counts_rows_once_per_batch() -> None:
    rec = Recorder()
    bus = CohortBus(ORDER, {"DAILY_TICK": ["a", "b"]}, {"a": rec.handler("a"), "b": rec.handler("b")})
    observed: list[str] = []
    bus.observers.append(lambda batch: observed.append(batch.type))
    bus.publish(_tick("DAILY_TICK", 0, runs=(0, 1, 2)))
    bus.publish(_tick("OPTIMIZATION_TICK", 0, runs=(0, 1)))  # nobody subscribes: observed, counted, no call
    bus.drain()
    assert observed == ["DAILY_TICK", "OPTIMIZATION_TICK"]
    assert bus.delivered == {"DAILY_TICK": 3, "OPTIMIZATION_TICK": 2}


def test_an_event_type_outside_the_delivery_order_is_refused_at_publication() -> None:
    bus = CohortBus(ORDER, {}, {})
    with pytest.raises(ValueError, match="TICKET_CREATED is not in the bus's delivery_order"):
        bus.publish(EventBatch.of("TICKET_CREATED", [0], ticket_id=1, order_id=1, product=0, reason=0,
                                  days_late=0, amount_cents=1))


def test_a_subscriber_without_a_handler_is_refused_at_construction() -> None:
    with pytest.raises(ValueError, match=r"subscribers without a handler: \['ghost'\]"):
        CohortBus(ORDER, {"DAILY_TICK": ["a", "ghost"]}, {"a": Recorder().handler("a")})
