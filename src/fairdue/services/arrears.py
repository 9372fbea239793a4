"""Bringing borrowers' cases in line with their loans' arrears.

Shared by the daily run (time made a loan overdue) and payment posting (money cured it),
so a case opens, follows and cures by one rule whichever way the change came.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import Connection, bindparam, select

from fairdue.adapters.db.ledger_repo import CaseRows, case_rows, load_open_cases, save_case_rows
from fairdue.adapters.db.tables import loans
from fairdue.domain.cases import Arrears, Case, LoanArrears, reconcile_case
from fairdue.domain.delinquency import BucketTable
from fairdue.domain.events import DomainEvent
from fairdue.domain.money import Money
from fairdue.services.unit_of_work import UnitOfWork


@dataclass(frozen=True, slots=True)
class CaseChanges:
    opened: int = 0
    cured: int = 0
    updated: int = 0


def loan_arrears(loan_id: str, next_unpaid_due_on: date | None, amount_due_minor: int,
                 currency: str, on: date) -> LoanArrears:
    dpd = 0 if next_unpaid_due_on is None else max(0, (on - next_unpaid_due_on).days)
    return LoanArrears(loan_id, dpd, Money.from_minor(amount_due_minor if dpd else 0, currency))


#: Made once: a payment reconciles its borrower's case through this, one borrower at a time.
_LOANS_OF = select(
    loans.c.borrower_id,
    loans.c.loan_id,
    loans.c.next_unpaid_due_on,
    loans.c.amount_due_minor,
    loans.c.currency,
).where(loans.c.borrower_id.in_(bindparam("ids", expanding=True)))


def stored_arrears(conn: Connection, borrower_ids: Iterable[str], on: date) -> dict[str, Arrears]:
    """Each borrower's arrears on `on` from the loans' stored ledger state."""
    ids = list(borrower_ids)
    per_borrower: dict[str, list[LoanArrears]] = {b: [] for b in ids}
    currency: dict[str, str] = {}
    for start in range(0, len(ids), 500):
        rows = conn.execute(_LOANS_OF, {"ids": ids[start : start + 500]})
        for r in rows:
            currency.setdefault(r.borrower_id, r.currency)
            per_borrower[r.borrower_id].append(
                loan_arrears(r.loan_id, r.next_unpaid_due_on, r.amount_due_minor, r.currency, on)
            )
    return {
        b: Arrears.of(items, currency.get(b, "CNY")) for b, items in per_borrower.items()
    }


@dataclass
class CaseWrites:
    """What bringing a set of cases in line changes, worked out without writing: the rows
    of the cases to insert, to rewrite whole and to update only in their figures, and the
    events to record, in order. A helper process of the daily run returns one to the
    writer."""

    rows: CaseRows = field(default_factory=CaseRows)
    events: list[DomainEvent] = field(default_factory=list)
    changes: CaseChanges = CaseChanges()


def plan_case_changes(
    arrears: Mapping[str, Arrears],
    open_cases: Mapping[str, Case],
    *,
    on: date,
    grace_days: int,
    buckets: BucketTable,
    cure_reason: str,
) -> CaseWrites:
    """Open, update or cure each borrower's case, in memory (the cases of `open_cases` are
    changed in place)."""
    out = CaseWrites()
    new: list[Case] = []
    changed: list[Case] = []
    followed: list[Case] = []  # still open, in the same bucket: only the figures moved
    opened = cured = updated = 0
    for borrower_id, position in arrears.items():
        before = open_cases.get(borrower_id)
        snapshot = None if before is None else (before.dpd, before.bucket, before.amount_due)
        case = reconcile_case(
            before,
            borrower_id=borrower_id,
            on=on,
            arrears=position,
            grace_days=grace_days,
            buckets=buckets,
            cure_reason=cure_reason,
        )
        if case is None:
            continue
        if before is None:
            new.append(case)
            opened += 1
        elif not case.is_open:
            changed.append(case)
            cured += 1
        elif snapshot != (case.dpd, case.bucket, case.amount_due):
            # `before` is this very case, changed in place: its old bucket is the snapshot's.
            moved = snapshot is None or case.bucket != snapshot[1]
            (changed if moved else followed).append(case)
            updated += 1
        out.events.extend(case.events)
        case.events.clear()
    out.rows = case_rows(new, changed, followed)
    out.changes = CaseChanges(opened, cured, updated)
    return out


def save_case_writes(uow: UnitOfWork, writes: CaseWrites) -> None:
    uow.record(writes.events)
    save_case_rows(uow.connection, writes.rows)


def reconcile_cases(
    uow: UnitOfWork,
    arrears: Mapping[str, Arrears],
    *,
    on: date,
    grace_days: int,
    buckets: BucketTable,
    cure_reason: str,
    open_cases: Mapping[str, Case] | None = None,
) -> CaseChanges:
    """Open, update or cure each borrower's case; save the cases and record their events.

    `open_cases` are the borrowers' open cases when the caller has read them already (the
    daily run reads a partition's in one query); otherwise they are read here."""
    if open_cases is None:
        open_cases = load_open_cases(uow.connection, arrears.keys())
    writes = plan_case_changes(arrears, open_cases, on=on, grace_days=grace_days,
                               buckets=buckets, cure_reason=cure_reason)
    save_case_writes(uow, writes)
    return writes.changes
