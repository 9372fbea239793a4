"""A promise to pay: what a borrower said they would pay, by when, and whether they did.

A promise is taken by someone (an agent, a dialer), usually on a contact attempt, for the
borrower's open case. It is `pending` until the payments that follow decide it:

- **kept** as soon as the borrower's payments from the moment the promise was made through
  its due date plus `tolerance.days` add up to at least its amount less
  `tolerance.amount_minor` (a promise of 500.00 met with 499.50 is kept);
- **broken** once that window has passed without enough;
- **cancelled** when it stops mattering otherwise (the case closed another way).

Kept and broken promises are facts the policy escalates on (S7).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import ClassVar

from fairdue.domain.events import DomainEvent
from fairdue.domain.money import Money, format_minor
from fairdue.errors import InvalidInput, InvalidTransition

DEFAULT_MAX_DAYS = 30


class PromiseStatus(StrEnum):
    PENDING = "pending"
    KEPT = "kept"
    BROKEN = "broken"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class PromiseTolerance:
    """How late (whole days after the due date) and how short (minor units) a promise may
    be met and still count as kept."""

    days: int = 1
    amount_minor: int = 100

    def __post_init__(self) -> None:
        if self.days < 0 or self.amount_minor < 0:
            raise InvalidInput("promise tolerances cannot be negative")


@dataclass(frozen=True, slots=True)
class PaymentSeen:
    """A payment on one of the borrower's loans, as a promise reads it."""

    paid_at: datetime
    paid_on: date
    amount_minor: int
    currency: str


@dataclass(frozen=True, slots=True)
class PromiseMade(DomainEvent):
    name: ClassVar[str] = "PromiseMade"
    subject_field: ClassVar[str] = "promise_id"
    promise_id: str
    case_id: str
    borrower_id: str
    amount: str
    currency: str
    due_on: date
    on: date
    made_by: str
    attempt_id: str | None


@dataclass(frozen=True, slots=True)
class _PromiseSettled(DomainEvent):
    """What a promise's end records: kept or broken, the amount promised and paid."""

    subject_field: ClassVar[str] = "promise_id"
    promise_id: str
    case_id: str
    borrower_id: str
    amount: str
    paid: str
    due_on: date
    on: date


@dataclass(frozen=True, slots=True)
class PromiseKept(_PromiseSettled):
    name: ClassVar[str] = "PromiseKept"


@dataclass(frozen=True, slots=True)
class PromiseBroken(_PromiseSettled):
    name: ClassVar[str] = "PromiseBroken"


@dataclass(frozen=True, slots=True)
class PromiseCancelled(DomainEvent):
    name: ClassVar[str] = "PromiseCancelled"
    subject_field: ClassVar[str] = "promise_id"
    promise_id: str
    case_id: str
    borrower_id: str
    on: date
    reason: str


def promise_id_for(borrower_id: str, made_at: datetime, amount_minor: int, due_on: date) -> str:
    """The same promise recorded twice (a retried request) is one promise."""
    digest = hashlib.sha256(
        f"{borrower_id}|{made_at.isoformat()}|{amount_minor}|{due_on.isoformat()}".encode()
    ).hexdigest()
    return f"PTP-{digest[:40]}"


@dataclass(slots=True)
class Promise:
    promise_id: str
    case_id: str
    borrower_id: str
    amount: Money
    due_on: date
    made_at: datetime
    made_on: date
    made_by: str
    attempt_id: str | None = None
    status: PromiseStatus = PromiseStatus.PENDING
    settled_on: date | None = None
    paid_minor: int = 0

    @classmethod
    def make(
        cls, *, case_id: str, borrower_id: str, amount: Money, due_on: date, made_at: datetime,
        made_on: date, made_by: str, attempt_id: str | None = None,
        max_days: int = DEFAULT_MAX_DAYS,
    ) -> tuple[Promise, PromiseMade]:
        """A new pending promise, checked: a positive amount, due on or after the day it is
        made and at most `max_days` later."""
        if made_at.tzinfo is None:
            raise InvalidInput(f"promise time {made_at.isoformat()} has no UTC offset; give one")
        if not amount.is_positive:
            raise InvalidInput(f"a promise's amount must be positive, got {amount.amount}")
        if due_on < made_on:
            raise InvalidInput(
                f"due date {due_on.isoformat()} is before the promise's own date "
                f"{made_on.isoformat()}; give today or a later date"
            )
        if due_on > made_on + timedelta(days=max_days):
            raise InvalidInput(
                f"due date {due_on.isoformat()} is more than {max_days} days after "
                f"{made_on.isoformat()}; a promise must fall due by "
                f"{(made_on + timedelta(days=max_days)).isoformat()} (a longer arrangement is a plan)"
            )
        promise = cls(
            promise_id_for(borrower_id, made_at, amount.minor, due_on), case_id, borrower_id,
            amount, due_on, made_at, made_on, made_by, attempt_id,
        )
        return promise, PromiseMade(
            promise.promise_id, case_id, borrower_id, str(amount.amount), amount.currency,
            due_on, made_on, made_by, attempt_id,
        )

    def window_ends_on(self, tolerance: PromiseTolerance) -> date:
        """The last business date a payment counts toward the promise."""
        return self.due_on + timedelta(days=tolerance.days)

    def assess(self, payments: Iterable[PaymentSeen], today: date, tolerance: PromiseTolerance
               ) -> PromiseKept | PromiseBroken | None:
        """Decide a pending promise from the payments seen so far, as of business date `today`:
        kept when enough was paid within the window (on the date the last payment needed was
        made), broken when the window ended before `today` without enough, else still pending
        (None). A settled promise stays as it is."""
        if self.status is not PromiseStatus.PENDING:
            return None
        needed = self.amount.minor - tolerance.amount_minor
        ends = self.window_ends_on(tolerance)
        paid = 0
        for payment in sorted(payments, key=lambda p: p.paid_at):
            if (payment.currency != self.amount.currency or payment.paid_at < self.made_at
                    or payment.paid_on > ends or payment.paid_on > today):
                continue
            paid += payment.amount_minor
            if paid >= needed:
                return self.keep(payment.paid_on, paid)
        self.paid_minor = paid
        if today > ends:
            return self.break_(today, paid)
        return None

    def _settle(self, status: PromiseStatus, on: date, paid_minor: int) -> None:
        if self.status is not PromiseStatus.PENDING:
            raise InvalidTransition(
                f"promise {self.promise_id} is {self.status.value}; only a pending promise "
                f"can become {status.value}"
            )
        self.status = status
        self.settled_on = on
        self.paid_minor = paid_minor

    def keep(self, on: date, paid_minor: int) -> PromiseKept:
        """pending -> kept."""
        self._settle(PromiseStatus.KEPT, on, paid_minor)
        return PromiseKept(self.promise_id, self.case_id, self.borrower_id, str(self.amount.amount),
                           format_minor(paid_minor, self.amount.currency), self.due_on, on)

    def break_(self, on: date, paid_minor: int) -> PromiseBroken:
        """pending -> broken."""
        self._settle(PromiseStatus.BROKEN, on, paid_minor)
        return PromiseBroken(self.promise_id, self.case_id, self.borrower_id,
                             str(self.amount.amount), format_minor(paid_minor, self.amount.currency),
                             self.due_on, on)

    def cancel(self, on: date, reason: str) -> PromiseCancelled:
        """pending -> cancelled."""
        self._settle(PromiseStatus.CANCELLED, on, self.paid_minor)
        return PromiseCancelled(self.promise_id, self.case_id, self.borrower_id, on, reason)
