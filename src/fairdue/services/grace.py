"""Grace periods (宽限期): collection contact paused for D days, penalty optionally frozen.

The pause is the `grace` contact restriction (a hold: the guard refuses every collection
contact while it is in force, CN-12/US-14), in force from the moment it is granted through
the last of the D business days. When granted with the penalty frozen, a penalty freeze over
the same days keeps the daily run and every replay from charging penalty on them
(domain/relief.py). All of it is written in one transaction and audited.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, insert, select

from fairdue.adapters.db import strategy_repo as repo
from fairdue.adapters.db.tables import borrowers, cases
from fairdue.adapters.db.tables_plans import grace_periods, penalty_freezes
from fairdue.bootstrap import App
from fairdue.domain.approvals import require_reason
from fairdue.domain.ledger import business_date
from fairdue.errors import InvalidInput, NotFound

# One transaction for the restriction and the grace: the contacts service's own writer.
from fairdue.services.contacts import _add_restriction
from fairdue.services.relief import first_unaccrued_day
from fairdue.services.unit_of_work import UnitOfWork


@dataclass(frozen=True, slots=True)
class Grace:
    grace_id: str
    borrower_id: str
    case_id: str | None
    starts_on: date
    ends_on: date
    freeze_penalty: bool
    restriction_id: str


def grant_grace(app: App, *, borrower_id: str, days: int, reason: str | None,
                freeze_penalty: bool = False, actor: str = "system",
                at: datetime | None = None) -> Grace:
    """Pause collection contact for `days` business days from now (today counts as the
    first), and freeze penalty over them when asked."""
    moment = at or app.clock.now()
    if moment.tzinfo is None:
        raise InvalidInput(f"grace time {moment.isoformat()} has no UTC offset; give one")
    limit = app.settings.grace_max_days
    if not 1 <= days <= limit:
        raise InvalidInput(f"a grace period lasts 1 to {limit} days (FAIRDUE_GRACE_MAX_DAYS), "
                           f"got {days}")
    why = require_reason(reason, "a grace period")
    with app.uow(actor) as uow:
        if uow.connection.execute(select(borrowers.c.borrower_id)
                                  .where(borrowers.c.borrower_id == borrower_id)).first() is None:
            raise NotFound(f"no borrower {borrower_id!r}; check the id (e.g. B00000001)")
        grace = grant_in(uow, app, borrower_id=borrower_id, days=days, why=why,
                         freeze_penalty=freeze_penalty, actor=actor, moment=moment)
        uow.commit()
    return grace


def grant_in(uow: UnitOfWork, app: App, *, borrower_id: str, days: int, why: str,
             freeze_penalty: bool, actor: str, moment: datetime) -> Grace:
    """The grace written in `uow` (the caller commits): with a grace request's approval, the
    two are one transaction."""
    conn = uow.connection
    starts_on = business_date(moment, app.zone)
    ends_on = starts_on + timedelta(days=days - 1)
    case_id = conn.execute(select(cases.c.case_id).where(
        cases.c.borrower_id == borrower_id, cases.c.status == "open")).scalar()
    restriction_id = _add_restriction(conn, borrower_id, "grace", None, moment, ends_on,
                                      f"grace period: {why}", actor)
    grace_id = "GRC-" + hashlib.sha256(
        f"{borrower_id}|{moment.isoformat()}|{days}".encode()).hexdigest()[:40]
    if conn.execute(select(grace_periods.c.grace_id)
                    .where(grace_periods.c.grace_id == grace_id)).first() is None:
        conn.execute(insert(grace_periods).values(
            grace_id=grace_id, borrower_id=borrower_id, case_id=case_id, starts_on=starts_on,
            ends_on=ends_on, freeze_penalty=freeze_penalty, restriction_id=restriction_id,
            reason=why, granted_by=actor, granted_at=repo.as_utc(moment)))
        frozen_from = first_unaccrued_day(conn, starts_on)
        if freeze_penalty and frozen_from <= ends_on:
            conn.execute(insert(penalty_freezes).values(
                freeze_id="FRZ-" + grace_id.removeprefix("GRC-"), borrower_id=borrower_id,
                source="grace", source_id=grace_id, starts_on=frozen_from, ends_on=ends_on))
        uow.audit("GraceGranted", case_id or borrower_id, {
            "grace_id": grace_id, "borrower_id": borrower_id, "case_id": case_id,
            "starts_on": starts_on.isoformat(), "ends_on": ends_on.isoformat(), "days": days,
            "freeze_penalty": freeze_penalty, "reason": why,
            "restriction_id": restriction_id,
        })
    return Grace(grace_id, borrower_id, case_id, starts_on, ends_on, freeze_penalty, restriction_id)


def find_graces(conn: Connection, *, borrower_id: str | None = None) -> list[dict[str, Any]]:
    query = select(grace_periods)
    if borrower_id is not None:
        query = query.where(grace_periods.c.borrower_id == borrower_id)
    return [
        {"grace_id": r.grace_id, "borrower_id": r.borrower_id, "case_id": r.case_id,
         "starts_on": r.starts_on, "ends_on": r.ends_on, "freeze_penalty": bool(r.freeze_penalty),
         "reason": r.reason, "granted_by": r.granted_by, "granted_at": repo.utc(r.granted_at)}
        for r in conn.execute(query.order_by(grace_periods.c.granted_at))
    ]
