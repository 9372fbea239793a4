"""Reading and saving loan ledgers and cases, in bulk where the daily run needs it."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import Connection, and_, bindparam, insert, or_, select, update

from fairdue.adapters.db.bulk import insert_dicts, update_dicts
from fairdue.adapters.db.tables import borrowers, cases, installments, loan_bucket_history, loans, payments
from fairdue.domain.cases import Case, CaseStatus
from fairdue.domain.ledger import (
    DailyRate,
    Installment,
    LoanLedger,
    PaymentFact,
    parse_allocation_order,
)
from fairdue.domain.money import Money


@dataclass(slots=True)
class StoredLoan:
    """A loan's ledger with the stored figures it is compared against when saving."""

    ledger: LoanLedger
    borrower_id: str
    shard: int
    dpd: int
    bucket: str
    amount_due_minor: int
    outstanding_minor: int
    next_unpaid_due_on: date | None
    penalties_before: dict[int, int]


_INSTALLMENT_COLUMNS = (
    installments.c.loan_id,
    installments.c.seq,
    installments.c.due_on,
    installments.c.principal_minor,
    installments.c.interest_minor,
    installments.c.fee_minor,
    installments.c.penalty_minor,
    installments.c.principal_paid_minor,
    installments.c.interest_paid_minor,
    installments.c.fee_paid_minor,
    installments.c.penalty_paid_minor,
)


def _installment(row: Sequence[object]) -> Installment:
    return Installment(*row[1:])  # type: ignore[arg-type]


def _stored(row: object, rows: list[Installment]) -> StoredLoan:
    r = row._mapping  # type: ignore[attr-defined]
    ledger = LoanLedger(
        loan_id=r["loan_id"],
        currency=r["currency"],
        penalty_rate=DailyRate(Decimal(r["penalty_daily_rate"])),
        installments=rows,
        allocation_order=parse_allocation_order(r["allocation_order"]),
        credit=r["credit_minor"],
        accrued_through=r["accrued_through"],
    )
    return StoredLoan(
        ledger=ledger,
        borrower_id=r["borrower_id"],
        shard=r["shard"],
        dpd=r["dpd"],
        bucket=r["bucket"],
        amount_due_minor=r["amount_due_minor"],
        outstanding_minor=r["outstanding_minor"],
        next_unpaid_due_on=r["next_unpaid_due_on"],
        penalties_before={inst.seq: inst.penalty for inst in rows},
    )


def load_loans(
    conn: Connection, loan_ids: Iterable[str], *, for_update: bool = False
) -> dict[str, StoredLoan]:
    """Whole ledgers (every installment) for the given loans."""
    ids = list(loan_ids)
    result: dict[str, StoredLoan] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        query = select(loans).where(loans.c.loan_id.in_(chunk))
        if for_update:
            query = query.with_for_update()
        loan_rows = conn.execute(query).all()
        by_loan: dict[str, list[Installment]] = defaultdict(list)
        for row in conn.execute(
            select(*_INSTALLMENT_COLUMNS)
            .where(installments.c.loan_id.in_(chunk))
            .order_by(installments.c.loan_id, installments.c.seq)
        ):
            by_loan[row[0]].append(_installment(row))
        for row in loan_rows:
            result[row.loan_id] = _stored(row, by_loan[row.loan_id])
    return result


def load_overdue_ledgers(
    conn: Connection, *, before: date, shard_from: int, shard_to: int
) -> dict[str, StoredLoan]:
    """Ledgers of loans with something due before `before`, holding only their unsettled
    installments due before that day: all that penalty accrual and DPD can change."""
    loan_filter = and_(
        loans.c.next_unpaid_due_on < before,
        loans.c.shard >= shard_from,
        loans.c.shard <= shard_to,
    )
    loan_rows = conn.execute(select(loans).where(loan_filter)).all()
    unsettled = or_(
        installments.c.principal_paid_minor < installments.c.principal_minor,
        installments.c.interest_paid_minor < installments.c.interest_minor,
        installments.c.fee_paid_minor < installments.c.fee_minor,
        installments.c.penalty_paid_minor < installments.c.penalty_minor,
    )
    by_loan: dict[str, list[Installment]] = defaultdict(list)
    query = (
        select(*_INSTALLMENT_COLUMNS)
        .join(loans, loans.c.loan_id == installments.c.loan_id)
        .where(loan_filter, installments.c.due_on < before, unsettled)
    )
    for row in conn.execute(query):
        by_loan[row[0]].append(_installment(row))
    return {row.loan_id: _stored(row, by_loan[row.loan_id]) for row in loan_rows}


def load_payment_facts(conn: Connection, loan_id: str) -> list[PaymentFact]:
    rows = conn.execute(
        select(payments.c.payment_id, payments.c.paid_on, payments.c.amount_minor).where(
            payments.c.loan_id == loan_id
        )
    )
    return [PaymentFact(r.payment_id, r.paid_on, r.amount_minor) for r in rows]


def save_installments(conn: Connection, stored: Iterable[StoredLoan], *, only_penalty: bool) -> None:
    """Write back installments; on the daily run only penalties change, and only those rows."""
    if only_penalty:
        rows = [
            {"k_loan": s.ledger.loan_id, "k_seq": inst.seq, "penalty_minor": inst.penalty}
            for s in stored
            for inst in s.ledger.installments
            if inst.penalty != s.penalties_before.get(inst.seq)
        ]
    else:
        rows = [
            {
                "k_loan": s.ledger.loan_id,
                "k_seq": inst.seq,
                "penalty_minor": inst.penalty,
                "principal_paid_minor": inst.principal_paid,
                "interest_paid_minor": inst.interest_paid,
                "fee_paid_minor": inst.fee_paid,
                "penalty_paid_minor": inst.penalty_paid,
            }
            for s in stored
            for inst in s.ledger.installments
        ]
    update_dicts(conn, installments, {"k_loan": "loan_id", "k_seq": "seq"}, rows)


def save_loan_states(conn: Connection, rows: list[dict[str, object]]) -> None:
    """Rows carry k_loan plus the state columns: next_unpaid_due_on, accrued_through,
    credit_minor, dpd, bucket, amount_due_minor, outstanding_minor."""
    update_dicts(conn, loans, {"k_loan": "loan_id"}, rows)


def loan_state_row(stored: StoredLoan, *, on: date, dpd: int, bucket: str) -> dict[str, object]:
    ledger = stored.ledger
    return {
        "k_loan": ledger.loan_id,
        "next_unpaid_due_on": ledger.next_unpaid_due_on,
        "accrued_through": ledger.accrued_through,
        "credit_minor": ledger.credit,
        "dpd": dpd,
        "bucket": bucket,
        "amount_due_minor": ledger.amount_due_minor(on),
        "outstanding_minor": ledger.outstanding_minor(),
    }


def add_bucket_moves(conn: Connection, moves: list[dict[str, object]]) -> None:
    insert_dicts(conn, loan_bucket_history, moves)


# ----- cases ------------------------------------------------------------------------------


def _case(row: object) -> Case:
    r = row._mapping  # type: ignore[attr-defined]
    return Case(
        case_id=r["case_id"],
        borrower_id=r["borrower_id"],
        currency=r["currency"],
        status=CaseStatus(r["status"]),
        opened_on=r["opened_on"],
        closed_on=r["closed_on"],
        dpd=r["dpd"],
        bucket=r["bucket"],
        amount_due=Money.from_minor(r["amount_due_minor"], r["currency"]),
        overdue_loans=r["overdue_loans"],
    )


def load_open_cases(conn: Connection, borrower_ids: Iterable[str]) -> dict[str, Case]:
    ids = list(borrower_ids)
    found: dict[str, Case] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        for row in conn.execute(
            select(cases).where(cases.c.borrower_id.in_(chunk), cases.c.status == "open")
        ):
            found[row.borrower_id] = _case(row)
    return found


def open_case_borrowers(conn: Connection, *, shard_from: int, shard_to: int) -> list[str]:
    """Borrowers in a shard range with an open case (they may need curing)."""
    query = (
        select(cases.c.borrower_id)
        .join(borrowers, borrowers.c.borrower_id == cases.c.borrower_id)
        .where(cases.c.status == "open", borrowers.c.shard.between(shard_from, shard_to))
    )
    return list(conn.execute(query).scalars())


def save_cases(conn: Connection, new: list[Case], changed: list[Case]) -> None:
    def values(case: Case) -> dict[str, object]:
        return {
            "status": case.status.value,
            "closed_on": case.closed_on,
            "dpd": case.dpd,
            "bucket": case.bucket,
            "amount_due_minor": case.amount_due.minor,
            "overdue_loans": case.overdue_loans,
        }

    if new:
        conn.execute(
            insert(cases),
            [
                {
                    "case_id": c.case_id,
                    "borrower_id": c.borrower_id,
                    "currency": c.currency,
                    "opened_on": c.opened_on,
                    **values(c),
                }
                for c in new
            ],
        )
    if changed:
        statement = (
            update(cases)
            .where(cases.c.case_id == bindparam("k_case"))
            .values({name: bindparam(name) for name in values(changed[0])})
        )
        conn.execute(statement, [{"k_case": c.case_id, **values(c)} for c in changed])


