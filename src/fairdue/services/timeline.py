"""A case's timeline: everything that happened to it, in the order it happened.

An agent opening a case, a supervisor approving a visit and a compliance officer answering
a complaint all need the same story: when the case opened and moved between buckets, every
decision the policy made and why, each contact planned, sent, delivered or refused (with
the rule), each attempt and its outcome, each payment and restriction. It is read from the
records themselves, never kept twice, and personal data stays out of it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import Connection, or_, select

from fairdue.adapters.db.strategy_repo import utc
from fairdue.adapters.db.tables import (
    cases,
    contact_attempts,
    contact_restrictions,
    contacts,
    decisions,
    domain_events,
    loans,
    payments,
)
from fairdue.domain.money import format_minor
from fairdue.errors import NotFound
from fairdue.services.grace import find_graces
from fairdue.services.grace_requests import grace_request_ids_of
from fairdue.services.plans import plan_ids_of
from fairdue.services.waivers import waiver_ids_of


@dataclass(frozen=True)
class Entry:
    at: datetime
    kind: str
    summary: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Timeline:
    case_id: str
    borrower_id: str
    status: str
    entries: list[Entry]


def _moment(value: datetime | date | None) -> datetime | None:
    if isinstance(value, datetime):
        return utc(value)
    if isinstance(value, date):
        return datetime.combine(value, time(0), tzinfo=UTC)
    return None


def case_timeline(conn: Connection, case_id: str) -> Timeline:
    """The case's story from its opening to today (or its cure), oldest first."""
    case = conn.execute(select(cases).where(cases.c.case_id == case_id)).mappings().first()
    if case is None:
        raise NotFound(f"no case {case_id!r}; case ids look like C-B00000001-20260701")
    borrower = case["borrower_id"]
    since = _moment(case["opened_on"])
    assert since is not None
    until = _moment(case["closed_on"])
    loan_ids = list(conn.execute(select(loans.c.loan_id).where(loans.c.borrower_id == borrower))
                    .scalars())
    # Plans, waivers and grace requests tell their story in their own events (proposed,
    # approved, missed...).
    relief_ids = (plan_ids_of(conn, borrower) + waiver_ids_of(conn, borrower)
                  + grace_request_ids_of(conn, borrower))
    entries: list[Entry] = []
    for event in conn.execute(
        select(domain_events).where(or_(domain_events.c.subject == case_id,
                                        domain_events.c.subject.in_(loan_ids),
                                        domain_events.c.subject.in_(relief_ids)))
        .order_by(domain_events.c.event_id)
    ).mappings():
        at = _moment(event["occurred_on"]) or _moment(event["recorded_at"])
        if at is None or at < since or (until is not None and at > until):
            continue
        entries.append(Entry(at, "event", f"{event['name']} {event['subject']}",
                             json.loads(event["payload"])))
    for row in conn.execute(select(decisions).where(decisions.c.case_id == case_id)).mappings():
        actions = json.loads(row["actions"])
        said = ", ".join(f"{a['kind']} ({a.get('status', 'decided')})" for a in actions) or "nothing"
        entries.append(Entry(utc(row["decided_at"]) or since, "decision",
                             f"{row['business_date']}: step {row['step'] or '-'} -> {said}",
                             {"policy_version": row["policy_version"], "variant": row["variant"],
                              "facts": json.loads(row["facts"])}))
    for row in conn.execute(select(contacts).where(contacts.c.case_id == case_id)).mappings():
        at = utc(row["sent_at"]) or utc(row["scheduled_at"]) or utc(row["created_at"]) or since
        why = f" by {row['blocked_by']}: {row['blocked_reason']}" if row["blocked_by"] else ""
        if row["last_error"] and not why:
            why = f": {row['last_error']}"
        entries.append(Entry(at, "contact",
                             f"{row['channel']} {row['template'] or ''} {row['status']}{why}".strip(),
                             {"contact_id": row["contact_id"], "attempts": row["attempts"],
                              "delivered_at": _iso(utc(row["delivered_at"]))}))
    for row in conn.execute(
        select(contact_attempts).where(contact_attempts.c.borrower_id == borrower,
                                       contact_attempts.c.at >= since)
    ).mappings():
        broke = f", broke {row['violated']}" if row["violated"] else ""
        code = f" ({row['disposition']})" if row["disposition"] else ""
        entries.append(Entry(utc(row["at"]) or since, "attempt",
                             f"{row['channel']} to {row['party']}: {row['outcome']}{code}{broke}",
                             {"attempt_id": row["attempt_id"], "by": row["recorded_by"],
                              "note": row["note"]}))
    for row in conn.execute(
        select(payments).where(payments.c.loan_id.in_(loan_ids), payments.c.paid_on >= case["opened_on"])
    ).mappings():
        entries.append(Entry(utc(row["paid_at"]) or since, "payment",
                             f"{format_minor(row['amount_minor'], row['currency'])} "
                             f"{row['currency']} on {row['loan_id']} by {row['channel']}",
                             {"payment_id": row["payment_id"]}))
    for row in conn.execute(
        select(contact_restrictions).where(contact_restrictions.c.borrower_id == borrower)
    ).mappings():
        started = utc(row["started_at"]) or since
        scope = f" on {row['channel']}" if row["channel"] else ""
        entries.append(Entry(started, "restriction", f"{row['kind']}{scope} in force",
                             {"note": row["note"], "until": _iso(row["until_on"])}))
        lifted = utc(row["lifted_at"])
        if lifted is not None:
            entries.append(Entry(lifted, "restriction", f"{row['kind']}{scope} lifted"))
    for grace in find_graces(conn, borrower_id=borrower):
        frozen = ", penalty frozen" if grace["freeze_penalty"] else ""
        entries.append(Entry(grace["granted_at"] or since, "grace",
                             f"grace {grace['starts_on']} to {grace['ends_on']}{frozen} "
                             f"by {grace['granted_by']}",
                             {"grace_id": grace["grace_id"], "reason": grace["reason"]}))
    entries.extend(visit_entries(conn, case_id, since))
    entries.sort(key=lambda e: (e.at, e.kind))
    return Timeline(case_id, borrower, case["status"], entries)


def visit_entries(conn: Connection, case_id: str, since: datetime) -> list[Entry]:
    """The case's field visits: proposed, decided, booked, visited or cancelled (no place)."""
    from fairdue.adapters.db.tables_visits import visit_records, visits

    out: list[Entry] = []
    for row in conn.execute(
        select(visits, visit_records.c.checked_in_at, visit_records.c.solution,
               visit_records.c.follow_up_on, visit_records.c.check_in_flagged)
        .select_from(visits.outerjoin(visit_records, visit_records.c.visit_id == visits.c.visit_id))
        .where(visits.c.case_id == case_id)
    ).mappings():
        detail = {"visit_id": row["visit_id"], "grounds": row["grounds"], "reason": row["reason"],
                  "decided_by": row["decided_by"], "decision_note": row["decision_note"],
                  "collectors": row["collectors"], "slot_start": _iso(utc(row["slot_start"])),
                  "solution": row["solution"], "follow_up_on": _iso(row["follow_up_on"]),
                  "check_in_flagged": row["check_in_flagged"],
                  "cancelled_reason": row["cancelled_reason"]}
        out.append(Entry(utc(row["created_at"]) or since, "visit",
                         f"visit {row['visit_id']} proposed ({row['grounds']}): {row['status']}",
                         detail))
        if row["slot_start"] is not None:
            out.append(Entry(utc(row["slot_start"]) or since, "visit",
                             f"visit {row['visit_id']} appointment with {row['collectors']}"))
        if row["checked_in_at"] is not None:
            out.append(Entry(utc(row["checked_in_at"]) or since, "visit",
                             f"visit {row['visit_id']} made: {row['solution'] or 'record open'}"
                             + (f", follow-up {row['follow_up_on']}" if row["follow_up_on"] else "")))
    return out


def _iso(value: datetime | date | None) -> str | None:
    return value.isoformat() if value is not None else None
