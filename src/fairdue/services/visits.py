"""Field visits: the policy's proposals as candidates, the supervisor's decision, and
calling a visit off.

The daily run's decisions propose visits (a `visit` row in the contacts table, with the S5,
S6 or S7 reason); `sync_candidates` turns each into a visit candidate, one open visit per
case however many days the policy keeps proposing it. A supervisor approves or rejects it
with a reason; the appointment is agreed in `services.visit_appointments` (S8). A payment
that clears the case or removes the reason, a repayment plan, or the case closing cancels a
visit not yet begun, and the borrower is told (`cancel_visits_for_case`).

Messages go through the ordinary outbox (contacts rows, sent by `fairdue worker`), so the
dispatcher's checks at sending time apply to them too.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from fairdue.adapters.db.strategy_repo import as_utc, utc
from fairdue.adapters.db.tables import borrowers, cases, contacts
from fairdue.adapters.db.tables_visits import OPEN_VISIT_STATUSES, visit_credentials, visits
from fairdue.bootstrap import App
from fairdue.domain.events import DomainEvent
from fairdue.domain.visits import (
    Visit,
    VisitCancelled,
    VisitStatus,
)
from fairdue.errors import InvalidInput
from fairdue.services.unit_of_work import UnitOfWork
from fairdue.services.visit_appointments import (  # the appointment, where callers look for it
    Booking,
    BorrowerVisit,
    book_visit,
    borrower_visit,
    confirm_slot,
    offer_slots,
    offered_slots,
    place_point,
    queue_reminders,
)
from fairdue.services.visit_store import (
    SEPARATOR,
    load_row,
    min_collectors,
    queue_message,
    save,
    stamp,
    store_events,
    to_visit,
)

__all__ = [
    "SEPARATOR",
    "Booking",
    "BorrowerVisit",
    "after_payment",
    "approve_visit",
    "book_visit",
    "borrower_visit",
    "cancel_visit",
    "cancel_visits_for_case",
    "confirm_slot",
    "find_visits",
    "follow_visits",
    "min_collectors",
    "offer_slots",
    "offered_slots",
    "place_point",
    "queue_message",
    "reject_visit",
    "stamp",
    "store_events",
    "sync_candidates",
]

# ----- candidates -----------------------------------------------------------------------

def sync_candidates(uow: UnitOfWork, shard_from: int, shard_to: int, *, now: datetime) -> int:
    """Turn the partition's visit proposals not yet seen into visit candidates: one open
    visit per case (a proposal for a case with an open visit is left as it is). Returns how
    many were created. Idempotent: a proposal becomes a visit once."""
    conn = uow.connection
    rows = conn.execute(
        select(contacts.c.contact_id, contacts.c.case_id, contacts.c.borrower_id,
               contacts.c.reason, contacts.c.priority, contacts.c.created_at)
        .select_from(contacts)
        .join(borrowers, borrowers.c.borrower_id == contacts.c.borrower_id)
        .outerjoin(visits, visits.c.contact_id == contacts.c.contact_id)
        .where(contacts.c.channel == "visit", contacts.c.status == "proposed",
               contacts.c.case_id.is_not(None), visits.c.visit_id.is_(None),
               borrowers.c.shard.between(shard_from, shard_to))
        .order_by(contacts.c.contact_id)
    ).all()
    if not rows:
        return 0
    open_cases = set(conn.execute(
        select(visits.c.case_id).where(visits.c.case_id.in_({r.case_id for r in rows}),
                                       visits.c.status.in_(OPEN_VISIT_STATUSES))).scalars())
    events: list[DomainEvent] = []
    created = 0
    for row in rows:
        if row.case_id in open_cases:
            continue
        proposed_on = _proposed_on(row.contact_id, now)
        visit, event = Visit.propose(case_id=row.case_id, reason=row.reason or "", on=proposed_on)
        conn.execute(insert(visits).values(
            visit_id=visit.visit_id, case_id=row.case_id, borrower_id=row.borrower_id,
            contact_id=row.contact_id, grounds=visit.grounds, reason=visit.reason,
            priority=row.priority, status=visit.status.value, proposed_on=proposed_on,
            created_at=as_utc(now), updated_at=as_utc(now)))
        open_cases.add(row.case_id)
        events.append(event)
        created += 1
    uow.record(events)
    return created


def _proposed_on(contact_id: str, now: datetime) -> date:
    """The business date in a decision's contact id (`<case>-<YYYYMMDD>-<n>`)."""
    try:
        return datetime.strptime(contact_id.rsplit("-", 2)[1], "%Y%m%d").date()
    except (IndexError, ValueError):
        return now.date()


def find_visits(conn: Connection, *, status: str | None = None, case_id: str | None = None,
                team: str | None = None) -> list[dict[str, Any]]:
    """Visits as an operator sees them (no personal data), newest proposal first."""
    if status is not None and status not in {s.value for s in VisitStatus}:
        raise InvalidInput(f"unknown visit status {status!r}; use one of: "
                           + ", ".join(s.value for s in VisitStatus))
    query = select(visits.c.visit_id, visits.c.case_id, visits.c.borrower_id, visits.c.grounds,
                   visits.c.reason, visits.c.priority, visits.c.status, visits.c.proposed_on,
                   visits.c.decided_by, visits.c.decision_note, visits.c.team,
                   visits.c.collectors, visits.c.slot_start, visits.c.slot_end,
                   visits.c.booked_via, visits.c.cancelled_reason)
    if status is not None:
        query = query.where(visits.c.status == status)
    if case_id is not None:
        query = query.where(visits.c.case_id == case_id)
    if team is not None:
        query = query.where(visits.c.team == team)
    out = []
    for r in conn.execute(query.order_by(visits.c.proposed_on.desc(), visits.c.visit_id)).mappings():
        item = dict(r)
        item["slot_start"], item["slot_end"] = utc(r["slot_start"]), utc(r["slot_end"])
        out.append(item)
    return out


# ----- a supervisor's decision ------------------------------------------------------------

def approve_visit(app: App, visit_id: str, *, actor: str, note: str) -> Visit:
    """A supervisor approves the proposal, saying why (audited)."""
    return _decide(app, visit_id, actor=actor, note=note, approve=True)


def reject_visit(app: App, visit_id: str, *, actor: str, note: str) -> Visit:
    """A supervisor rejects the proposal, saying why (audited)."""
    return _decide(app, visit_id, actor=actor, note=note, approve=False)


def _decide(app: App, visit_id: str, *, actor: str, note: str, approve: bool) -> Visit:
    now = app.clock.now()
    with app.uow(actor) as uow:
        conn = uow.connection
        uow.write_lock()
        visit = to_visit(load_row(conn, visit_id, lock=True))
        event = visit.approve(actor, note) if approve else visit.reject(actor, note)
        save(conn, visit, now, decided_by=actor, decided_at=as_utc(now), decision_note=note.strip())
        uow.record([event])
        uow.commit()
    return visit


# ----- cancellation ----------------------------------------------------------------------

def cancel_visits_for_case(conn: Connection, case_id: str, reason: str, at: datetime, *,
                           actor: str = "system") -> list[str]:
    """Cancel the case's visit not yet begun (a payment cleared the case or removed the
    reason, a repayment plan became active, the case closed), revoke its letters and queue
    an SMS telling the borrower. Works inside the caller's transaction; the events are
    stored and audited in it. Returns the visits cancelled (none is fine)."""
    rows = conn.execute(select(visits).where(
        visits.c.case_id == case_id,
        visits.c.status.in_([s.value for s in VisitStatus if s.value in
                             ("proposed", "approved", "slots_offered", "booked")]))).mappings().all()
    events: list[DomainEvent] = []
    for row in rows:
        visit = to_visit(row)
        was_booked_or_offered = visit.status in (VisitStatus.BOOKED, VisitStatus.SLOTS_OFFERED,
                                                 VisitStatus.APPROVED)
        events.append(visit.cancel(reason))
        save(conn, visit, at, cancelled_reason=reason.strip())
        conn.execute(update(visit_credentials)
                     .where(visit_credentials.c.visit_id == visit.visit_id,
                            visit_credentials.c.revoked_at.is_(None))
                     .values(revoked_at=as_utc(at), revoked_reason=f"visit cancelled: {reason}"))
        if was_booked_or_offered:  # a proposal the borrower never heard of needs no notice
            language = conn.execute(select(borrowers.c.language)
                                    .where(borrowers.c.borrower_id == row["borrower_id"])).scalar_one()
            queue_message(conn, case_id, row["borrower_id"], language,
                          f"{visit.visit_id}-cancelled", "visit_cancelled", at,
                          f"visit {visit.visit_id} cancelled: {reason}")
    store_events(conn, events, actor=actor, at=at)
    return [e.visit_id for e in events if isinstance(e, VisitCancelled)]


def cancel_visit(app: App, visit_id: str, *, actor: str, reason: str) -> None:
    """An operator calls a visit off (the borrower is told if they knew of it)."""
    now = app.clock.now()
    with app.uow(actor) as uow:
        uow.write_lock()
        row = load_row(uow.connection, visit_id, lock=True)
        if row["status"] not in ("proposed", "approved", "slots_offered", "booked"):
            to_visit(row).cancel(reason)  # raises InvalidTransition with the reason
        cancel_visits_for_case(uow.connection, row["case_id"], reason, now, actor=actor)
        uow.commit()


def after_payment(conn: Connection, app: App, borrower_id: str, at: datetime) -> list[str]:
    """A payment was posted: cancel the borrower's visit when it cleared the case, or when
    the visit rested on a large amount (S5) and what is due is now under the policy's
    threshold."""
    row = conn.execute(
        select(visits.c.case_id, visits.c.grounds, cases.c.status, cases.c.amount_due_minor)
        .select_from(visits).join(cases, cases.c.case_id == visits.c.case_id)
        .where(visits.c.borrower_id == borrower_id, visits.c.status.in_(
            ("proposed", "approved", "slots_offered", "booked")))).first()
    if row is None:
        return []
    if row.status != "open":
        return cancel_visits_for_case(conn, row.case_id, "paid: the case is cleared", at)
    threshold = app.strategy.policy.thresholds.get("visit_amount_minor")
    if row.grounds == "S5" and threshold is not None and row.amount_due_minor < threshold:
        return cancel_visits_for_case(conn, row.case_id, "paid: the amount due is no longer "
                                      "large (S5 no longer holds)", at)
    return []


def close_visits_of_closed_cases(uow: UnitOfWork, shard_from: int, shard_to: int, *,
                                 now: datetime) -> int:
    """The daily run: a visit not yet begun whose case closed some other way is cancelled."""
    conn = uow.connection
    case_ids = list(conn.execute(
        select(visits.c.case_id).select_from(visits)
        .join(cases, cases.c.case_id == visits.c.case_id)
        .join(borrowers, borrowers.c.borrower_id == visits.c.borrower_id)
        .where(visits.c.status.in_(("proposed", "approved", "slots_offered", "booked")),
               cases.c.status != "open", borrowers.c.shard.between(shard_from, shard_to))
    ).scalars())
    return sum(len(cancel_visits_for_case(conn, c, "the case is closed", now)) for c in case_ids)


def close_visits_of_planned_cases(uow: UnitOfWork, shard_from: int, shard_to: int, *,
                                  now: datetime) -> int:
    """The daily run: a visit not yet begun whose case has an active repayment plan is
    cancelled (S13 honoured). Catches a plan activated without `cancel_visits_for_case`."""
    from fairdue.adapters.db.tables_plans import plans

    conn = uow.connection
    case_ids = list(conn.execute(
        select(visits.c.case_id).select_from(visits)
        .join(plans, plans.c.case_id == visits.c.case_id)
        .join(borrowers, borrowers.c.borrower_id == visits.c.borrower_id)
        .where(visits.c.status.in_(("proposed", "approved", "slots_offered", "booked")),
               plans.c.status == "active", borrowers.c.shard.between(shard_from, shard_to))
        .distinct()
    ).scalars())
    return sum(len(cancel_visits_for_case(conn, c, "a repayment plan is active", now))
               for c in case_ids)


def follow_visits(uow: UnitOfWork, day: date, shard_from: int, shard_to: int, *,
                  now: datetime) -> tuple[int, int, int]:
    """The daily run's part for visits, for one partition: (candidates created, visits of
    closed or planned cases cancelled, reminders queued)."""
    created = sync_candidates(uow, shard_from, shard_to, now=now)
    closed = close_visits_of_closed_cases(uow, shard_from, shard_to, now=now)
    closed += close_visits_of_planned_cases(uow, shard_from, shard_to, now=now)
    reminded = queue_reminders(uow, day, shard_from, shard_to, now=now)
    return created, closed, reminded
