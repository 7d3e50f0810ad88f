"""Event handlers: registered by name, run at least once, applied once.

`deliver(store, event)` runs each registered handler through
`Store.consume_once`, so a redelivered event (same event id) has one effect.
A handler that keeps failing after `max_attempts` tries is dead-lettered with
its last error, never dropped. Modules that define live handlers register them
on the process-wide `registry` at import; `ds1ray dlq redrive --handlers
MODULE` imports such modules before redriving.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING

from ds1ray.errors import UserError
from ds1ray.store.dead_letters import record_dead_letter
from ds1ray.store.events import Event
from ds1ray.store.transaction import Transaction

if TYPE_CHECKING:
    from ds1ray.store.store import Store

Handler = Callable[[Transaction, Event], None]


class HandlerRegistry:
    """Handlers by name; the name is what processed_events and dead_letters record."""

    def __init__(self) -> None:
        self._handlers: dict[str, Handler] = {}

    def register(self, name: str, handler: Handler) -> Handler:
        if not name:
            raise ValueError("a handler needs a name")
        existing = self._handlers.get(name)
        if existing is not None and existing is not handler:
            raise ValueError(f"a different handler is already registered as {name!r}")
        self._handlers[name] = handler
        return handler

    def handler(self, name: str) -> Callable[[Handler], Handler]:
        """Decorator form of `register`."""
        return lambda function: self.register(name, function)

    def unregister(self, name: str) -> None:
        self._handlers.pop(name, None)

    def get(self, name: str) -> Handler:
        try:
            return self._handlers[name]
        except KeyError:
            known = ", ".join(sorted(self._handlers)) or "none"
            raise UserError(
                f"no handler named {name!r} is registered (registered: {known}); "
                f"load the module that defines it with --handlers MODULE"
            ) from None

    def names(self) -> list[str]:
        return sorted(self._handlers)


registry = HandlerRegistry()


@dataclass
class DeliveryReport:
    applied: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)  # already applied earlier
    dead_lettered: dict[str, str] = field(default_factory=dict)  # handler -> last error


def _bind(handler: Handler, event: Event) -> Callable[[Transaction], None]:
    def apply(tx: Transaction) -> None:
        handler(tx, event)

    return apply


def deliver(
    store: Store,
    event: Event,
    handler_names: Iterable[str] | None = None,
    *,
    handlers: HandlerRegistry = registry,
    max_attempts: int = 3,
    backoff_seconds: float = 0.05,
) -> DeliveryReport:
    """Give `event` to each handler (all registered ones by default), once each."""
    report = DeliveryReport()
    for name in handler_names if handler_names is not None else handlers.names():
        handler = handlers.get(name)
        first_failed_at = None
        for attempt in range(1, max_attempts + 1):
            try:
                applied = store.consume_once(name, event.event_id, _bind(handler, event))
            except Exception as error:  # dead-lettered below, never dropped
                first_failed_at = first_failed_at or store.clock()
                if attempt < max_attempts:
                    time.sleep(random.uniform(0, backoff_seconds * 2**attempt))
                    continue
                message = f"{type(error).__name__}: {error}"
                store.run(partial(record_dead_letter, handler=name, event=event, error=message,
                                  attempts=max_attempts, first_failed_at=first_failed_at))
                report.dead_lettered[name] = message
                break
            (report.applied if applied else report.duplicates).append(name)
            break
    return report
