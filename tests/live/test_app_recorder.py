"""The group commit behind webhook ingress: every event committed before its caller resumes."""

from __future__ import annotations

import asyncio

from ds1ray.live.app import EventRecorder
from ds1ray.store import open_store
from ds1ray.store.events import Event
from live.test_app_harness import live_postgres, live_store_url

__all__ = ["live_postgres", "live_store_url"]


def test_concurrent_events_share_transactions_and_each_is_visible_when_its_caller_resumes(
        live_store_url: str) -> None:
    events = [Event(event_id=f"evt-{n:03d}", type="ORDER_PAID", source="test", payload={"n": n})
              for n in range(60)]

    with open_store(live_store_url) as store, open_store(live_store_url) as observer:
        recorder = EventRecorder(store)

        async def record_and_look(event: Event) -> tuple[bool, int]:
            inserted = await recorder.record(event)
            # Another connection sees the row at once: the commit preceded the answer.
            visible = observer.run(lambda tx: tx.scalar(
                "SELECT COUNT(*) FROM outbox WHERE event_id = %s", [event.event_id]))
            return inserted, int(visible)

        async def main() -> list[tuple[bool, int]]:
            try:
                return await asyncio.gather(*(record_and_look(event) for event in events))
            finally:
                await recorder.stop()

        results = asyncio.run(main())
        rows = store.run(lambda tx: tx.scalar("SELECT COUNT(*) FROM event_log"))

    assert results == [(True, 1)] * len(events)
    assert rows == len(events)
    assert recorder.batches < len(events)  # grouped: fewer transactions than events


def test_the_same_event_twice_in_one_batch_is_new_once(live_store_url: str) -> None:
    event = Event(event_id="evt-twice", type="ORDER_PAID", source="test")

    with open_store(live_store_url) as store:
        recorder = EventRecorder(store, writers=1)

        async def main() -> list[bool]:
            try:
                return list(await asyncio.gather(*(recorder.record(event) for _ in range(5))))
            finally:
                await recorder.stop()

        inserted = asyncio.run(main())
        outbox = store.run(lambda tx: tx.scalar("SELECT COUNT(*) FROM outbox"))

    assert sorted(inserted) == [False, False, False, False, True]
    assert outbox == 1


def test_a_failed_transaction_fails_every_caller_in_it_and_the_recorder_goes_on(live_store_url: str) -> None:
    good = Event(event_id="evt-good", type="ORDER_PAID", source="test")
    # A payload the JSON column cannot hold makes the whole transaction fail.
    bad = Event(event_id="evt-bad", type="ORDER_PAID", source="test", payload={"x": {1, 2}})

    with open_store(live_store_url) as store:
        recorder = EventRecorder(store, writers=1)

        async def main() -> tuple[list[object], bool]:
            try:
                together = await asyncio.gather(recorder.record(good), recorder.record(bad),
                                                return_exceptions=True)
                later = await recorder.record(good)
                return list(together), later
            finally:
                await recorder.stop()

        together, later = asyncio.run(main())
        rows = store.run(lambda tx: tx.scalar("SELECT COUNT(*) FROM event_log"))

    assert all(isinstance(outcome, Exception) for outcome in together)
    assert later is True
    assert rows == 1
