"""AfterShip against the tracking contract server: idempotent registration, tags."""

from __future__ import annotations

import pytest
from contract_servers.aftership import AfterShipServer

from ds1ray.adapters.live.aftership import AfterShip, TrackingTag
from ds1ray.live.clock import ManualClock
from ds1ray.live.resilience import PlatformRejected

from .conftest import MakeGuard


def tracker(server: AfterShipServer, make_guard: MakeGuard, key: str = "as-key") -> AfterShip:
    return AfterShip(key, base_url=f"{server.url}/tracking/2024-04",
                     resilience=make_guard("aftership"))


def test_create_tracking_starts_pending_and_reads_status_tags(
    aftership_server: AfterShipServer, make_guard: MakeGuard
) -> None:
    client = tracker(aftership_server, make_guard)
    tracking = client.create_tracking("9400111899223344556677", slug="usps", order_id="1001")
    assert tracking.tag is TrackingTag.PENDING
    aftership_server.set_tag(tracking.id, "Exception", "Exception_004")
    now = client.get_tracking(tracking.id)
    assert (now.tag, now.subtag, now.is_final) == (TrackingTag.EXCEPTION, "Exception_004", False)
    aftership_server.set_tag(tracking.id, "Delivered")
    assert client.get_tracking(tracking.id).is_final
    assert aftership_server.requests[0].headers["as-api-key"] == "as-key"


def test_registering_a_number_twice_returns_the_existing_tracking(
    aftership_server: AfterShipServer, make_guard: MakeGuard
) -> None:
    client = tracker(aftership_server, make_guard)
    first = client.create_tracking("1Z999AA10123456784", slug="ups")
    again = client.create_tracking("1Z999AA10123456784", slug="ups")
    assert again == first
    assert len(aftership_server.trackings) == 1


def test_rate_limit_answer_is_retried(
    aftership_server: AfterShipServer, make_guard: MakeGuard, clock: ManualClock
) -> None:
    aftership_server.faults.fail_next(1, 429, headers={"Retry-After": "1"},
                                      body={"meta": {"code": 429, "type": "TooManyRequests"}})
    tracker(aftership_server, make_guard).create_tracking("LX123456789CN", slug="china-post")
    assert clock.sleeps == [1.0]


def test_an_invalid_key_is_rejected(
    aftership_server: AfterShipServer, make_guard: MakeGuard
) -> None:
    with pytest.raises(PlatformRejected) as raised:
        tracker(aftership_server, make_guard, key="bad").create_tracking("X1", slug="usps")
    assert raised.value.status_code == 401
