"""Domain events: facts that happened, named in the past tense.

The unit of work collects them from the objects it saved, stores them with the same
transaction, and hands them to handlers only after commit, so no handler ever acts on a
change that was rolled back.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from typing import Any, ClassVar


@dataclass(frozen=True, slots=True)
class DomainEvent:
    """Base of every event; `name` is how it is stored and exported."""

    name: ClassVar[str] = "DomainEvent"
    subject_field: ClassVar[str] = ""

    @property
    def subject(self) -> str:
        """The id of the record the event is about, for the event log's index."""
        return str(getattr(self, self.subject_field))

    def payload(self) -> dict[str, Any]:
        return {
            key: (value.isoformat() if isinstance(value, date) else value)
            for key, value in asdict(self).items()
        }


@dataclass(frozen=True, slots=True)
class CaseOpened(DomainEvent):
    name: ClassVar[str] = "CaseOpened"
    subject_field: ClassVar[str] = "case_id"
    case_id: str
    borrower_id: str
    on: date
    dpd: int
    bucket: str
    amount_due: str


@dataclass(frozen=True, slots=True)
class CaseBucketChanged(DomainEvent):
    name: ClassVar[str] = "BucketChanged"
    subject_field: ClassVar[str] = "case_id"
    case_id: str
    on: date
    from_bucket: str
    to_bucket: str
    dpd: int


@dataclass(frozen=True, slots=True)
class CaseCured(DomainEvent):
    name: ClassVar[str] = "CaseCured"
    subject_field: ClassVar[str] = "case_id"
    case_id: str
    borrower_id: str
    on: date
    reason: str


@dataclass(frozen=True, slots=True)
class InstallmentMissed(DomainEvent):
    name: ClassVar[str] = "InstallmentMissed"
    subject_field: ClassVar[str] = "loan_id"
    loan_id: str
    seq: int
    due_on: date
    on: date


@dataclass(frozen=True, slots=True)
class LoanBucketChanged(DomainEvent):
    name: ClassVar[str] = "LoanBucketChanged"
    subject_field: ClassVar[str] = "loan_id"
    loan_id: str
    on: date
    from_bucket: str
    to_bucket: str
    dpd: int


@dataclass(frozen=True, slots=True)
class PaymentPosted(DomainEvent):
    name: ClassVar[str] = "PaymentPosted"
    subject_field: ClassVar[str] = "loan_id"
    payment_id: str
    loan_id: str
    borrower_id: str
    paid_at: str
    amount: str
    currency: str
    to_credit: str
