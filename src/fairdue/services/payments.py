"""Posting a payment: the ledger, the loan's bucket and the borrower's case change at once.

A paid-up borrower must not get tomorrow's reminder, so the case is cured in the same
transaction as the payment, not at the next daily run.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, insert, select

from fairdue.adapters.db.ledger_repo import (
    StoredLoan,
    add_bucket_moves,
    load_loans,
    load_payment_facts,
    loan_state_row,
    save_installments,
    save_loan_states,
)
from fairdue.adapters.db.tables import payments, promises
from fairdue.adapters.db.tables_plans import penalty_freezes, plans, waiver_credits
from fairdue.adapters.db.tables_visits import visits
from fairdue.bootstrap import App
from fairdue.domain.events import LoanBucketChanged, PaymentPosted
from fairdue.domain.ledger import PaymentFact, business_date
from fairdue.domain.money import format_minor, parse_to_minor
from fairdue.domain.relief import replay as replay_with_relief
from fairdue.errors import PaymentRejected
from fairdue.services.arrears import reconcile_cases, stored_arrears
from fairdue.services.daily_run import last_completed_date
from fairdue.services.plans import settle_after_payment as follow_plan_after_payment
from fairdue.services.promises import settle_after_payment
from fairdue.services.relief import credits_of, freezes_of
from fairdue.services.unit_of_work import UnitOfWork
from fairdue.services.visits import after_payment as visits_after_payment


@dataclass(frozen=True, slots=True)
class PaymentRequest:
    payment_id: str
    loan_id: str
    amount: str
    paid_at: datetime
    channel: str


@dataclass(frozen=True, slots=True)
class PaymentResult:
    payment_id: str
    loan_id: str
    already_posted: bool
    amount: str
    currency: str
    to_credit: str
    loan_dpd: int
    loan_amount_due: str
    case_cured: bool


def payment_row_hash(payment_id: str, loan_id: str, paid_at: datetime, amount_minor: int,
                     channel: str) -> str:
    """Fingerprint of a payment's content, to tell a harmless resend from a conflict."""
    text = "|".join(
        [payment_id, loan_id, paid_at.astimezone(UTC).isoformat(timespec="seconds"),
         str(amount_minor), channel]
    )
    return hashlib.sha256(text.encode()).hexdigest()


def books_date(conn: Connection, paid_on: date | None) -> date:
    """The business date the books stand at: the last completed daily run, or later when a
    payment is dated later. Ledger dates follow the books, never the wall clock, so that a
    back office replaying history and a live lender get the same figures."""
    last = last_completed_date(conn)
    candidates = [d for d in (last, paid_on) if d is not None]
    return max(candidates) if candidates else date.min


def _existing(conn: Connection, payment_id: str) -> str | None:
    return conn.execute(
        select(payments.c.row_hash).where(payments.c.payment_id == payment_id)
    ).scalar()


def post_payment(app: App, request: PaymentRequest, *, actor: str = "system") -> PaymentResult:
    with app.uow(actor) as uow:
        result = post_payment_in(uow, app, request)
        uow.commit()
    return result


def post_payment_in(uow: UnitOfWork, app: App, request: PaymentRequest) -> PaymentResult:
    """Post inside an open unit of work (the importer posts many in one transaction)."""
    conn = uow.connection
    if request.paid_at.tzinfo is None:
        raise PaymentRejected(
            f"payment {request.payment_id}: paid_at {request.paid_at.isoformat()} needs a UTC offset"
        )
    stored = load_loans(conn, [request.loan_id], for_update=True).get(request.loan_id)
    if stored is None:
        raise PaymentRejected(f"payment {request.payment_id}: no loan {request.loan_id!r} is known")
    currency = stored.ledger.currency
    amount_minor = parse_to_minor(request.amount, currency, what=f"payment {request.payment_id} amount")
    if amount_minor <= 0:
        raise PaymentRejected(
            f"payment {request.payment_id}: amount must be positive, got {request.amount}"
        )
    fingerprint = payment_row_hash(
        request.payment_id, request.loan_id, request.paid_at, amount_minor, request.channel
    )
    previous = _existing(conn, request.payment_id)
    if previous is not None:
        if previous != fingerprint:
            raise PaymentRejected(
                f"payment {request.payment_id} was already posted with different content; "
                "payment ids must not be reused"
            )
        return _result(request, stored, already=True, to_credit=0, on=books_date(conn, None),
                       cured=False, amount_minor=amount_minor)
    if request.paid_at > app.clock.now() + timedelta(minutes=5):
        raise PaymentRejected(
            f"payment {request.payment_id}: paid_at {request.paid_at.isoformat()} is in the future"
        )
    paid_on = business_date(request.paid_at, app.zone)
    conn.execute(
        insert(payments).values(
            payment_id=request.payment_id, loan_id=request.loan_id, paid_at=request.paid_at,
            paid_on=paid_on, amount_minor=amount_minor, currency=currency,
            channel=request.channel, row_hash=fingerprint,
        )
    )
    return apply_payments(uow, app, stored, [request.payment_id], today=books_date(conn, paid_on))


@dataclass(frozen=True, slots=True)
class Followups:
    """Which of a batch's borrowers (and loans) have anything beyond the ledger that a
    payment must follow up: a pending promise, an active plan, an open visit, a penalty
    freeze, a waiver credit. Most have none; a bulk import reads these five sets once for
    its batch instead of asking five questions per payment. Nothing an import does can add
    a borrower to them, so they hold for the whole batch."""

    promises: frozenset[str]
    plans: frozenset[str]
    visits: frozenset[str]
    freezes: frozenset[str]
    credited_loans: frozenset[str]


_OPEN_VISITS = ("proposed", "approved", "slots_offered", "booked")
_CHUNK = 900


def followups_of(conn: Connection, borrower_ids: list[str], loan_ids: list[str]) -> Followups:
    def having(column: Any, ids: list[str], *where: Any) -> frozenset[str]:
        found: set[str] = set()
        for start in range(0, len(ids), _CHUNK):
            found.update(conn.execute(select(column).distinct().where(
                column.in_(ids[start:start + _CHUNK]), *where)).scalars())
        return frozenset(found)

    return Followups(
        promises=having(promises.c.borrower_id, borrower_ids, promises.c.status == "pending"),
        plans=having(plans.c.borrower_id, borrower_ids, plans.c.status == "active"),
        visits=having(visits.c.borrower_id, borrower_ids, visits.c.status.in_(_OPEN_VISITS)),
        freezes=having(penalty_freezes.c.borrower_id, borrower_ids),
        credited_loans=having(waiver_credits.c.loan_id, loan_ids),
    )


def apply_payments(uow: UnitOfWork, app: App, stored: StoredLoan, new_payment_ids: list[str], *,
                   today: date, followups: Followups | None = None) -> PaymentResult:
    """Replay a loan with its (already inserted) payments and reconcile its borrower's case.

    `followups`: what a batch read once (`followups_of`); None reads it for this loan."""
    conn = uow.connection
    ledger = stored.ledger
    borrower_id = stored.borrower_id
    facts = load_payment_facts(conn, ledger.loan_id)
    through = ledger.accrued_through
    # With the loan's relief (waiver credits, penalty freezes), so neither is undone.
    credits = (credits_of(conn, ledger.loan_id)
               if followups is None or ledger.loan_id in followups.credited_loans else [])
    freezes = (freezes_of(conn, [borrower_id]).get(borrower_id, [])
               if followups is None or borrower_id in followups.freezes else [])
    allocations = replay_with_relief(ledger, facts, credits, freezes, through=through)
    by_id = {a.payment_id: a for a in allocations}
    by_fact = {f.payment_id: f for f in facts}
    to_credit = 0
    for payment_id in new_payment_ids:
        allocation = by_id[payment_id]
        to_credit += allocation.to_credit
        fact: PaymentFact = by_fact[payment_id]
        uow.record([
            PaymentPosted(
                payment_id, ledger.loan_id, stored.borrower_id, fact.paid_on.isoformat(),
                format_minor(fact.amount_minor, ledger.currency), ledger.currency,
                format_minor(allocation.to_credit, ledger.currency),
            )
        ])
    dpd = store_replayed_loan(uow, app, stored, today)
    changes = reconcile_cases(
        uow,
        stored_arrears(conn, [stored.borrower_id], today),
        on=today,
        grace_days=app.settings.grace_days,
        buckets=app.buckets,
        cure_reason="paid: " + ", ".join(new_payment_ids),
    )
    if followups is None or borrower_id in followups.promises:
        settle_after_payment(uow, app.settings, borrower_id, today)
    if followups is None or borrower_id in followups.visits:
        # A payment that clears the case or removes a visit's reason calls the visit off.
        visits_after_payment(uow.connection, app, borrower_id, app.clock.now())
    if followups is None or borrower_id in followups.plans:
        follow_plan_after_payment(uow, app.settings, borrower_id, today)
    last = new_payment_ids[-1]
    return PaymentResult(
        payment_id=last,
        loan_id=ledger.loan_id,
        already_posted=False,
        amount=format_minor(by_fact[last].amount_minor, ledger.currency),
        currency=ledger.currency,
        to_credit=format_minor(to_credit, ledger.currency),
        loan_dpd=dpd,
        loan_amount_due=format_minor(ledger.amount_due_minor(today), ledger.currency),
        case_cured=changes.cured > 0,
    )


def store_replayed_loan(uow: UnitOfWork, app: App, stored: StoredLoan, today: date) -> int:
    """Write a loan its ledger was just replayed for (a payment, a waiver): its installments,
    its state, and the move between buckets if it made one. Returns its DPD on `today`."""
    conn, ledger = uow.connection, stored.ledger
    dpd = ledger.dpd(today)
    bucket = app.buckets.bucket_for(dpd)
    if bucket != stored.bucket:
        add_bucket_moves(conn, [{"loan_id": ledger.loan_id, "moved_on": today,
                                 "from_bucket": stored.bucket, "to_bucket": bucket, "dpd": dpd}])
        uow.record([LoanBucketChanged(ledger.loan_id, today, stored.bucket, bucket, dpd)])
    save_installments(conn, [stored], only_penalty=False)
    save_loan_states(conn, [loan_state_row(stored, on=today, dpd=dpd, bucket=bucket)])
    return dpd


def _result(request: PaymentRequest, stored: StoredLoan, *, already: bool, to_credit: int,
            on: date, cured: bool, amount_minor: int) -> PaymentResult:
    ledger = stored.ledger
    return PaymentResult(
        payment_id=request.payment_id,
        loan_id=ledger.loan_id,
        already_posted=already,
        amount=format_minor(amount_minor, ledger.currency),
        currency=ledger.currency,
        to_credit=format_minor(to_credit, ledger.currency),
        loan_dpd=ledger.dpd(on),
        loan_amount_due=format_minor(ledger.amount_due_minor(on), ledger.currency),
        case_cured=cured,
    )
