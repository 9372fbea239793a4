"""The outbox as the dispatcher sees it: claiming due messages, reading what sending them
needs, and writing what came of it.

A claim is its own short transaction: due rows are locked with `FOR UPDATE SKIP LOCKED` on
PostgreSQL (so any number of workers share the work without waiting on each other; SQLite
has one writer and ignores the clause), marked `sending` with the worker's name and the
time, and committed before anything is sent. A worker that dies leaves its rows `sending`;
after the lease they are taken over.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, and_, bindparam, func, or_, select, update

from fairdue.adapters.db.tables import (
    borrowers,
    cases,
    contact_points,
    contacts,
    installments,
    loans,
)
from fairdue.adapters.db.tables_plans import plan_installments, plans
from fairdue.adapters.db.tables_visits import visit_slots, visits

MESSAGE_CHANNELS = ("sms", "email", "push")


@dataclass(frozen=True, slots=True)
class Claimed:
    contact_id: str
    channel: str
    stale: bool          # taken over from a worker that stopped mid-send
    attempts: int


def claim_due(conn: Connection, *, now: datetime, worker: str, limit: int,
              stale_before: datetime, only: Sequence[str] | None = None) -> list[Claimed]:
    """Lock and mark up to `limit` due messages (and stale claims) as this worker's; `only`:
    just these messages (one a borrower is waiting for), if they are due."""
    now, stale_before = now.astimezone(UTC), stale_before.astimezone(UTC)  # see strategy_repo.upsert
    due = and_(
        contacts.c.channel.in_(MESSAGE_CHANNELS),
        or_(
            and_(contacts.c.status == "scheduled", contacts.c.scheduled_at <= now,
                 or_(contacts.c.next_attempt_at.is_(None), contacts.c.next_attempt_at <= now)),
            and_(contacts.c.status == "sending", contacts.c.claimed_at < stale_before),
        ),
    )
    if only is not None:
        due = and_(due, contacts.c.contact_id.in_(list(only)))
    rows = conn.execute(
        select(contacts.c.contact_id, contacts.c.channel, contacts.c.status, contacts.c.attempts)
        .where(due)
        .order_by(contacts.c.scheduled_at, contacts.c.contact_id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    if not rows:
        return []
    conn.execute(
        update(contacts)
        .where(contacts.c.contact_id.in_([r[0] for r in rows]))
        .values(status="sending", claimed_by=worker, claimed_at=now, updated_at=now)
    )
    return [Claimed(r[0], r[1], r[2] == "sending", r[3]) for r in rows]


@dataclass(frozen=True, slots=True)
class Pending:
    """A claimed message with what sending it needs."""

    contact_id: str
    idempotency_key: str
    case_id: str | None
    case_open: bool
    dpd: int
    borrower_id: str
    channel: str
    template: str | None
    language: str
    attempts: int
    pii: bytes
    timezone: str


def load_pending(conn: Connection, contact_ids: Sequence[str]) -> list[Pending]:
    rows = conn.execute(
        select(
            contacts.c.contact_id, contacts.c.idempotency_key, contacts.c.case_id,
            cases.c.status, cases.c.dpd, contacts.c.borrower_id, contacts.c.channel,
            contacts.c.template, contacts.c.language, contacts.c.attempts, borrowers.c.pii,
            borrowers.c.timezone,
        )
        .select_from(contacts)
        .join(borrowers, borrowers.c.borrower_id == contacts.c.borrower_id)
        .outerjoin(cases, cases.c.case_id == contacts.c.case_id)
        .where(contacts.c.contact_id.in_(list(contact_ids)))
        .order_by(contacts.c.contact_id)
    ).all()
    return [Pending(r[0], r[1], r[2], r[3] == "open", r[4] or 0, r[5], r[6], r[7], r[8], r[9],
                    r[10], r[11]) for r in rows]


@dataclass(frozen=True, slots=True)
class Breakdown:
    currency: str
    principal: int
    interest: int
    fees: int
    penalty: int
    oldest_due: date
    loans: int


def overdue_breakdown(conn: Connection, borrower_ids: Iterable[str], today: date
                      ) -> dict[str, Breakdown]:
    """What each borrower owes on installments due before `today`, by component."""
    unpaid_principal = installments.c.principal_minor - installments.c.principal_paid_minor
    unpaid_interest = installments.c.interest_minor - installments.c.interest_paid_minor
    unpaid_fee = installments.c.fee_minor - installments.c.fee_paid_minor
    unpaid_penalty = installments.c.penalty_minor - installments.c.penalty_paid_minor
    rows = conn.execute(
        select(
            loans.c.borrower_id, loans.c.currency, func.sum(unpaid_principal),
            func.sum(unpaid_interest), func.sum(unpaid_fee), func.sum(unpaid_penalty),
            func.min(installments.c.due_on), func.count(func.distinct(loans.c.loan_id)),
        )
        .select_from(loans)
        .join(installments, installments.c.loan_id == loans.c.loan_id)
        .where(loans.c.borrower_id.in_(list(borrower_ids)), installments.c.due_on < today,
               unpaid_principal + unpaid_interest + unpaid_fee + unpaid_penalty > 0)
        .group_by(loans.c.borrower_id, loans.c.currency)
    ).all()
    return {r[0]: Breakdown(r[1], int(r[2]), int(r[3]), int(r[4]), int(r[5]), r[6], int(r[7]))
            for r in rows}


@dataclass(frozen=True, slots=True)
class CaseNews:
    """What a message about a plan or a visit tells, read when it is sent (not when it was
    queued), so it never states a date that has since changed."""

    plan_due_on: date | None = None
    plan_due_minor: int = 0
    plan_currency: str = ""
    visit: tuple[datetime, datetime] | None = None          # the booked appointment, UTC
    offered: tuple[tuple[datetime, datetime], ...] = ()     # the times offered, UTC


def case_news(conn: Connection, case_ids: Iterable[str]) -> dict[str, CaseNews]:
    """For each case: the next unpaid installment of its active plan, and its open visit's
    booked time or the times offered."""
    wanted = sorted(set(case_ids))
    if not wanted:
        return {}
    found: dict[str, dict[str, Any]] = {}
    unpaid = plan_installments.c.amount_minor - plan_installments.c.paid_minor
    nxt = (
        select(plans.c.case_id, plans.c.currency, plan_installments.c.due_on, unpaid,
               func.row_number().over(partition_by=plans.c.plan_id,
                                      order_by=plan_installments.c.seq).label("n"))
        .join(plan_installments, plan_installments.c.plan_id == plans.c.plan_id)
        .where(plans.c.case_id.in_(wanted), plans.c.status == "active", unpaid > 0)
        .subquery()
    )
    for case_id, currency, due_on, amount in conn.execute(
            select(nxt.c.case_id, nxt.c.currency, nxt.c.due_on, nxt.c[3]).where(nxt.c.n == 1)):
        found.setdefault(case_id, {}).update(plan_due_on=due_on, plan_due_minor=int(amount),
                                             plan_currency=currency)
    open_visits = conn.execute(
        select(visits.c.visit_id, visits.c.case_id, visits.c.status, visits.c.slot_start,
               visits.c.slot_end)
        .where(visits.c.case_id.in_(wanted), visits.c.status.in_(("slots_offered", "booked")))
    ).all()
    for _, case_id, status, start, end in open_visits:
        if status == "booked" and start is not None and end is not None:
            found.setdefault(case_id, {})["visit"] = (_aware(start), _aware(end))
    offering = {r[0]: r[1] for r in open_visits if r[2] == "slots_offered"}
    if offering:
        offers: dict[str, list[tuple[datetime, datetime]]] = {}
        for visit_id, start, end in conn.execute(
                select(visit_slots.c.visit_id, visit_slots.c.starts_at, visit_slots.c.ends_at)
                .where(visit_slots.c.visit_id.in_(list(offering)))
                .order_by(visit_slots.c.visit_id, visit_slots.c.slot_no)):
            offers.setdefault(offering[visit_id], []).append((_aware(start), _aware(end)))
        for case_id, times in offers.items():
            found.setdefault(case_id, {})["offered"] = tuple(times)
    return {case_id: CaseNews(**values) for case_id, values in found.items()}


def _aware(value: datetime) -> datetime:
    """SQLite hands back naive UTC; PostgreSQL aware times."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def bad_points(conn: Connection, borrower_ids: Iterable[str]) -> set[tuple[str, str]]:
    """(borrower, channel) pairs whose contact point a provider called invalid."""
    rows = conn.execute(
        select(contact_points.c.borrower_id, contact_points.c.channel)
        .where(contact_points.c.borrower_id.in_(list(borrower_ids)),
               contact_points.c.status == "invalid")
    ).all()
    return {(r[0], r[1]) for r in rows}


#: Every column a dispatch result writes, so that one executemany covers every outcome.
RESULT_COLUMNS = ("status", "attempts", "next_attempt_at", "scheduled_at", "provider_id",
                  "last_error", "sent_at", "blocked_by", "blocked_reason", "claimed_by",
                  "claimed_at", "updated_at")


def save_results(conn: Connection, rows: Sequence[dict[str, Any]], *, worker: str) -> int:
    """Write each message's outcome, only where this worker still holds the claim (a row
    taken over after the lease belongs to its new holder). Returns the rows written."""
    if not rows:
        return 0
    stmt = (
        update(contacts)
        .where(contacts.c.contact_id == bindparam("k_contact_id"),
               contacts.c.claimed_by == bindparam("k_worker"))
        .values({c: bindparam(f"v_{c}") for c in RESULT_COLUMNS})
    )
    params = [{"k_contact_id": r["contact_id"], "k_worker": worker,
               **{f"v_{c}": r[c] for c in RESULT_COLUMNS}} for r in rows]
    result = conn.execute(stmt, params)
    return int(result.rowcount)
