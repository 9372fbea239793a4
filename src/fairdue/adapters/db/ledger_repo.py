"""Reading and saving loan ledgers and cases, in bulk where the daily run needs it."""

from __future__ import annotations

import operator
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, bindparam, select

from fairdue.adapters.db.bulk import bulk_insert, bulk_update, insert_dicts, update_dicts
from fairdue.adapters.db.tables import cases, installments, loan_bucket_history, loans, payments
from fairdue.domain.cases import Case, CaseStatus
from fairdue.domain.ledger import (
    Component,
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


def fetch(conn: Connection, sql: str, params: Sequence[object] = ()) -> list[Any]:
    """All rows of a query written with `?` marks, as the driver's own tuples, in the
    connection's transaction: no Row objects for the hundred thousand rows of a run.

    Values come back as the driver gives them: on SQLite dates and times are ISO text and
    booleans 0/1 (the caller converts what it reads), on PostgreSQL Python objects."""
    if conn.dialect.name != "sqlite":
        sql = sql.replace("?", "%s")
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql, tuple(params))
        return list(cursor.fetchall())
    finally:
        cursor.close()



class Dates:
    """Dates as the driver returns them (ISO text on SQLite), read once per distinct text."""

    def __init__(self) -> None:
        self._seen: dict[object, date | None] = {None: None}

    def __call__(self, value: object) -> date | None:
        try:
            return self._seen[value]
        except KeyError:
            parsed = value if isinstance(value, date) else date.fromisoformat(str(value))
            self._seen[value] = parsed
            return parsed


# The loan's stored state and the unsettled installments due before the run date, in one
# range scan of ix_loans_due_shard joined to each loan's installments by primary key.
_OVERDUE_SQL = """
SELECT l.loan_id, l.borrower_id, l.shard, l.currency, l.penalty_daily_rate,
       l.allocation_order, l.credit_minor, l.accrued_through, l.dpd, l.bucket,
       l.amount_due_minor, l.outstanding_minor, l.next_unpaid_due_on,
       i.seq, i.due_on, i.principal_minor, i.interest_minor, i.fee_minor, i.penalty_minor,
       i.principal_paid_minor, i.interest_paid_minor, i.fee_paid_minor, i.penalty_paid_minor
FROM loans l JOIN installments i ON i.loan_id = l.loan_id
WHERE l.next_unpaid_due_on < ? AND l.shard >= ? AND l.shard <= ? AND i.due_on < ?
  AND (i.principal_paid_minor < i.principal_minor OR i.interest_paid_minor < i.interest_minor
       OR i.fee_paid_minor < i.fee_minor OR i.penalty_paid_minor < i.penalty_minor)
"""


def load_overdue_ledgers(
    conn: Connection, *, before: date, shard_from: int, shard_to: int
) -> dict[str, StoredLoan]:
    """Ledgers of loans with something due before `before`, holding only their unsettled
    installments due before that day: all that penalty accrual and DPD can change.

    A loan whose oldest unpaid installment is due before `before` has at least that one
    installment here, so the inner join loses no loan."""
    dates = Dates()
    rates: dict[str, DailyRate] = {}
    orders: dict[str, tuple[Component, ...]] = {}
    found: dict[str, tuple[tuple[Any, ...], list[Installment]]] = {}
    day = before.isoformat() if conn.dialect.name == "sqlite" else before
    for row in fetch(conn, _OVERDUE_SQL, (day, shard_from, shard_to, day)):
        inst = Installment(row[13], dates(row[14]), *row[15:23])  # type: ignore[arg-type]
        entry = found.get(row[0])
        if entry is None:
            found[row[0]] = (row, [inst])
        else:
            entry[1].append(inst)
    result: dict[str, StoredLoan] = {}
    for loan_id, (r, rows_) in found.items():
        rate = rates.get(r[4])
        if rate is None:
            rate = rates[r[4]] = DailyRate(Decimal(r[4]))
        order = orders.get(r[5])
        if order is None:
            order = orders[r[5]] = parse_allocation_order(r[5])
        ledger = LoanLedger(
            loan_id=loan_id,
            currency=r[3],
            penalty_rate=rate,
            installments=rows_,
            allocation_order=order,
            credit=r[6],
            accrued_through=dates(r[7]),
        )
        result[loan_id] = StoredLoan(
            ledger=ledger,
            borrower_id=r[1],
            shard=r[2],
            dpd=r[8],
            bucket=r[9],
            amount_due_minor=r[10],
            outstanding_minor=r[11],
            next_unpaid_due_on=dates(r[12]),
            penalties_before={inst.seq: inst.penalty for inst in rows_},
        )
    return result


# Made once: a payment replays its loan through this, one loan at a time, and building a
# statement and its cache key cost more than SQLite's answer.
_PAYMENT_FACTS = select(payments.c.payment_id, payments.c.paid_on, payments.c.amount_minor).where(
    payments.c.loan_id == bindparam("loan_id"))


def load_payment_facts(conn: Connection, loan_id: str) -> list[PaymentFact]:
    rows = conn.execute(_PAYMENT_FACTS, {"loan_id": loan_id})
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


_MOVE_COLUMNS = ("loan_id", "moved_on", "from_bucket", "to_bucket", "dpd")
_AGED_COLUMNS = ("accrued_through", "dpd", "bucket", "amount_due_minor", "outstanding_minor")


def add_bucket_rows(conn: Connection, moves: Sequence[Sequence[object]]) -> None:
    """Bucket moves as (loan_id, moved_on, from_bucket, to_bucket, dpd) tuples."""
    bulk_insert(conn, loan_bucket_history, _MOVE_COLUMNS, moves)


def save_penalties(conn: Connection, rows: Sequence[tuple[int, str, int]]) -> None:
    """The daily run's only change to installments: (penalty_minor, loan_id, seq) tuples."""
    bulk_update(conn, installments, ("loan_id", "seq"), ("penalty_minor",), rows)


def save_aged_loans(conn: Connection, rows: Sequence[Sequence[object]]) -> None:
    """The daily run's change to loans: (accrued_through, dpd, bucket, amount_due_minor,
    outstanding_minor, loan_id) tuples; the other state columns cannot change with time."""
    bulk_update(conn, loans, ("loan_id",), _AGED_COLUMNS, rows)


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


#: Made once, like `_PAYMENT_FACTS`: a payment reconciles its borrower's case through this.
_OPEN_CASES_OF = select(cases).where(cases.c.borrower_id.in_(bindparam("ids", expanding=True)),
                                     cases.c.status == "open")


def load_open_cases(conn: Connection, borrower_ids: Iterable[str]) -> dict[str, Case]:
    ids = list(borrower_ids)
    found: dict[str, Case] = {}
    for start in range(0, len(ids), 500):
        for row in conn.execute(_OPEN_CASES_OF, {"ids": ids[start : start + 500]}):
            found[row.borrower_id] = _case(row)
    return found


def partition_join(conn: Connection) -> str:
    """How a partition's queries join their borrowers (a range of ix_borrowers_shard) to
    the rows they want: on SQLite `CROSS JOIN`, which keeps the borrowers as the outer loop
    (without statistics its planner would rather walk every open case by status and look
    each borrower up); PostgreSQL plans a plain join well."""
    return "CROSS JOIN" if conn.dialect.name == "sqlite" else "JOIN"


# A partition's open cases: its borrowers by the covering shard index, each joined to its
# open case by the partial unique index on open cases.
_PARTITION_OPEN_CASES_SQL = """
SELECT c.case_id, c.borrower_id, c.currency, c.opened_on, c.closed_on, c.dpd, c.bucket,
       c.amount_due_minor, c.overdue_loans
FROM borrowers b {join} cases c ON c.borrower_id = b.borrower_id
WHERE b.shard >= ? AND b.shard <= ? AND c.status = 'open'
"""


def load_partition_open_cases(conn: Connection, *, shard_from: int, shard_to: int
                              ) -> dict[str, Case]:
    """The open cases of the borrowers in a shard range (they may need curing), by borrower,
    in borrower order."""
    dates = Dates()
    rows = fetch(conn, _PARTITION_OPEN_CASES_SQL.format(join=partition_join(conn)),
                 (shard_from, shard_to))
    rows.sort(key=_second)
    return {
        r[1]: Case(
            case_id=r[0],
            borrower_id=r[1],
            currency=r[2],
            status=CaseStatus.OPEN,
            opened_on=dates(r[3]),  # type: ignore[arg-type]
            closed_on=dates(r[4]),
            dpd=r[5],
            bucket=r[6],
            amount_due=Money.from_minor(r[7], r[2]),
            overdue_loans=r[8],
        )
        for r in rows
    }


_second = operator.itemgetter(1)


_CASE_STATE = ("status", "closed_on", "dpd", "bucket", "amount_due_minor", "overdue_loans")


_CASE_FIGURES = ("dpd", "amount_due_minor", "overdue_loans")


@dataclass
class CaseRows:
    """Cases as the rows `save_case_rows` writes: whole new cases, the whole state of changed
    ones, and only the figures (DPD, amount due, loans) of followed ones: open cases whose
    status and bucket stayed as they were, which on an ordinary day is nearly every case.
    Plain tuples, so that a helper process of the daily run hands them over cheaply."""

    new: list[tuple[object, ...]] = field(default_factory=list)
    changed: list[tuple[object, ...]] = field(default_factory=list)
    followed: list[tuple[object, ...]] = field(default_factory=list)


def case_rows(new: Sequence[Case], changed: Sequence[Case], followed: Sequence[Case] = ()
              ) -> CaseRows:
    def values(case: Case) -> tuple[object, ...]:
        return (case.status.value, case.closed_on, case.dpd, case.bucket, case.amount_due.minor,
                case.overdue_loans)

    return CaseRows(
        [(c.case_id, c.borrower_id, c.currency, c.opened_on, *values(c)) for c in new],
        [(*values(c), c.case_id) for c in changed],
        [(c.dpd, c.amount_due.minor, c.overdue_loans, c.case_id) for c in followed],
    )


def save_case_rows(conn: Connection, rows: CaseRows) -> None:
    """Insert the new cases, rewrite the changed ones, update the followed ones' figures:
    an UPDATE rewrites the entries of every index on a column it sets; leaving status and
    bucket out spares the status, bucket and open-borrower indexes a hundred thousand
    needless rewrites a run."""
    bulk_insert(conn, cases, ("case_id", "borrower_id", "currency", "opened_on", *_CASE_STATE),
                rows.new)
    bulk_update(conn, cases, ("case_id",), _CASE_STATE, rows.changed)
    bulk_update(conn, cases, ("case_id",), _CASE_FIGURES, rows.followed)
