"""Support: refund policies refund exactly their documented ticket kinds, through the real shop."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from ds1ray.cohort import Cohort
from ds1ray.events.batch import EventBatch
from ds1ray.events.contracts import REFUND_REASON_CODES, RESOLUTION_CODES, TICKET_REASON_CODES
from ds1ray.runspec import RunSpec

from .conftest import published

QUESTION, LATE, DEFECT, RETURN, SUPPLIER_FAILURE = (
    TICKET_REASON_CODES.index(r) for r in ("question", "late", "defect", "return", "supplier_failure"))
REFUNDED, REPLIED = RESOLUTION_CODES.index("refunded"), RESOLUTION_CODES.index("replied")

# One ticket of each kind, and late ones below and above the threshold policy's 7 days.
REASONS = np.array([QUESTION, LATE, LATE, DEFECT, RETURN])
DAYS_LATE = np.array([0, 3, 12, 0, 0])
EXPECTED = {
    "always": [False, True, True, True, True],
    "late_or_defect": [False, True, True, True, False],
    "threshold": [False, False, True, True, False],
    "never": [False, False, False, False, False],
}


def _tickets(run: int, first_order: int = 0) -> EventBatch:
    n = REASONS.size
    return EventBatch.of("TICKET_CREATED", np.full(n, run), ticket_id=np.arange(n), order_id=first_order + np.arange(n),
                         product=0, reason=REASONS, days_late=DAYS_LATE, amount_cents=1000 + np.arange(n))


@pytest.mark.parametrize("policy", sorted(EXPECTED))
def test_each_refund_policy_refunds_exactly_its_ticket_kinds(
        policy: str, cohort_on_day_zero: Callable[..., Cohort]) -> None:
    cohort = cohort_on_day_zero([RunSpec("support", 0, policy, {"support.refund_policy": policy,
                                                                "support.refund_after_days_late": 7})])
    out = cohort.agents["support"].handle(_tickets(0))
    resolution = published(out, "TICKET_RESOLUTION")
    assert resolution is not None
    refunded = resolution["action"] == REFUNDED
    np.testing.assert_array_equal(refunded, EXPECTED[policy])
    np.testing.assert_array_equal(resolution["refund_cents"], np.where(refunded, 1000 + np.arange(5), 0))
    assert set(resolution["action"][~refunded]) <= {REPLIED}
    # The money really went back, through the shop, once per refunded ticket.
    assert cohort.world.ledger.totals["refunds"][0] == (1000 + np.arange(5))[refunded].sum()
    confirmations = cohort.world.refund_confirmations()
    if refunded.any():
        assert confirmations is not None
        np.testing.assert_array_equal(confirmations["order_id"], np.arange(5)[refunded])
        reasons = [REFUND_REASON_CODES[r] for r in confirmations["reason"]]
        assert reasons == [TICKET_REASON_CODES[r] for r in REASONS[refunded]]
    else:
        assert confirmations is None


def test_a_refund_the_shop_refuses_is_escalated_not_reported_as_refunded(
        cohort_on_day_zero: Callable[..., Cohort]) -> None:
    cohort = cohort_on_day_zero([RunSpec("support", 0, "always", {"support.refund_policy": "always"})])
    support = cohort.agents["support"]
    support.handle(_tickets(0))
    again = support.handle(_tickets(0))  # the same orders complain again: already refunded
    resolution = published(again, "TICKET_RESOLUTION")
    escalations = published(again, "ESCALATION_TRIGGERED")
    assert resolution is not None and escalations is not None
    assert not (resolution["action"] == REFUNDED).any()
    assert len(escalations) == int(np.sum(EXPECTED["always"]))
    assert set(escalations["source"]) == {"support"}
    assert cohort.world.ledger.totals["refunds"][0] == (1000 + np.arange(5))[EXPECTED["always"]].sum()


def test_policies_apply_per_run_inside_one_batch(cohort_on_day_zero: Callable[..., Cohort]) -> None:
    policies = sorted(EXPECTED)
    cohort = cohort_on_day_zero([RunSpec("support", 0, p, {"support.refund_policy": p}) for p in policies])
    batch = EventBatch.concat([_tickets(run, first_order=100 * run) for run in range(len(policies))])
    resolution = published(cohort.agents["support"].handle(batch), "TICKET_RESOLUTION")
    assert resolution is not None
    for run, policy in enumerate(policies):
        np.testing.assert_array_equal(resolution["action"][resolution.run == run] == REFUNDED, EXPECTED[policy])
    # Which reasons each run refunds follows from its strategy: not state a snapshot keeps.
    assert not {"_refunds_reason", "_refund_after_days_late"} & set(cohort.agents["support"].snapshot())


def test_every_ticket_gets_a_reply_ai_written_when_the_budget_allows(
        cohort_on_day_zero: Callable[..., Cohort]) -> None:
    cohort = cohort_on_day_zero([RunSpec("support", 0, "ai"),
                                 RunSpec("support", 0, "plain", {"support.use_ai_replies": False})])
    world = cohort.world
    cohort.agents["support"].handle(EventBatch.concat([_tickets(0), _tickets(1, first_order=100)]))
    np.testing.assert_array_equal(cohort.ports["email"].sent, [5, 5])
    assert world.ai_calls[0] == 5 and world.ai_calls[1] == 0


@pytest.mark.parametrize("policy", sorted(EXPECTED))
def test_a_supplier_failure_ticket_gets_an_apology_and_never_a_second_refund(
        policy: str, cohort_on_day_zero: Callable[..., Cohort]) -> None:
    cohort = cohort_on_day_zero([RunSpec("support", 0, policy, {"support.refund_policy": policy})])
    sent: list[tuple[list[int], str]] = []
    email = cohort.ports["email"]
    original = email.send

    def send(run: np.ndarray, ticket_id: np.ndarray, template: str) -> None:
        if ticket_id.size:
            sent.append((ticket_id.tolist(), template))
        original(run, ticket_id, template)

    email.send = send  # type: ignore[method-assign]  # watch which template each ticket gets
    ticket = EventBatch.of("TICKET_CREATED", np.zeros(1, np.int64), ticket_id=(1 << 62) | 7, order_id=7, product=0,
                           reason=SUPPLIER_FAILURE, days_late=0, amount_cents=2500)
    out = cohort.agents["support"].handle(ticket)
    resolution = published(out, "TICKET_RESOLUTION")
    assert resolution is not None
    assert resolution["action"].tolist() == [REPLIED] and resolution["refund_cents"].tolist() == [0]
    assert sent == [([(1 << 62) | 7], "supplier_failure_apology")]
    assert cohort.world.ledger.totals["refunds"][0] == 0 and cohort.world.ai_calls[0] == 0
    assert published(out, "ESCALATION_TRIGGERED") is None
