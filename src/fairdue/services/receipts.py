"""Delivery receipts: a provider's later word on a message, turned into facts.

A delivered receipt makes the message delivered and counts as a working channel; a failed
or bounced one makes it failed, counts as a failed attempt on that channel (the facts
behind S6), and when the provider says the address itself is bad, marks the contact point
invalid so nothing more is sent to it. A receipt that repeats what is already known
changes nothing; one for a message fairdue never sent is reported, not guessed at.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, select, update

from fairdue.adapters.db.bulk import insert_dicts
from fairdue.adapters.db.strategy_repo import upsert
from fairdue.adapters.db.tables import contact_attempts, contact_points, contacts
from fairdue.bootstrap import App
from fairdue.domain.contact_outcomes import interpret
from fairdue.domain.messages import Receipt
from fairdue.errors import NotFound
from fairdue.services.contacts import fold_outcome
from fairdue.services.sign_in_message import is_sign_in

#: Receipt statuses and the message status and attempt outcome they lead to.
_EFFECT = {"delivered": ("delivered", "delivered"), "failed": ("failed", "failed"),
           "bounced": ("failed", "failed")}


@dataclass(frozen=True)
class Applied:
    contact_id: str
    status: str
    changed: bool


#: Made once: a gateway posts receipts one message at a time.
_MESSAGE_BY_PROVIDER_ID = (
    select(contacts.c.contact_id, contacts.c.status, contacts.c.borrower_id,
           contacts.c.case_id, contacts.c.channel, contacts.c.template)
    .where(contacts.c.provider_id == bindparam("provider_id"),
           contacts.c.channel == bindparam("channel"))
)
_SET_STATUS = update(contacts).where(contacts.c.contact_id == bindparam("id")).values(
    status=bindparam("new_status"), delivered_at=bindparam("new_delivered_at"),
    last_error=bindparam("new_error"), updated_at=bindparam("now"))


def apply_receipt(app: App, receipt: Receipt, *, channel: str, actor: str = "receipts") -> Applied:
    """Apply one receipt to the message the provider knows as `receipt.provider_id`."""
    now = app.clock.now()
    with app.uow(actor) as uow:
        conn = uow.connection
        row = conn.execute(_MESSAGE_BY_PROVIDER_ID,
                           {"provider_id": receipt.provider_id, "channel": channel}).first()
        if row is None:
            raise NotFound(f"no {channel} message with provider id {receipt.provider_id!r}")
        contact_id, status, borrower_id, case_id, medium, template = row
        effect = _EFFECT.get(receipt.status)
        if effect is None or status == effect[0]:
            return Applied(contact_id, status, changed=False)
        new_status, outcome = effect
        conn.execute(_SET_STATUS, {
            "id": contact_id, "new_status": new_status,
            "new_delivered_at": now if new_status == "delivered" else None,
            "new_error": (receipt.detail or None) if new_status == "failed" else None,
            "now": now})
        if not is_sign_in(template):  # a sign-in code is no attempt to reach them on the debt
            insert_dicts(conn, contact_attempts, [{
                "attempt_id": f"A-{contact_id}-receipt-{new_status}", "borrower_id": borrower_id,
                "case_id": case_id, "contact_id": contact_id, "channel": medium,
                "party": "debtor", "outcome": outcome, "disposition": None, "at": now,
                "recorded_by": actor, "note": receipt.detail or None, "violated": None,
                "recorded_at": now,
            }])
            fold_outcome(conn, borrower_id, medium, now, interpret(outcome))
        # Contactability: a delivery proves the point works; a permanent failure that it does not.
        if new_status == "delivered" or receipt.permanent:
            upsert(conn, contact_points, [{
                "borrower_id": borrower_id, "channel": medium,
                "status": "valid" if new_status == "delivered" else "invalid",
                "detail": receipt.detail or None, "updated_at": now,
            }], ["borrower_id", "channel"], ["status", "detail", "updated_at"])
        uow.audit("ReceiptApplied", contact_id, {
            "channel": medium, "status": receipt.status, "permanent": receipt.permanent,
        })
        uow.commit()
    return Applied(contact_id, new_status, changed=True)
