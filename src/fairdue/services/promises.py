"""Promises to pay: taking one, and deciding it kept or broken from the payments that follow.

A promise is decided at once when a payment is posted (`settle_after_payment`, called by
`services.payments.apply_payments` for live and imported payments alike), and by the daily
run for the promises whose window has passed (`settle_promises`, one partition at a time,
set-based). Each outcome adds to the borrower's `promises_kept` / `promises_broken`, the
facts the policy escalates on (S7), in the same transaction.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, bindparam, insert, select, update

from fairdue.adapters.db import strategy_repo as repo
from fairdue.adapters.db.tables import borrowers, cases, contact_attempts, loans, payments, promises
from fairdue.bootstrap import App
from fairdue.domain.contact_outcomes import ContactStanding
from fairdue.domain.ledger import business_date
from fairdue.domain.money import Money, format_minor, parse_to_minor
from fairdue.domain.promises import (
    PaymentSeen,
    Promise,
    PromiseBroken,
    PromiseKept,
    PromiseStatus,
    PromiseTolerance,
)
from fairdue.errors import InvalidInput, NotFound
from fairdue.services.unit_of_work import UnitOfWork
from fairdue.settings import Settings

#: Borrower ids per IN list, as the strategy's reads do.
_CHUNK = 2000


@lru_cache(maxsize=64)
def _tolerance(days: int, amount: str, currency: str) -> PromiseTolerance:
    return PromiseTolerance(days, parse_to_minor(amount, currency, what="FAIRDUE_PROMISE_TOLERANCE_AMOUNT"))


def tolerance_for(settings: Settings, currency: str) -> PromiseTolerance:
    """The configured tolerances, the amount in `currency`'s minor units."""
    return _tolerance(settings.promise_tolerance_days, settings.promise_tolerance_amount, currency)


def make_promise(app: App, *, borrower_id: str, amount: str, due_on: date,
                 attempt_id: str | None = None, actor: str = "system",
                 made_at: datetime | None = None) -> Promise:
    """Take a promise to pay for the borrower's open case; refused without one."""
    moment = made_at or app.clock.now()
    with app.uow(actor) as uow:
        conn = uow.connection
        if conn.execute(select(borrowers.c.borrower_id)
                        .where(borrowers.c.borrower_id == borrower_id)).first() is None:
            raise NotFound(f"no borrower {borrower_id!r}; check the id (e.g. B00000001)")
        case = conn.execute(
            select(cases.c.case_id, cases.c.currency)
            .where(cases.c.borrower_id == borrower_id, cases.c.status == "open")
        ).first()
        if case is None:
            raise InvalidInput(
                f"borrower {borrower_id} has no open case; a promise to pay is taken for an "
                "open case (nothing is overdue, or it was paid)"
            )
        if attempt_id is not None:
            owner = conn.execute(select(contact_attempts.c.borrower_id)
                                 .where(contact_attempts.c.attempt_id == attempt_id)).scalar()
            if owner is None:
                raise NotFound(f"no contact attempt {attempt_id!r}; give the id "
                               "`fairdue contact record` printed")
            if owner != borrower_id:
                raise InvalidInput(f"contact attempt {attempt_id} was with another borrower, "
                                   f"not {borrower_id}")
        minor = parse_to_minor(amount, case.currency, what="promise amount")
        promise, made = Promise.make(
            case_id=case.case_id, borrower_id=borrower_id,
            amount=Money.from_minor(minor, case.currency), due_on=due_on, made_at=moment,
            made_on=business_date(moment, app.zone), made_by=actor, attempt_id=attempt_id,
            max_days=app.settings.promise_max_days,
        )
        if conn.execute(select(promises.c.promise_id)
                        .where(promises.c.promise_id == promise.promise_id)).first() is not None:
            return promise  # the same promise recorded twice is one promise
        conn.execute(insert(promises).values(
            promise_id=promise.promise_id, case_id=promise.case_id, borrower_id=borrower_id,
            amount_minor=minor, currency=case.currency, due_on=due_on,
            made_at=repo.as_utc(moment), made_by=actor, attempt_id=attempt_id,
            status=promise.status.value, settled_on=None, paid_minor=0,
        ))
        uow.record([made])
        uow.commit()
    return promise


def find_promises(conn: Connection, *, borrower_id: str | None = None,
                  status: str | None = None) -> list[dict[str, Any]]:
    """Promises as an operator or another program sees them, oldest first."""
    if status is not None and status not in {s.value for s in PromiseStatus}:
        raise InvalidInput(f"unknown promise status {status!r}; use one of: "
                           + ", ".join(s.value for s in PromiseStatus))
    query = select(promises)
    if borrower_id is not None:
        query = query.where(promises.c.borrower_id == borrower_id)
    if status is not None:
        query = query.where(promises.c.status == status)
    return [promise_row(r) for r in conn.execute(
        query.order_by(promises.c.made_at, promises.c.promise_id))]


def promise_row(r: Any) -> dict[str, Any]:
    return {
        "promise_id": r.promise_id, "case_id": r.case_id, "borrower_id": r.borrower_id,
        "amount": format_minor(r.amount_minor, r.currency), "currency": r.currency,
        "due_on": r.due_on, "made_at": repo.utc(r.made_at), "made_by": r.made_by,
        "attempt_id": r.attempt_id, "status": r.status, "settled_on": r.settled_on,
        "paid": format_minor(r.paid_minor, r.currency),
    }


def _promise(r: Any, zone: ZoneInfo) -> Promise:
    made_at = repo.utc(r.made_at)
    assert made_at is not None
    return Promise(
        r.promise_id, r.case_id, r.borrower_id, Money.from_minor(r.amount_minor, r.currency),
        r.due_on, made_at, made_at.astimezone(zone).date(), r.made_by, r.attempt_id,
        PromiseStatus(r.status), r.settled_on, r.paid_minor,
    )


def _payments_of(conn: Connection, borrower_ids: Sequence[str], since: datetime
                 ) -> dict[str, list[PaymentSeen]]:
    """Payments on these borrowers' loans made at or after `since`."""
    found: dict[str, list[PaymentSeen]] = defaultdict(list)
    for start in range(0, len(borrower_ids), _CHUNK):
        chunk = list(borrower_ids[start:start + _CHUNK])
        rows = conn.execute(
            select(loans.c.borrower_id, payments.c.paid_at, payments.c.paid_on,
                   payments.c.amount_minor, payments.c.currency)
            .select_from(payments)
            .join(loans, loans.c.loan_id == payments.c.loan_id)
            .where(loans.c.borrower_id.in_(chunk), payments.c.paid_at >= repo.as_utc(since))
        )
        for borrower_id, paid_at, paid_on, amount_minor, currency in rows:
            found[borrower_id].append(
                PaymentSeen(repo.utc(paid_at) or since, paid_on, amount_minor, currency))
    return found


def _settle(uow: UnitOfWork, settings: Settings, pending: list[Promise], today: date) -> int:
    """Assess pending promises against their borrowers' payments; store what was decided."""
    if not pending:
        return 0
    conn = uow.connection
    seen = _payments_of(conn, sorted({p.borrower_id for p in pending}),
                        min(p.made_at for p in pending))
    events: list[PromiseKept | PromiseBroken] = []
    decided: list[Promise] = []
    for promise in pending:
        outcome = promise.assess(seen.get(promise.borrower_id, ()), today,
                                 tolerance_for(settings, promise.amount.currency))
        if outcome is not None:
            events.append(outcome)
            decided.append(promise)
    if not decided:
        return 0
    conn.execute(
        update(promises)
        .where(promises.c.promise_id == bindparam("p_id"), promises.c.status == "pending")
        .values(status=bindparam("p_status"), settled_on=bindparam("p_on"),
                paid_minor=bindparam("p_paid")),
        [{"p_id": p.promise_id, "p_status": p.status.value, "p_on": p.settled_on,
          "p_paid": p.paid_minor} for p in decided],
    )
    standings = repo.standings_of(conn, sorted({p.borrower_id for p in decided}))
    touched: dict[str, ContactStanding] = {}
    for event in events:
        standing = touched.get(event.borrower_id) or standings.get(event.borrower_id)
        if standing is None:
            standing = ContactStanding()
        if isinstance(event, PromiseKept):
            standing.promises_kept += 1
        else:
            standing.promises_broken += 1
        touched[event.borrower_id] = standing
    for borrower_id, standing in touched.items():
        repo.save_standing(conn, borrower_id, standing)
    uow.record(events)
    return len(decided)


def settle_after_payment(uow: UnitOfWork, settings: Settings, borrower_id: str, today: date) -> int:
    """A payment was posted for the borrower: decide their pending promises at once."""
    rows = uow.connection.execute(
        select(promises).where(promises.c.borrower_id == borrower_id,
                               promises.c.status == "pending")
    ).all()
    return _settle(uow, settings, [_promise(r, settings.zone) for r in rows], today)


def settle_promises(uow: UnitOfWork, day: date, shard_from: int, shard_to: int, *,
                    settings: Settings) -> int:
    """The daily run for business date `day`: the partition's pending promises whose window
    (due date + tolerance days) ended before `day` are decided, kept or broken. Returns how
    many were decided."""
    query = (
        select(promises)
        .select_from(promises)
        .join(borrowers, borrowers.c.borrower_id == promises.c.borrower_id)
        .where(promises.c.status == "pending",
               promises.c.due_on < day - timedelta(days=settings.promise_tolerance_days),
               borrowers.c.shard.between(shard_from, shard_to))
        .order_by(promises.c.promise_id)
    )
    rows = uow.connection.execute(query).all()
    return _settle(uow, settings, [_promise(r, settings.zone) for r in rows], day)
