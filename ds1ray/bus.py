"""The cohort event bus: deterministic delivery of event batches to subscribers.

Pending batches sit in one heap ordered by (rank of the event type in the
manifest's `delivery_order`, publication counter), SimPy-style: ties are broken
by the counter, never by dict order or the clock. Each batch goes to its
subscribers in the manifest's order; what they publish joins the heap. A tick
ends when the heap is empty. A handler's failure is never swallowed: it
propagates with the event type and the subscriber named.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Callable, Mapping, Sequence

from ds1ray.events.batch import EventBatch

Handler = Callable[[EventBatch], Sequence[EventBatch]]


class DeliveryError(RuntimeError):
    """A subscriber failed on a batch; names the subscriber and the event type."""


class CohortBus:
    """Routes batches to subscribers in manifest order until nothing is pending.

    Args:
        delivery_order: event types in the order they are delivered within a tick.
        subscribers: event type → subscriber ids, in delivery order.
        handlers: subscriber id → the function that takes a batch and returns what it publishes.
        max_deliveries: a bound per `drain`, so a publishing cycle fails loudly instead of spinning.
    """

    def __init__(
        self,
        delivery_order: Sequence[str],
        subscribers: Mapping[str, Sequence[str]],
        handlers: Mapping[str, Handler],
        *,
        max_deliveries: int = 10_000,
    ) -> None:
        self._rank = {event_type: i for i, event_type in enumerate(delivery_order)}
        unknown = [s for subs in subscribers.values() for s in subs if s not in handlers]
        if unknown:
            raise ValueError(f"subscribers without a handler: {sorted(set(unknown))}")
        self._subscribers = {k: tuple(v) for k, v in subscribers.items()}
        self._handlers = dict(handlers)
        self._heap: list[tuple[int, int, EventBatch]] = []
        self._counter = 0
        self._max_deliveries = max_deliveries
        self.delivered: Counter[str] = Counter()
        """Rows delivered per event type (counted once per batch, not per subscriber)."""
        self.observers: list[Callable[[EventBatch], None]] = []
        """Called with every batch before delivery (event log, tracing)."""

    def publish(self, batch: EventBatch) -> None:
        if len(batch) == 0:
            return
        rank = self._rank.get(batch.type)
        if rank is None:
            raise ValueError(f"{batch.type} is not in the bus's delivery_order")
        heapq.heappush(self._heap, (rank, self._counter, batch))
        self._counter += 1

    def drain(self) -> int:
        """Deliver until nothing is pending; returns the number of batches delivered."""
        deliveries = 0
        while self._heap:
            _, _, batch = heapq.heappop(self._heap)
            deliveries += 1
            if deliveries > self._max_deliveries:
                raise DeliveryError(f"more than {self._max_deliveries} deliveries in one drain: a publishing cycle?")
            self.delivered[batch.type] += len(batch)
            for observe in self.observers:
                observe(batch)
            for subscriber in self._subscribers.get(batch.type, ()):
                try:
                    published = self._handlers[subscriber](batch)
                except DeliveryError:
                    raise
                except Exception as error:
                    raise DeliveryError(f"{subscriber} failed on {batch.type}: {error!r}") from error
                for out in published:
                    self.publish(out)
        return deliveries
