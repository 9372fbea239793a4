"""Grace requests: a borrower asks (portal), or an agent asks for them; a supervisor decides.

The request waits in the supervisors' approvals with plans, waivers and visits. Approving
grants the grace period (services/grace.py) in the same transaction, so there is never an
approved request without its grace, nor a grace without the request it answers. While a
request waits, collection goes on as before: asking is not a hold (a complaint or a dispute
is; see the profile's holds).
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from fairdue.adapters.db import strategy_repo as repo
from fairdue.adapters.db.tables import borrowers, cases
from fairdue.adapters.db.tables_plans import grace_periods, grace_requests
from fairdue.bootstrap import App
from fairdue.domain.approvals import role_of
from fairdue.domain.grace_requests import GraceRequest, GraceRequestStatus
from fairdue.domain.ledger import business_date
from fairdue.errors import InvalidInput, InvalidTransition, NotFound
from fairdue.services.grace import grant_in


def request_grace(app: App, *, borrower_id: str, days: int, reason: str | None,
                  actor: str, at: datetime | None = None) -> GraceRequest:
    """Record a request for `days` days of grace; one waiting request per borrower, and only
    while something is overdue (there is nothing to pause otherwise)."""
    moment = at or app.clock.now()
    on = business_date(moment, app.zone)
    with app.uow(actor) as uow:
        conn = uow.connection
        if conn.execute(select(borrowers.c.borrower_id)
                        .where(borrowers.c.borrower_id == borrower_id)).first() is None:
            raise NotFound(f"no borrower {borrower_id!r}; check the id (e.g. B00000001)")
        case_id = conn.execute(select(cases.c.case_id).where(
            cases.c.borrower_id == borrower_id, cases.c.status == "open")).scalar()
        if case_id is None:
            raise InvalidInput("nothing is overdue, so there is no collection to pause")
        waiting = conn.execute(select(grace_requests.c.request_id, grace_requests.c.requested_at)
                               .where(grace_requests.c.borrower_id == borrower_id,
                                      grace_requests.c.status == GraceRequestStatus.REQUESTED.value)
                               ).first()
        if waiting is not None:
            raise InvalidTransition(
                f"a grace request ({waiting.request_id}) is already waiting for a supervisor's "
                "answer; it will be answered before another can be made")
        request_id = "GRQ-" + hashlib.sha256(
            f"{borrower_id}|{moment.isoformat()}|{days}".encode()).hexdigest()[:40]
        request = GraceRequest.ask(request_id=request_id, borrower_id=borrower_id,
                                   case_id=case_id, days=days,
                                   most_days=app.settings.grace_max_days, reason=reason,
                                   requested_by=actor, on=on)
        conn.execute(insert(grace_requests).values(
            request_id=request_id, borrower_id=borrower_id, case_id=case_id, days=days,
            reason=request.reason, status=request.status.value, requested_by=actor,
            requested_at=repo.as_utc(moment)))
        uow.record(request.events)
        uow.commit()
    return request


def approve_grace_request(app: App, *, request_id: str, actor: str, role: str,
                          reason: str | None = None, days: int | None = None,
                          freeze_penalty: bool = False, at: datetime | None = None) -> GraceRequest:
    """Approve and grant the grace (for `days`, at most what was asked), penalty frozen if
    the approver says so."""
    return _decide(app, request_id, actor=actor, role=role, reason=reason, at=at,
                   approve=True, days=days, freeze_penalty=freeze_penalty)


def reject_grace_request(app: App, *, request_id: str, actor: str, role: str,
                         reason: str | None, at: datetime | None = None) -> GraceRequest:
    """Reject, with the reason the borrower will read on the portal."""
    return _decide(app, request_id, actor=actor, role=role, reason=reason, at=at, approve=False)


def _decide(app: App, request_id: str, *, actor: str, role: str, reason: str | None,
            at: datetime | None, approve: bool, days: int | None = None,
            freeze_penalty: bool = False) -> GraceRequest:
    moment = at or app.clock.now()
    on = business_date(moment, app.zone)
    who = role_of(role)
    with app.uow(actor) as uow:
        conn = uow.connection
        request = _load(conn, request_id, for_update=True)
        grace_id = None
        if approve:
            request.approve(by=actor, role=who, on=on, reason=reason, days=days)
            granted = request.granted_days or request.days
            grace_id = grant_in(uow, app, borrower_id=request.borrower_id, days=granted,
                                why=request.decision_reason or request.reason,
                                freeze_penalty=freeze_penalty, actor=actor,
                                moment=moment).grace_id
        else:
            request.reject(by=actor, role=who, on=on, reason=reason)
        conn.execute(update(grace_requests).where(grace_requests.c.request_id == request_id)
                     .values(status=request.status.value, decided_by=actor,
                             decided_at=repo.as_utc(moment),
                             decision_reason=request.decision_reason, grace_id=grace_id))
        uow.record(request.events)
        uow.commit()
    return request


def withdraw_grace_request(app: App, *, request_id: str, borrower_id: str,
                           at: datetime | None = None) -> GraceRequest:
    """The borrower takes back their own waiting request."""
    moment = at or app.clock.now()
    with app.uow(borrower_id) as uow:
        conn = uow.connection
        request = _load(conn, request_id, for_update=True)
        if request.borrower_id != borrower_id:
            raise NotFound(f"no grace request {request_id!r} of yours")
        request.withdraw(by=borrower_id, on=business_date(moment, app.zone))
        conn.execute(update(grace_requests).where(grace_requests.c.request_id == request_id)
                     .values(status=request.status.value, decided_by=borrower_id,
                             decided_at=repo.as_utc(moment)))
        uow.record(request.events)
        uow.commit()
    return request


def _load(conn: Connection, request_id: str, *, for_update: bool = False) -> GraceRequest:
    query = select(grace_requests).where(grace_requests.c.request_id == request_id)
    row = conn.execute(query.with_for_update() if for_update else query).first()
    if row is None:
        raise NotFound(f"no grace request {request_id!r}; list them with GET /api/v1/grace")
    return GraceRequest(row.request_id, row.borrower_id, row.case_id, row.days, row.reason,
                        row.requested_by, GraceRequestStatus(row.status), row.decided_by,
                        row.decision_reason)


def find_grace_requests(conn: Connection, *, borrower_id: str | None = None,
                        status: str | None = None,
                        request_id: str | None = None) -> list[dict[str, Any]]:
    """Requests, oldest first, with the grace each approval granted."""
    if status is not None and status not in {s.value for s in GraceRequestStatus}:
        raise InvalidInput(f"unknown grace request status {status!r}; use one of: "
                           f"{', '.join(s.value for s in GraceRequestStatus)}")
    query = (select(grace_requests, grace_periods.c.starts_on, grace_periods.c.ends_on,
                    grace_periods.c.freeze_penalty)
             .outerjoin(grace_periods, grace_periods.c.grace_id == grace_requests.c.grace_id))
    if borrower_id is not None:
        query = query.where(grace_requests.c.borrower_id == borrower_id)
    if status is not None:
        query = query.where(grace_requests.c.status == status)
    if request_id is not None:
        query = query.where(grace_requests.c.request_id == request_id)
    return [
        {"request_id": r.request_id, "borrower_id": r.borrower_id, "case_id": r.case_id,
         "days": r.days, "reason": r.reason, "status": r.status, "requested_by": r.requested_by,
         "requested_at": repo.utc(r.requested_at), "decided_by": r.decided_by,
         "decided_at": repo.utc(r.decided_at) if r.decided_at else None,
         "decision_reason": r.decision_reason, "grace_id": r.grace_id,
         "starts_on": r.starts_on, "ends_on": r.ends_on,
         "freeze_penalty": None if r.freeze_penalty is None else bool(r.freeze_penalty)}
        for r in conn.execute(query.order_by(grace_requests.c.requested_at,
                                             grace_requests.c.request_id))
    ]


def grace_request_ids_of(conn: Connection, borrower_id: str) -> list[str]:
    """The borrower's grace requests, for the case timeline (their events' subjects)."""
    return list(conn.execute(select(grace_requests.c.request_id)
                             .where(grace_requests.c.borrower_id == borrower_id)).scalars())
