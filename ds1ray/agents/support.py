"""Support: answers tickets and decides refunds by policy (TICKET_RESOLUTION).

Refund policies (complaints are late deliveries and defects; returns are a
customer changing their mind):
- `always`: refund complaints and returns;
- `late_or_defect`: refund complaints, decline returns;
- `threshold`: refund defects, and late orders only beyond `refund_after_days_late`;
- `never`: reply only.
A refund a customer does not get may come back as a chargeback, dearer than the
refund (the world decides that, not the policy). Every ticket gets a reply:
AI-written when the AI port serves it, a template otherwise. A refund the shop
refuses (the order is already disputed) is escalated.

A `supplier_failure` ticket is one ops opened for an order it already refunded
when the supplier could not fill it: it gets the `supplier_failure_apology`
template under every policy, and no refund (the money moved once, in ops).
"""

from __future__ import annotations

import numpy as np

from ds1ray.agents.base import Agent, AgentContext
from ds1ray.agents.strategies import SupportStrategy
from ds1ray.events.batch import EventBatch
from ds1ray.events.contracts import REFUND_REASON_CODES, RESOLUTION_CODES, TICKET_REASON_CODES

QUESTION, LATE, DEFECT, RETURN, SUPPLIER_FAILURE = (
    TICKET_REASON_CODES.index(r) for r in ("question", "late", "defect", "return", "supplier_failure"))
REPLIED, REFUNDED = RESOLUTION_CODES.index("replied"), RESOLUTION_CODES.index("refunded")
# Ticket reason → refund reason code.
REFUND_REASON = np.array([REFUND_REASON_CODES.index(r) for r in TICKET_REASON_CODES], np.int64)
# Per policy, the ticket reasons it refunds whatever the delay (`threshold` refunds late orders by their delay).
REFUNDED_REASONS = {"always": (LATE, DEFECT, RETURN), "late_or_defect": (LATE, DEFECT), "threshold": (DEFECT,),
                    "never": ()}


class Support(Agent):
    id = "support"
    Strategy = SupportStrategy
    _GIVEN = Agent._GIVEN | {"_refunds_reason", "_refund_after_days_late"}  # follow from the strategy

    def __init__(self, ctx: AgentContext) -> None:
        super().__init__(ctx)
        # Per run, fixed for the cohort's life: which ticket reasons its policy refunds (a column per reason),
        # and after how many days late a late order is refunded (never, but under `threshold`).
        self._refunds_reason = np.zeros((self.runs, len(TICKET_REASON_CODES)), bool)
        for policy, reasons in REFUNDED_REASONS.items():
            follows = self.follows("refund_policy", policy)
            for reason in reasons:
                self._refunds_reason[follows, reason] = True
        self._refund_after_days_late = np.where(self.follows("refund_policy", "threshold"),
                                                self.strategy.refund_after_days_late, np.inf)

    def on_ticket_created(self, batch: EventBatch) -> None:
        run, reason, late = batch.run, batch["reason"], batch["days_late"]
        refund = self._refunds_reason[run, reason] | ((reason == LATE) & (late > self._refund_after_days_late[run]))
        apology = reason == SUPPLIER_FAILURE
        refund &= ~apology  # already refunded by ops: never a second time
        wants_ai = self.strategy.use_ai_replies[run] & ~apology
        ai_written = np.zeros(run.size, bool)
        if wants_ai.any():
            ai_written[wants_ai] = self.ports.ai.complete("support_reply", run[wants_ai])
        ticket = batch["ticket_id"]
        self.ports.email.send(run[ai_written], ticket[ai_written], "ai_reply")
        templated = ~ai_written & ~apology
        self.ports.email.send(run[templated], ticket[templated], "template_reply")
        if apology.any():
            self.ports.email.send(run[apology], ticket[apology], "supplier_failure_apology")

        accepted = np.zeros(run.size, bool)
        if refund.any():
            accepted[refund] = self.ports.shop.refund(run[refund], batch["order_id"][refund], batch["product"][refund],
                                                      batch["amount_cents"][refund], REFUND_REASON[reason[refund]])
        self.emit("TICKET_RESOLUTION", run, ticket_id=batch["ticket_id"], order_id=batch["order_id"],
                  action=np.where(accepted, REFUNDED, REPLIED),
                  refund_cents=np.where(accepted, batch["amount_cents"], 0))
        refused = refund & ~accepted
        self.emit("ESCALATION_TRIGGERED", run[refused], source="support", reason="refund refused by the shop",
                  product=-1)
