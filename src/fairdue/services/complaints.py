"""Complaints and disputes a borrower files, and the answers the compliance officer gives.

Filing one pauses collection at once, in the same transaction (S13-S15): a complaint is a
hold on every collection contact, a dispute is the profile's own rule (`us-regf` halts
collection until it is answered; `cn` treats it as the borrower contesting the debt). The
answer closes it and, unless the officer says otherwise, lifts the pause it put in force.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from fairdue.adapters.db import strategy_repo as repo
from fairdue.adapters.db.tables import borrowers, contact_restrictions
from fairdue.adapters.db.tables_web import complaints
from fairdue.bootstrap import App
from fairdue.errors import InvalidInput, InvalidTransition, NotFound
from fairdue.services.contacts import _add_restriction

KINDS = ("complaint", "dispute")
STATUSES = ("open", "answered")
MAX_TEXT = 4000


@dataclass(frozen=True)
class Filed:
    complaint_id: str
    restriction_id: str
    case_id: str | None


def file_complaint(app: App, *, borrower_id: str, kind: str, text: str,
                   at: datetime | None = None, actor: str | None = None) -> Filed:
    """Record a complaint or dispute and pause collection contact for it."""
    if kind not in KINDS:
        raise InvalidInput(f"unknown kind {kind!r}; file a complaint or a dispute")
    body = text.strip()
    if not body:
        raise InvalidInput("say what the complaint or dispute is about (the text is empty)")
    if len(body) > MAX_TEXT:
        raise InvalidInput(f"the text is {len(body)} characters long; keep it under {MAX_TEXT}")
    moment = at or app.clock.now()
    who = actor or borrower_id
    complaint_id = "CP-" + secrets.token_hex(12)
    with app.uow(who) as uow:
        conn = uow.connection
        if conn.execute(select(borrowers.c.borrower_id)
                        .where(borrowers.c.borrower_id == borrower_id)).first() is None:
            raise NotFound(f"no borrower {borrower_id!r}")
        case_id = repo.open_case_of(conn, borrower_id)
        restriction_id = _add_restriction(conn, borrower_id, kind, None, moment, None,
                                          f"{kind} {complaint_id}", who)
        conn.execute(insert(complaints).values(
            complaint_id=complaint_id, borrower_id=borrower_id, case_id=case_id, kind=kind,
            status="open", text=body, restriction_id=restriction_id, filed_at=moment,
            answered_at=None, answered_by=None, answer=None))
        uow.audit("ComplaintFiled", borrower_id, {
            "complaint_id": complaint_id, "kind": kind, "case_id": case_id,
            "restriction_id": restriction_id})
        uow.commit()
    return Filed(complaint_id, restriction_id, case_id)


def complaint_row(r: Any) -> dict[str, Any]:
    return {
        "complaint_id": r.complaint_id, "borrower_id": r.borrower_id, "case_id": r.case_id,
        "kind": r.kind, "status": r.status, "text": r.text, "filed_at": repo.utc(r.filed_at),
        "answered_at": repo.utc(r.answered_at), "answered_by": r.answered_by, "answer": r.answer,
    }


def find_complaints(conn: Connection, *, status: str | None = None,
                    borrower_id: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
    """Complaints and disputes, newest first."""
    if status is not None and status not in STATUSES:
        raise InvalidInput(f"unknown status {status!r}; use open or answered")
    query = select(complaints)
    if status is not None:
        query = query.where(complaints.c.status == status)
    if borrower_id is not None:
        query = query.where(complaints.c.borrower_id == borrower_id)
    rows = conn.execute(query.order_by(complaints.c.filed_at.desc(),
                                       complaints.c.complaint_id).limit(limit))
    return [complaint_row(r) for r in rows]


def answer_complaint(app: App, *, complaint_id: str, answer: str, actor: str,
                     resume: bool = True) -> dict[str, Any]:
    """Answer an open complaint or dispute; `resume` lifts the pause it put in force."""
    text = answer.strip()
    if not text:
        raise InvalidInput("write the answer the borrower will read (it is empty)")
    if len(text) > MAX_TEXT:
        raise InvalidInput(f"the answer is {len(text)} characters long; keep it under {MAX_TEXT}")
    now = app.clock.now()
    with app.uow(actor) as uow:
        conn = uow.connection
        row = conn.execute(select(complaints).where(
            complaints.c.complaint_id == complaint_id).with_for_update()).first()
        if row is None:
            raise NotFound(f"no complaint {complaint_id!r}")
        if row.status != "open":
            raise InvalidTransition(f"complaint {complaint_id} was answered already")
        conn.execute(update(complaints).where(complaints.c.complaint_id == complaint_id).values(
            status="answered", answered_at=now, answered_by=actor, answer=text))
        if resume:
            conn.execute(update(contact_restrictions).where(
                contact_restrictions.c.restriction_id == row.restriction_id,
                contact_restrictions.c.lifted_at.is_(None)).values(lifted_at=repo.as_utc(now)))
        uow.audit("ComplaintAnswered", row.borrower_id, {
            "complaint_id": complaint_id, "resumed": resume})
        uow.commit()
    with app.engine.connect() as conn:
        fresh = conn.execute(select(complaints).where(
            complaints.c.complaint_id == complaint_id)).first()
    assert fresh is not None
    return complaint_row(fresh)
