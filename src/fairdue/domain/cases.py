"""The collection case: all of one borrower's arrears, worked as one.

A case opens the first day any of the borrower's loans is overdue beyond the grace days,
follows the worst loan's DPD and bucket, and is cured and closed the moment no loan is
overdue, by the daily run or by a payment posted during the day. A cured case stays closed;
new arrears open a new case, so the history of each episode is kept apart.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from fairdue.domain.delinquency import BucketTable
from fairdue.domain.events import CaseBucketChanged, CaseCured, CaseOpened, DomainEvent
from fairdue.domain.money import Money, format_minor
from fairdue.errors import InvalidTransition, LedgerError


class CaseStatus(StrEnum):
    OPEN = "open"
    CURED = "cured"


@dataclass(frozen=True, slots=True)
class LoanArrears:
    """One loan's contribution to a case on a given day."""

    loan_id: str
    dpd: int
    amount_due: Money


@dataclass(frozen=True, slots=True)
class Arrears:
    """A borrower's position on a day, summed over loans: the worst DPD and all that is due."""

    dpd: int
    amount_due: Money
    overdue_loans: int

    @classmethod
    def of(cls, loans: Iterable[LoanArrears], currency: str) -> Arrears:
        dpd = 0
        total_minor = 0  # summed in minor units, exact: one Money at the end
        overdue = 0
        for loan in loans:
            if loan.amount_due.currency != currency:
                raise LedgerError(
                    f"loan {loan.loan_id} is in {loan.amount_due.currency} but the borrower's "
                    f"case is kept in {currency}; one case cannot mix currencies"
                )
            if loan.dpd > 0:
                overdue += 1
                dpd = max(dpd, loan.dpd)
                total_minor += loan.amount_due.minor
        return cls(dpd, Money.from_minor(total_minor, currency), overdue)


def case_id_for(borrower_id: str, opened_on: date) -> str:
    """A case id that is the same whenever the same episode is opened again (idempotent runs)."""
    return f"C-{borrower_id}-{opened_on:%Y%m%d}"


@dataclass(slots=True)
class Case:
    case_id: str
    borrower_id: str
    currency: str
    status: CaseStatus
    opened_on: date
    closed_on: date | None
    dpd: int
    bucket: str
    amount_due: Money
    overdue_loans: int
    events: list[DomainEvent] = field(default_factory=list, repr=False, compare=False)

    @classmethod
    def open(cls, *, borrower_id: str, on: date, arrears: Arrears, buckets: BucketTable) -> Case:
        if arrears.dpd <= 0:
            raise InvalidTransition(
                f"cannot open a case for borrower {borrower_id} on {on}: nothing is overdue"
            )
        bucket = buckets.bucket_for(arrears.dpd)
        case = cls(
            case_id=case_id_for(borrower_id, on),
            borrower_id=borrower_id,
            currency=arrears.amount_due.currency,
            status=CaseStatus.OPEN,
            opened_on=on,
            closed_on=None,
            dpd=arrears.dpd,
            bucket=bucket,
            amount_due=arrears.amount_due,
            overdue_loans=arrears.overdue_loans,
        )
        case.events.append(
            CaseOpened(case.case_id, borrower_id, on, arrears.dpd, bucket, str(arrears.amount_due.amount))
        )
        return case

    @property
    def is_open(self) -> bool:
        return self.status is CaseStatus.OPEN

    def update_arrears(self, *, on: date, arrears: Arrears, buckets: BucketTable) -> None:
        """Follow the borrower's arrears; a move between buckets is recorded as an event."""
        if not self.is_open:
            raise InvalidTransition(f"case {self.case_id} is {self.status}; it cannot change")
        if arrears.dpd <= 0:
            raise InvalidTransition(
                f"case {self.case_id}: nothing is overdue on {on}; cure the case instead"
            )
        bucket = buckets.bucket_for(arrears.dpd)
        if bucket != self.bucket:
            self.events.append(CaseBucketChanged(self.case_id, on, self.bucket, bucket, arrears.dpd))
        self.dpd = arrears.dpd
        self.bucket = bucket
        self.amount_due = arrears.amount_due
        self.overdue_loans = arrears.overdue_loans

    def cure(self, *, on: date, reason: str, buckets: BucketTable) -> None:
        """Close the case because nothing is overdue any more."""
        if not self.is_open:
            raise InvalidTransition(f"case {self.case_id} is already {self.status}")
        current = buckets.bucket_for(0)
        if self.bucket != current:
            self.events.append(CaseBucketChanged(self.case_id, on, self.bucket, current, 0))
        self.status = CaseStatus.CURED
        self.closed_on = on
        self.dpd = 0
        self.bucket = current
        self.amount_due = Money.zero(self.currency)
        self.overdue_loans = 0
        self.events.append(CaseCured(self.case_id, self.borrower_id, on, reason))

    def amount_due_text(self) -> str:
        return format_minor(self.amount_due.minor, self.currency)


def reconcile_case(
    case: Case | None,
    *,
    borrower_id: str,
    on: date,
    arrears: Arrears,
    grace_days: int,
    buckets: BucketTable,
    cure_reason: str,
) -> Case | None:
    """Open, follow or cure the borrower's case so that it matches the arrears on `on`.

    Returns the case that is (or was just) current, or None when there is none and none
    is needed. Calling it twice with the same arrears changes nothing the second time.
    """
    if case is not None and case.is_open:
        if arrears.dpd <= 0:
            case.cure(on=on, reason=cure_reason, buckets=buckets)
        else:
            case.update_arrears(on=on, arrears=arrears, buckets=buckets)
        return case
    if arrears.dpd > grace_days:
        return Case.open(borrower_id=borrower_id, on=on, arrears=arrears, buckets=buckets)
    return None
