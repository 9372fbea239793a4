"""Reading and writing visits, shared by the visit services: the row, the domain object,
saving a transition, an SMS queued in the outbox, events stored on a bare connection.

Kept apart so that the candidate, appointment and record services can share them without
importing each other.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from fairdue.adapters.audit import AuditEntry, append_audit_many
from fairdue.adapters.db.strategy_repo import as_utc, utc
from fairdue.adapters.db.tables import contacts, domain_events
from fairdue.adapters.db.tables_visits import visits
from fairdue.bootstrap import App
from fairdue.domain.compliance.profiles import CnParameters
from fairdue.domain.events import DomainEvent
from fairdue.domain.visits import Visit, VisitStatus
from fairdue.errors import NotFound
from fairdue.services.decide import idempotency_key
from fairdue.services.unit_of_work import event_payload

SEPARATOR = "|"


def min_collectors(app: App) -> int:
    """How many collectors a visit needs under the profile in force (cn: CN-06)."""
    parameters = app.strategy.profile.parameters
    return parameters.min_visit_collectors if isinstance(parameters, CnParameters) else 1


def load_row(conn: Connection, visit_id: str, *, lock: bool = False) -> Any:
    """The visit's row (locked for the transaction when `lock`, so two decisions on one
    visit queue); NotFound naming the command that lists visits."""
    query = select(visits).where(visits.c.visit_id == visit_id)
    row = conn.execute(query.with_for_update() if lock else query).mappings().first()
    if row is None:
        raise NotFound(f"no visit {visit_id!r}; `fairdue visit list` shows them")
    return row


def to_visit(row: Any) -> Visit:
    """The domain object the transitions run on."""
    return Visit(row["visit_id"], row["case_id"], row["grounds"], row["reason"],
                 VisitStatus(row["status"]), utc(row["slot_start"]), utc(row["slot_end"]),
                 tuple(b for b in (row["collectors"] or "").split(SEPARATOR) if b))


def save(conn: Connection, visit: Visit, now: datetime, **values: Any) -> None:
    """Write the status a domain transition chose, with the columns it changed."""
    conn.execute(update(visits).where(visits.c.visit_id == visit.visit_id)
                 .values(status=visit.status.value, updated_at=as_utc(now), **values))


def queue_message(conn: Connection, case_id: str, borrower_id: str, language: str,
                  contact_id: str, template: str, at: datetime, reason: str) -> bool:
    """Queue one SMS in the outbox, due at `at` (the dispatcher moves it into the lawful
    window); False when a message with that id is already queued."""
    exists = conn.execute(select(func.count()).where(contacts.c.contact_id == contact_id)).scalar_one()
    if exists:
        return False
    moment = as_utc(at)
    conn.execute(insert(contacts).values(
        contact_id=contact_id, case_id=case_id, borrower_id=borrower_id, decision_id=None,
        channel="sms", template=template, language=language, priority=0, scheduled_at=moment,
        status="scheduled", reason=reason, attempts=0, idempotency_key=idempotency_key(contact_id),
        created_at=moment, updated_at=moment))
    return True


def stamp(now: datetime) -> str:
    """A UTC timestamp for message ids: each offer of times is its own message."""
    return now.astimezone(UTC).strftime("%Y%m%d%H%M%S")


def store_events(conn: Connection, events: Sequence[DomainEvent], *, actor: str, at: datetime) -> None:
    """Store events and their audit entries in the caller's transaction (for work done on a
    bare connection, which has no unit of work to do it at commit)."""
    if not events:
        return
    payloads = [event_payload(e) for e in events]
    conn.execute(insert(domain_events), [
        {"name": e.name, "subject": e.subject, "occurred_on": getattr(e, "on", None),
         "recorded_at": as_utc(at), "payload": json.dumps(p, ensure_ascii=False, sort_keys=True)}
        for e, p in zip(events, payloads, strict=True)])
    append_audit_many(conn, [AuditEntry(as_utc(at), actor, e.name, e.subject, p)
                             for e, p in zip(events, payloads, strict=True)])
