"""Ops: every paid order is fulfilled once or compensated at once; escalation by complaint rate."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from market.recording import Recorded

from ds1ray.agents.ops import COMPENSATION_TICKETS, Ops, compensation_ticket_id
from ds1ray.cohort import Cohort
from ds1ray.config import Config
from ds1ray.events.batch import EventBatch
from ds1ray.events.contracts import (
    REFUND_REASON_CODES,
    RESOLUTION_CODES,
    SOURCING_KIND_CODES,
    TICKET_REASON_CODES,
)
from ds1ray.runspec import RunSpec

from .conftest import published

FULFILMENT = SOURCING_KIND_CODES.index("fulfilment")
SUPPLIER_FAILURE = REFUND_REASON_CODES.index("supplier_failure")
DEFECT = TICKET_REASON_CODES.index("defect")
SUPPLIER_FAILURE_TICKET = TICKET_REASON_CODES.index("supplier_failure")
REPLIED, REFUNDED_ACTION = RESOLUTION_CODES.index("replied"), RESOLUTION_CODES.index("refunded")


def test_every_paid_order_is_fulfilled_exactly_once_or_refunded_as_a_supplier_failure(config: Config) -> None:
    # Flaky suppliers, so that both paths happen.
    flaky = {"market.suppliers.tiers.cheap.failure_rate": 0.2, "market.suppliers.tiers.cheap.stockout_rate": 0.1}
    recorded = Recorded(config, [RunSpec("ops", s, "flaky", flaky) for s in range(6)], 60,
                        ["ORDER_PAID", "SUPPLIER_ORDER_PLACED", "ORDER_REFUNDED"])
    paid, placed = recorded.rows("ORDER_PAID"), recorded.rows("SUPPLIER_ORDER_PLACED")
    refunded = recorded.rows("ORDER_REFUNDED")
    fulfilment = {k: v[placed["kind"] == FULFILMENT] for k, v in placed.items()}
    fulfilled = _keys(fulfilment)
    assert len(fulfilment["run"]) == len(fulfilled)  # never twice
    assert fulfilled <= _keys(paid)
    unfilled = _keys(paid) - fulfilled
    assert len(unfilled) > 0 and len(fulfilled) > 5 * len(unfilled)
    # Every order the supplier could not fill was refunded by the shop the same day ...
    shop_refunds = {(key >> 40, key & ((1 << 40) - 1)) for key in recorded.cohort.world.refunded}
    assert unfilled <= shop_refunds
    # ... and the shop's confirmation (ORDER_REFUNDED, supplier_failure) arrives with the next day's poll.
    failures = {k: v[refunded["reason"] == SUPPLIER_FAILURE] for k, v in refunded.items()}
    paid_on = dict(zip(zip(paid["run"].tolist(), paid["order_id"].tolist(), strict=True), paid["day"].tolist(),
                       strict=True))
    assert _keys(failures) == {k for k in unfilled if paid_on[k] < 59}
    for run, order, day in zip(failures["run"], failures["order_id"], failures["day"], strict=True):
        assert day == paid_on[(int(run), int(order))] + 1


def _keys(rows: dict[str, np.ndarray]) -> set[tuple[int, int]]:
    return set(zip(rows["run"].tolist(), rows["order_id"].tolist(), strict=True))


def test_a_product_with_too_many_complaints_is_escalated_once(cohort_on_day_zero: Callable[..., Cohort]) -> None:
    cohort = cohort_on_day_zero([RunSpec("ops", 0, "strict", {"ops.escalation_ticket_rate": 0.25,
                                                              "ops.escalation_min_orders": 4})])
    ops = cohort.agents["ops"]
    assert isinstance(ops, Ops)
    ops.supplier_of[0, 2] = 0
    ops.orders[0, 2] = 8  # as if eight orders had been placed for product 2

    def complaints(n: int) -> list[EventBatch]:
        return ops.handle(EventBatch.of("TICKET_CREATED", np.zeros(n, np.int64), ticket_id=np.arange(n),
                                        order_id=np.arange(n), product=2, reason=DEFECT, days_late=0,
                                        amount_cents=1000))

    assert published(complaints(1), "ESCALATION_TRIGGERED") is None  # 1 of 8: below a quarter
    escalated = published(complaints(1), "ESCALATION_TRIGGERED")  # 2 of 8: a quarter
    assert escalated is not None and escalated["product"].tolist() == [2] and escalated["source"][0] == "ops"
    assert published(complaints(3), "ESCALATION_TRIGGERED") is None  # once is enough


def test_a_failed_fulfilment_gets_exactly_one_refund_and_one_apology_ticket(config: Config) -> None:
    flaky = {"market.suppliers.tiers.cheap.failure_rate": 0.3, "support.refund_policy": "always"}
    recorded = Recorded(config, [RunSpec("ops", s, "flaky", flaky) for s in range(4)], 45,
                        ["ORDER_PAID", "SUPPLIER_ORDER_PLACED", "TICKET_CREATED", "TICKET_RESOLUTION"])
    paid, placed = recorded.rows("ORDER_PAID"), recorded.rows("SUPPLIER_ORDER_PLACED")
    tickets, resolutions = recorded.rows("TICKET_CREATED"), recorded.rows("TICKET_RESOLUTION")
    unfilled = _keys(paid) - _keys({k: v[placed["kind"] == FULFILMENT] for k, v in placed.items()})
    assert len(unfilled) > 3
    opened = {k: v[tickets["reason"] == SUPPLIER_FAILURE_TICKET] for k, v in tickets.items()}
    # One ticket per unfilled order, numbered apart from the customers' tickets.
    assert sorted(zip(opened["run"].tolist(), opened["order_id"].tolist(), strict=True)) == sorted(unfilled)
    assert (opened["ticket_id"] == compensation_ticket_id(opened["order_id"])).all()
    customers = tickets["reason"] != SUPPLIER_FAILURE_TICKET
    assert (tickets["ticket_id"][customers] < COMPENSATION_TICKETS).all()
    # Support answered each with a reply and no refund, even under the `always` policy ...
    answers = np.isin(resolutions["ticket_id"], opened["ticket_id"])
    assert answers.sum() == len(unfilled)
    assert (resolutions["action"][answers] == REPLIED).all() and (resolutions["refund_cents"][answers] == 0).all()
    # ... so the money moved once: the ledger's refunds are the unfilled orders plus support's refunds.
    amount = dict(zip(zip(paid["run"].tolist(), paid["order_id"].tolist(), strict=True),
                      paid["amount_cents"].tolist(), strict=True))
    by_support = resolutions["refund_cents"][resolutions["action"] == REFUNDED_ACTION]
    refunds = recorded.cohort.world.ledger.totals["refunds"].sum()
    assert refunds == sum(amount[k] for k in unfilled) + by_support.sum()
