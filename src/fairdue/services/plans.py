"""Repayment plans: proposing one over the case's amount due, deciding it, and following it.

A plan is proposed for the borrower's open case (its schedule can be previewed without
being recorded, so the borrower hears it before agreeing), approved (and so activated) or
rejected by staff, then followed: every payment posted is counted toward the active plan at
once (`settle_after_payment`, called by services.payments), and the daily run marks missed
installments and completes or breaks plans one partition at a time, set-based
(`settle_plans`). The policy reads `active_plan` and `days_to_plan_due` from
`plan_standings`. Each change is a domain event, stored and audited with the transaction.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update

from fairdue.adapters.db import strategy_repo as repo
from fairdue.adapters.db.tables import borrowers, cases, loans, payments
from fairdue.adapters.db.tables_plans import penalty_freezes, plan_installments, plans
from fairdue.bootstrap import App
from fairdue.domain.affordability import Affordability
from fairdue.domain.approvals import role_of
from fairdue.domain.ledger import business_date
from fairdue.domain.money import Money, format_minor, parse_to_minor
from fairdue.domain.plans import InstallmentStatus, Plan, PlanInstallment, PlanStatus
from fairdue.errors import InvalidInput, NotFound
from fairdue.services.relief import first_unaccrued_day
from fairdue.services.unit_of_work import UnitOfWork
from fairdue.settings import Settings

_CHUNK = 2000
#: A borrower has at most one plan being decided or followed at a time.
_IN_FORCE = (PlanStatus.PROPOSED.value, PlanStatus.APPROVED.value, PlanStatus.ACTIVE.value)


def open_case_of(conn: Connection, borrower_id: str, what: str) -> Any:
    """The borrower's open case (case_id, currency, amount_due_minor), or a clear refusal."""
    if conn.execute(select(borrowers.c.borrower_id)
                    .where(borrowers.c.borrower_id == borrower_id)).first() is None:
        raise NotFound(f"no borrower {borrower_id!r}; check the id (e.g. B00000001)")
    case = conn.execute(
        select(cases.c.case_id, cases.c.currency, cases.c.amount_due_minor)
        .where(cases.c.borrower_id == borrower_id, cases.c.status == "open")
    ).first()
    if case is None:
        raise InvalidInput(f"borrower {borrower_id} has no open case; {what} is made for an open "
                           "case (nothing is overdue, or it was paid)")
    return case


def propose_plan(app: App, *, borrower_id: str, installments: int, first_on: date,
                 cadence: str = "monthly", amounts: Sequence[str] | None = None,
                 penalty_continues: bool = True, income: str | None = None,
                 expenses: str | None = None, actor: str = "system",
                 at: datetime | None = None, preview: bool = False) -> Plan:
    """A plan over the open case's amount due; recorded as proposed unless `preview`."""
    moment = at or app.clock.now()
    with app.uow(actor) as uow:
        conn = uow.connection
        case = open_case_of(conn, borrower_id, "a repayment plan")
        currency = case.currency
        if (income is None) != (expenses is None):
            raise InvalidInput("give both --income and --expenses (monthly), or neither")
        max_minor = None
        income_minor = expenses_minor = None
        if income is not None and expenses is not None:
            income_minor = parse_to_minor(income, currency, what="monthly income")
            expenses_minor = parse_to_minor(expenses, currency, what="monthly expenses")
            max_minor = Affordability(
                Money.from_minor(income_minor, currency), Money.from_minor(expenses_minor, currency),
                Decimal(app.settings.affordability_share),
            ).max_installment_minor(cadence)
        custom = None if not amounts else [
            Money.from_minor(parse_to_minor(a, currency, what=f"installment {i} amount"), currency)
            for i, a in enumerate(amounts, 1)
        ]
        plan = Plan.propose(
            case_id=case.case_id, borrower_id=borrower_id,
            total=Money.from_minor(case.amount_due_minor, currency), count=installments,
            first_on=first_on, cadence=cadence, proposed_at=moment,
            proposed_on=business_date(moment, app.zone), proposed_by=actor, custom=custom,
            penalty_continues=penalty_continues, max_installment_minor=max_minor,
            max_installments=app.settings.plan_max_installments,
        )
        if preview:
            return plan
        in_force = conn.execute(
            select(plans.c.plan_id, plans.c.status)
            .where(plans.c.borrower_id == borrower_id, plans.c.status.in_(_IN_FORCE))
        ).first()
        if in_force is not None:
            if in_force.plan_id == plan.plan_id:
                return plan  # the same proposal recorded twice is one plan
            raise InvalidInput(f"borrower {borrower_id} already has plan {in_force.plan_id} "
                               f"({in_force.status}); reject it or let it end first")
        conn.execute(insert(plans).values(
            plan_id=plan.plan_id, case_id=plan.case_id, borrower_id=borrower_id,
            currency=currency, total_minor=plan.total_minor,
            installment_count=len(plan.installments), cadence=cadence,
            penalty_continues=penalty_continues, status=plan.status.value, proposed_by=actor,
            proposed_at=repo.as_utc(moment), income_minor=income_minor,
            expenses_minor=expenses_minor, max_installment_minor=max_minor, paid_minor=0,
        ))
        conn.execute(insert(plan_installments), [
            {"plan_id": plan.plan_id, "seq": i.seq, "due_on": i.due_on,
             "amount_minor": i.amount_minor, "paid_minor": 0, "status": i.status.value}
            for i in plan.installments
        ])
        uow.record(plan.events)
        uow.commit()
    return plan


def _plans(conn: Connection, rows: Sequence[Any], zone: Any) -> list[Plan]:
    """Plans from their rows, with every installment read in one query per chunk (the daily
    run reads a partition's plans at once, never one query per plan)."""
    per: dict[str, list[PlanInstallment]] = defaultdict(list)
    ids = [r.plan_id for r in rows]
    for start in range(0, len(ids), _CHUNK):
        for r in conn.execute(select(plan_installments)
                              .where(plan_installments.c.plan_id.in_(ids[start:start + _CHUNK]))
                              .order_by(plan_installments.c.plan_id, plan_installments.c.seq)):
            per[r.plan_id].append(PlanInstallment(r.seq, r.due_on, r.amount_minor, r.paid_minor,
                                                  InstallmentStatus(r.status)))
    found = []
    for row in rows:
        proposed_at = repo.utc(row.proposed_at)
        assert proposed_at is not None
        found.append(Plan(
            row.plan_id, row.case_id, row.borrower_id, row.currency, row.cadence,
            bool(row.penalty_continues), per[row.plan_id],
            row.proposed_by, proposed_at, proposed_at.astimezone(zone).date(),
            row.max_installment_minor, PlanStatus(row.status), row.decided_by, row.decided_role,
            row.decision_reason, None, repo.utc(row.activated_at), row.activated_on, row.ended_on,
        ))
    return found


def load_plan(conn: Connection, plan_id: str, zone: Any, *, for_update: bool = False) -> Plan:
    query = select(plans).where(plans.c.plan_id == plan_id)
    if for_update:
        query = query.with_for_update()
    row = conn.execute(query).first()
    if row is None:
        raise NotFound(f"no plan {plan_id!r}; `fairdue plan list` shows the ids (PLN-...)")
    return _plans(conn, [row], zone)[0]


def _save(conn: Connection, found: Sequence[Plan], decided_at: datetime | None = None) -> None:
    """Write the plans' state and their installments back; close a plan's freeze when it ends."""
    if not found:
        return
    conn.execute(
        update(plans).where(plans.c.plan_id == bindparam("k_id")).values(
            status=bindparam("k_status"), ended_on=bindparam("k_ended"),
            paid_minor=bindparam("k_paid"), activated_at=bindparam("k_act_at"),
            activated_on=bindparam("k_act_on")),
        [{"k_id": p.plan_id, "k_status": p.status.value, "k_ended": p.ended_on,
          "k_paid": p.paid_minor,
          "k_act_at": repo.as_utc(p.activated_at) if p.activated_at else None,
          "k_act_on": p.activated_on} for p in found],
    )
    conn.execute(
        update(plan_installments).where(plan_installments.c.plan_id == bindparam("k_id"),
                                        plan_installments.c.seq == bindparam("k_seq"))
        .values(paid_minor=bindparam("k_paid"), status=bindparam("k_status")),
        [{"k_id": p.plan_id, "k_seq": i.seq, "k_paid": i.paid_minor, "k_status": i.status.value}
         for p in found for i in p.installments],
    )
    ended = [p for p in found if p.ended_on is not None and not p.penalty_continues]
    if ended:
        conn.execute(
            update(penalty_freezes)
            .where(penalty_freezes.c.source == "plan", penalty_freezes.c.source_id == bindparam("k_id"))
            .values(ends_on=bindparam("k_end")),
            [{"k_id": p.plan_id, "k_end": p.ended_on} for p in ended],
        )


def _decide(app: App, plan_id: str, *, actor: str, role: str, reason: str | None,
            approve: bool, at: datetime | None) -> Plan:
    moment = at or app.clock.now()
    who = role_of(role)
    with app.uow(actor) as uow:
        conn = uow.connection
        plan = load_plan(conn, plan_id, app.zone, for_update=True)
        on = business_date(moment, app.zone)
        if approve:
            plan.approve(by=actor, role=who, on=on, reason=reason)
            plan.activate(at=moment, on=on)
        else:
            plan.reject(by=actor, role=who, on=on, reason=reason)
        _save(conn, [plan])
        conn.execute(update(plans).where(plans.c.plan_id == plan_id).values(
            decided_by=actor, decided_role=who.value, decided_at=repo.as_utc(moment),
            decision_reason=plan.decision_reason))
        if approve:  # the plan removes the reason for a visit (S5-S7): call it off at once
            # (imported here: the visits' outbox code reaches back to the daily run's modules)
            from fairdue.services.visits import cancel_visits_for_case

            cancel_visits_for_case(conn, plan.case_id, "a repayment plan is active", moment,
                                   actor=actor)
        if approve and not plan.penalty_continues:
            conn.execute(insert(penalty_freezes).values(
                freeze_id="FRZ-" + hashlib.sha256(f"plan|{plan_id}".encode()).hexdigest()[:40],
                borrower_id=plan.borrower_id, source="plan", source_id=plan_id,
                starts_on=first_unaccrued_day(conn, on), ends_on=None))
        uow.record(plan.events)
        uow.commit()
    return plan


def approve_plan(app: App, *, plan_id: str, actor: str, role: str, reason: str | None = None,
                 at: datetime | None = None) -> Plan:
    """Approve a proposed plan and activate it: payments from now count toward it."""
    return _decide(app, plan_id, actor=actor, role=role, reason=reason, approve=True, at=at)


def reject_plan(app: App, *, plan_id: str, actor: str, role: str, reason: str | None,
                at: datetime | None = None) -> Plan:
    """Reject a proposed plan, with the reason."""
    return _decide(app, plan_id, actor=actor, role=role, reason=reason, approve=False, at=at)


# ----- following active plans -------------------------------------------------------------


def _paid_since(conn: Connection, active: Sequence[Plan], today: date) -> dict[str, int]:
    """Per plan: what the borrower paid on any loan from the plan's activation to `today`."""
    if not active:
        return {}
    ids = sorted({p.borrower_id for p in active})
    since = min(p.activated_at for p in active if p.activated_at is not None)
    seen: dict[str, list[tuple[datetime, date, int, str]]] = defaultdict(list)
    for start in range(0, len(ids), _CHUNK):
        for borrower_id, paid_at, paid_on, amount, currency in conn.execute(
            select(loans.c.borrower_id, payments.c.paid_at, payments.c.paid_on,
                   payments.c.amount_minor, payments.c.currency)
            .join(loans, loans.c.loan_id == payments.c.loan_id)
            .where(loans.c.borrower_id.in_(ids[start:start + _CHUNK]),
                   payments.c.paid_at >= repo.as_utc(since))
        ):
            seen[borrower_id].append((repo.utc(paid_at) or since, paid_on, amount, currency))
    return {
        p.plan_id: sum(amount for at, on, amount, currency in seen.get(p.borrower_id, ())
                       if p.activated_at is not None and at >= p.activated_at and on <= today
                       and currency == p.currency)
        for p in active
    }


def _follow(uow: UnitOfWork, settings: Settings, active: list[Plan], today: date) -> int:
    """Count payments toward active plans and judge them; store and record what changed."""
    if not active:
        return 0
    conn = uow.connection
    paid = _paid_since(conn, active, today)
    still_open = set(conn.execute(select(cases.c.case_id).where(
        cases.c.case_id.in_(sorted({p.case_id for p in active})), cases.c.status == "open")).scalars())
    changed = []
    for plan in active:
        before = (plan.status, [(i.paid_minor, i.status) for i in plan.installments])
        if plan.case_id in still_open:
            plan.assess(paid.get(plan.plan_id, 0), today, settings.plan_missed_limit)
        else:  # cured (paid, or a waiver took off the rest): nothing left to collect
            plan.close_with_case(paid.get(plan.plan_id, 0), today)
        if before != (plan.status, [(i.paid_minor, i.status) for i in plan.installments]):
            changed.append(plan)
    _save(uow.connection, changed)
    for plan in changed:
        uow.record(plan.events)
    return len(changed)


def settle_after_payment(uow: UnitOfWork, settings: Settings, borrower_id: str, today: date) -> int:
    """A payment was posted for the borrower (or a waiver changed what they owe): count it
    toward their active plan at once, and complete the plan if the case closed."""
    conn = uow.connection
    rows = conn.execute(select(plans).where(plans.c.borrower_id == borrower_id,
                                            plans.c.status == PlanStatus.ACTIVE.value)).all()
    return _follow(uow, settings, _plans(conn, rows, settings.zone), today)


def settle_plans(uow: UnitOfWork, day: date, shard_from: int, shard_to: int, *,
                 settings: Settings) -> int:
    """The daily run for business date `day`: the partition's active plans with an
    installment whose date has passed unmarked are judged (missed, completed, broken).
    Returns how many plans changed."""
    conn = uow.connection
    due = (
        select(plans)
        .join(borrowers, borrowers.c.borrower_id == plans.c.borrower_id)
        .where(plans.c.status == PlanStatus.ACTIVE.value,
               borrowers.c.shard.between(shard_from, shard_to),
               plans.c.plan_id.in_(
                   select(plan_installments.c.plan_id)
                   .where(plan_installments.c.status == InstallmentStatus.DUE.value,
                          plan_installments.c.due_on < day)))
        .order_by(plans.c.plan_id)
    )
    rows = conn.execute(due).all()
    return _follow(uow, settings, _plans(conn, rows, settings.zone), day)


def plan_standings(conn: Connection, borrower_ids: Sequence[str], day: date
                   ) -> dict[str, int | None]:
    """For the borrowers with an active plan on track (nothing missed): days from `day` to
    the next plan installment still to pay (None when none is left). Absent: no such plan."""
    found: dict[str, int | None] = {}
    ids = list(borrower_ids)
    for start in range(0, len(ids), _CHUNK):
        rows = conn.execute(
            select(plans.c.borrower_id, plan_installments.c.due_on, plan_installments.c.status)
            .join(plan_installments, plan_installments.c.plan_id == plans.c.plan_id)
            .where(plans.c.borrower_id.in_(ids[start:start + _CHUNK]),
                   plans.c.status == PlanStatus.ACTIVE.value)
            .order_by(plans.c.borrower_id, plan_installments.c.seq)
        ).all()
        per: dict[str, list[tuple[date, str]]] = defaultdict(list)
        for borrower_id, due_on, status in rows:
            per[borrower_id].append((due_on, status))
        for borrower_id, items in per.items():
            if any(s == InstallmentStatus.MISSED.value or (s == InstallmentStatus.DUE.value and d < day)
                   for d, s in items):
                continue  # behind on the plan: not on track, normal collection resumes
            upcoming = [d for d, s in items if s != InstallmentStatus.PAID.value]
            found[borrower_id] = (upcoming[0] - day).days if upcoming else None
    return found


# ----- reading ----------------------------------------------------------------------------


def plan_row(r: Any) -> dict[str, Any]:
    cur = r.currency

    def money(v: int | None) -> str | None:
        return None if v is None else format_minor(v, cur)

    return {
        "plan_id": r.plan_id, "case_id": r.case_id, "borrower_id": r.borrower_id,
        "status": r.status, "total": money(r.total_minor), "currency": cur,
        "installments": r.installment_count, "cadence": r.cadence,
        "penalty_continues": bool(r.penalty_continues), "paid": money(r.paid_minor),
        "max_installment": money(r.max_installment_minor), "proposed_by": r.proposed_by,
        "proposed_at": repo.utc(r.proposed_at), "decided_by": r.decided_by,
        "decided_role": r.decided_role, "decision_reason": r.decision_reason,
        "activated_on": r.activated_on, "ended_on": r.ended_on,
    }


def find_plans(conn: Connection, *, borrower_id: str | None = None,
               status: str | None = None) -> list[dict[str, Any]]:
    """Plans as an operator sees them, oldest first."""
    if status is not None and status not in {s.value for s in PlanStatus}:
        raise InvalidInput(f"unknown plan status {status!r}; use one of: "
                           + ", ".join(s.value for s in PlanStatus))
    query = select(plans)
    if borrower_id is not None:
        query = query.where(plans.c.borrower_id == borrower_id)
    if status is not None:
        query = query.where(plans.c.status == status)
    return [plan_row(r) for r in conn.execute(query.order_by(plans.c.proposed_at, plans.c.plan_id))]


def plan_detail(conn: Connection, plan_id: str) -> dict[str, Any]:
    """One plan with its schedule: each installment's date, amount, paid and status."""
    row = conn.execute(select(plans).where(plans.c.plan_id == plan_id)).first()
    if row is None:
        raise NotFound(f"no plan {plan_id!r}; `fairdue plan list` shows the ids (PLN-...)")
    detail = plan_row(row)
    detail["schedule"] = [
        {"seq": r.seq, "due_on": r.due_on, "amount": format_minor(r.amount_minor, row.currency),
         "paid": format_minor(r.paid_minor, row.currency), "status": r.status}
        for r in conn.execute(select(plan_installments)
                              .where(plan_installments.c.plan_id == plan_id)
                              .order_by(plan_installments.c.seq))
    ]
    return detail


def schedule_of(plan: Plan) -> list[dict[str, Any]]:
    """A plan's schedule as it is shown to the borrower before they agree to it."""
    return [{"seq": i.seq, "due_on": i.due_on, "amount": format_minor(i.amount_minor, plan.currency),
             "paid": format_minor(i.paid_minor, plan.currency), "status": i.status.value}
            for i in plan.installments]


def plan_ids_of(conn: Connection, borrower_id: str) -> list[str]:
    """The borrower's plan ids, for the case timeline's event subjects."""
    return list(conn.execute(select(plans.c.plan_id).where(plans.c.borrower_id == borrower_id))
                .scalars())
