"""Waivers (减免) of penalty or fees: requested for the open case, approved within a limit.

An approved waiver is spread over the case's installments owing the component, oldest due
first, stored as credits (one per installment), and each affected loan is replayed with its
relief (domain/relief.py) in the same transaction: the installments, the loan's amount due
and the case's amount due all fall by the amount waived at once, and every later replay
(a payment) applies the credits again. The approval's event carries the approver, their
role and the reason, and so does the audit log.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from fairdue.adapters.db import strategy_repo as repo
from fairdue.adapters.db.ledger_repo import (
    load_loans,
    load_payment_facts,
)
from fairdue.adapters.db.tables import installments, loans
from fairdue.adapters.db.tables_plans import waiver_credits, waivers
from fairdue.bootstrap import App
from fairdue.domain.approvals import role_of
from fairdue.domain.ledger import Component, business_date
from fairdue.domain.money import Money, format_minor, parse_to_minor
from fairdue.domain.relief import replay
from fairdue.domain.waivers import (
    Owed,
    Waiver,
    WaiverLimits,
    WaiverStatus,
    component_of,
    spread,
)
from fairdue.errors import InvalidInput, NotFound
from fairdue.services.arrears import reconcile_cases, stored_arrears
from fairdue.services.daily_run import last_completed_date
from fairdue.services.payments import store_replayed_loan
from fairdue.services.plans import open_case_of
from fairdue.services.plans import settle_after_payment as follow_plan
from fairdue.services.relief import credits_of, freezes_of
from fairdue.services.unit_of_work import UnitOfWork
from fairdue.settings import Settings


def limits_for(settings: Settings, currency: str) -> WaiverLimits:
    """The configured approval limits in `currency`'s minor units."""
    return WaiverLimits(
        parse_to_minor(settings.waiver_limit_agent, currency, what="FAIRDUE_WAIVER_LIMIT_AGENT"),
        parse_to_minor(settings.waiver_limit_supervisor, currency,
                       what="FAIRDUE_WAIVER_LIMIT_SUPERVISOR"),
    )


def owed_of(conn: Connection, borrower_id: str, component: Component) -> list[Owed]:
    """What each of the borrower's installments still owes of `component`, as stored."""
    if component is Component.PENALTY:
        owed, paid = installments.c.penalty_minor, installments.c.penalty_paid_minor
    else:
        owed, paid = installments.c.fee_minor, installments.c.fee_paid_minor
    rows = conn.execute(
        select(installments.c.loan_id, installments.c.seq, installments.c.due_on, owed - paid)
        .join(loans, loans.c.loan_id == installments.c.loan_id)
        .where(loans.c.borrower_id == borrower_id, owed > paid)
    ).all()
    return [Owed(loan_id, seq, due_on, int(unpaid)) for loan_id, seq, due_on, unpaid in rows]


def request_waiver(app: App, *, borrower_id: str, component: str, amount: str,
                   reason: str | None, actor: str = "system", at: datetime | None = None) -> Waiver:
    """Ask for part of the open case's penalty or fees to be waived."""
    moment = at or app.clock.now()
    part = component_of(component)
    with app.uow(actor) as uow:
        conn = uow.connection
        case = open_case_of(conn, borrower_id, "a waiver")
        minor = parse_to_minor(amount, case.currency, what="waiver amount")
        owed = sum(o.unpaid_minor for o in owed_of(conn, borrower_id, part))
        waiver = Waiver.request(
            case_id=case.case_id, borrower_id=borrower_id, component=part,
            amount=Money.from_minor(minor, case.currency), owed_minor=owed, reason=reason,
            requested_by=actor, requested_at=moment, requested_on=business_date(moment, app.zone))
        if conn.execute(select(waivers.c.waiver_id)
                        .where(waivers.c.waiver_id == waiver.waiver_id)).first() is not None:
            return waiver  # the same request recorded twice is one request
        conn.execute(insert(waivers).values(
            waiver_id=waiver.waiver_id, case_id=case.case_id, borrower_id=borrower_id,
            component=part.value, amount_minor=minor, currency=case.currency,
            status=waiver.status.value, reason=waiver.reason, requested_by=actor,
            requested_at=repo.as_utc(moment)))
        uow.record(waiver.events)
        uow.commit()
    return waiver


def _load(conn: Connection, waiver_id: str) -> Waiver:
    row = conn.execute(select(waivers).where(waivers.c.waiver_id == waiver_id)
                       .with_for_update()).first()
    if row is None:
        raise NotFound(f"no waiver {waiver_id!r}; `fairdue waiver list` shows the ids (WVR-...)")
    requested_at = repo.utc(row.requested_at)
    assert requested_at is not None
    return Waiver(row.waiver_id, row.case_id, row.borrower_id, Component(row.component),
                  Money.from_minor(row.amount_minor, row.currency), row.reason, row.requested_by,
                  requested_at, WaiverStatus(row.status), row.decided_by, row.decided_role,
                  row.decision_reason)


def _books_on(conn: Connection, moment: datetime, app: App) -> date:
    """The business date a credit is dated: the books' date (the last completed daily run),
    so a replay applies it where the ledger stood when it was approved."""
    return last_completed_date(conn) or business_date(moment, app.zone)


def rebuild_loans(uow: UnitOfWork, app: App, borrower_id: str, loan_ids: list[str], *,
                  today: date, reason: str) -> None:
    """Replay the loans with their payments and relief, save them and follow the case."""
    conn = uow.connection
    freezes = freezes_of(conn, [borrower_id]).get(borrower_id, [])
    for stored in load_loans(conn, loan_ids, for_update=True).values():
        ledger = stored.ledger
        replay(ledger, load_payment_facts(conn, ledger.loan_id), credits_of(conn, ledger.loan_id),
               freezes, through=ledger.accrued_through)
        store_replayed_loan(uow, app, stored, today)
    reconcile_cases(uow, stored_arrears(conn, [borrower_id], today), on=today,
                    grace_days=app.settings.grace_days, buckets=app.buckets, cure_reason=reason)


def approve_waiver(app: App, *, waiver_id: str, actor: str, role: str, reason: str | None,
                   at: datetime | None = None) -> Waiver:
    """Approve a requested waiver within the approver's limit, and reduce what is owed."""
    moment = at or app.clock.now()
    who = role_of(role)
    with app.uow(actor) as uow:
        conn = uow.connection
        waiver = _load(conn, waiver_id)
        owed = owed_of(conn, waiver.borrower_id, waiver.component)
        on = _books_on(conn, moment, app)
        waiver.approve(by=actor, role=who, on=business_date(moment, app.zone), reason=reason,
                       limits=limits_for(app.settings, waiver.amount.currency),
                       owed_minor=sum(o.unpaid_minor for o in owed))
        parts = spread(waiver.amount.minor, owed)
        conn.execute(insert(waiver_credits), [
            {"waiver_id": waiver.waiver_id, "loan_id": p.loan_id, "seq": p.seq,
             "component": waiver.component.value, "amount_minor": p.amount_minor, "applied_on": on}
            for p in parts
        ])
        _store_decision(conn, waiver, moment)
        rebuild_loans(uow, app, waiver.borrower_id, sorted({p.loan_id for p in parts}), today=on,
                      reason=f"waiver {waiver.waiver_id} settled what was overdue")
        follow_plan(uow, app.settings, waiver.borrower_id, on)  # a cured case ends its plan
        uow.record(waiver.events)
        uow.commit()
    return waiver


def reject_waiver(app: App, *, waiver_id: str, actor: str, role: str, reason: str | None,
                  at: datetime | None = None) -> Waiver:
    """Reject a requested waiver, with the reason."""
    moment = at or app.clock.now()
    with app.uow(actor) as uow:
        conn = uow.connection
        waiver = _load(conn, waiver_id)
        waiver.reject(by=actor, role=role_of(role), on=business_date(moment, app.zone), reason=reason)
        _store_decision(conn, waiver, moment)
        uow.record(waiver.events)
        uow.commit()
    return waiver


def _store_decision(conn: Connection, waiver: Waiver, moment: datetime) -> None:
    conn.execute(update(waivers).where(waivers.c.waiver_id == waiver.waiver_id,
                                       waivers.c.status == WaiverStatus.REQUESTED.value)
                 .values(status=waiver.status.value, decided_by=waiver.decided_by,
                         decided_role=waiver.decided_role, decided_at=repo.as_utc(moment),
                         decision_reason=waiver.decision_reason))


def find_waivers(conn: Connection, *, borrower_id: str | None = None,
                 status: str | None = None) -> list[dict[str, Any]]:
    """Waivers as an operator sees them, oldest first."""
    if status is not None and status not in {s.value for s in WaiverStatus}:
        raise InvalidInput(f"unknown waiver status {status!r}; use one of: "
                           + ", ".join(s.value for s in WaiverStatus))
    query = select(waivers)
    if borrower_id is not None:
        query = query.where(waivers.c.borrower_id == borrower_id)
    if status is not None:
        query = query.where(waivers.c.status == status)
    return [
        {"waiver_id": r.waiver_id, "case_id": r.case_id, "borrower_id": r.borrower_id,
         "component": r.component, "amount": format_minor(r.amount_minor, r.currency),
         "currency": r.currency, "status": r.status, "reason": r.reason,
         "requested_by": r.requested_by, "requested_at": repo.utc(r.requested_at),
         "decided_by": r.decided_by, "decided_role": r.decided_role,
         "decision_reason": r.decision_reason, "decided_at": repo.utc(r.decided_at)}
        for r in conn.execute(query.order_by(waivers.c.requested_at, waivers.c.waiver_id))
    ]


def waiver_ids_of(conn: Connection, borrower_id: str) -> list[str]:
    """The borrower's waiver ids, for the case timeline's event subjects."""
    return list(conn.execute(select(waivers.c.waiver_id).where(waivers.c.borrower_id == borrower_id))
                .scalars())
