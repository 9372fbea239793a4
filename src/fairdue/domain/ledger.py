"""A loan's ledger: what is owed on each installment, what was paid, and penalty accrued.

The ledger works in integer minor units (fen) so that replaying years of history for a
million loans stays exact and quick; `Money` is what crosses its boundary.

Rules, in the lender's words:
- Penalty interest is charged at the start of each business day on the principal of every
  installment that is past due (due before that day) and still unpaid:
  unpaid principal x daily rate, rounded half-up to the minor unit, per installment per day.
- A payment first settles installments due on or before its date, oldest first, and within
  an installment in the product's allocation order (default penalty, fee, interest,
  principal); what remains pays future installments in order; what remains after the whole
  schedule is settled is kept as credit, never lost.
- A payment dated before the last day already accrued (a late-booked bank transfer) is
  applied by replaying the loan from its facts, so penalty charged on money that had in
  fact been paid disappears.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from decimal import Decimal
from enum import StrEnum
from operator import attrgetter

from fairdue.domain.money import Money, to_decimal
from fairdue.errors import InvalidInput, LedgerError, PaymentRejected


class Component(StrEnum):
    """The parts an installment's debt is made of."""

    PENALTY = "penalty"
    FEE = "fee"
    INTEREST = "interest"
    PRINCIPAL = "principal"


DEFAULT_ALLOCATION_ORDER: tuple[Component, ...] = (
    Component.PENALTY,
    Component.FEE,
    Component.INTEREST,
    Component.PRINCIPAL,
)

DEFAULT_PENALTY_DAILY_RATE = Decimal("0.0005")


def parse_allocation_order(text: str) -> tuple[Component, ...]:
    """Read an allocation order such as "penalty,fee,interest,principal"; each part once."""
    names = [part.strip() for part in text.split(",") if part.strip()]
    try:
        order = tuple(Component(name) for name in names)
    except ValueError:
        raise InvalidInput(
            f"allocation order {text!r} must name each of penalty, fee, interest, principal"
        ) from None
    if sorted(order) != sorted(DEFAULT_ALLOCATION_ORDER):
        raise InvalidInput(
            f"allocation order {text!r} must name each of penalty, fee, interest, principal once"
        )
    return order


@dataclass(frozen=True, slots=True)
class DailyRate:
    """A non-negative daily rate applied to minor units with exact half-up rounding."""

    value: Decimal
    numerator: int = field(init=False, repr=False, compare=False)
    denominator: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        rate = to_decimal(self.value, what="daily rate")
        if rate < 0 or rate >= 1:
            raise InvalidInput(f"daily rate {self.value} must be at least 0 and below 1")
        object.__setattr__(self, "value", rate)
        _sign, digits, exponent = rate.as_tuple()
        assert isinstance(exponent, int)
        numerator = int("".join(map(str, digits)) or "0")
        if exponent >= 0:
            numerator *= 10**exponent
            denominator = 1
        else:
            denominator = 10 ** (-exponent)
        object.__setattr__(self, "numerator", numerator)
        object.__setattr__(self, "denominator", denominator)

    def on(self, minor: int) -> int:
        """One day's charge on `minor` units, rounded half-up to a whole minor unit."""
        return (2 * minor * self.numerator + self.denominator) // (2 * self.denominator)


@dataclass(slots=True)
class Installment:
    """One scheduled repayment and how much of each part is paid."""

    seq: int
    due_on: date
    principal: int
    interest: int
    fee: int
    penalty: int = 0
    principal_paid: int = 0
    interest_paid: int = 0
    fee_paid: int = 0
    penalty_paid: int = 0

    def unpaid(self, component: Component) -> int:
        if component is Component.PRINCIPAL:
            return self.principal - self.principal_paid
        if component is Component.INTEREST:
            return self.interest - self.interest_paid
        if component is Component.FEE:
            return self.fee - self.fee_paid
        return self.penalty - self.penalty_paid

    def _pay(self, component: Component, minor: int) -> None:
        if component is Component.PRINCIPAL:
            self.principal_paid += minor
        elif component is Component.INTEREST:
            self.interest_paid += minor
        elif component is Component.FEE:
            self.fee_paid += minor
        else:
            self.penalty_paid += minor

    @property
    def unpaid_total(self) -> int:
        return (
            self.principal - self.principal_paid
            + self.interest - self.interest_paid
            + self.fee - self.fee_paid
            + self.penalty - self.penalty_paid
        )

    @property
    def settled(self) -> bool:
        return self.unpaid_total == 0

    def reset(self) -> None:
        """Forget payments and penalty, keeping the schedule: the start of a replay."""
        self.penalty = self.principal_paid = self.interest_paid = 0
        self.fee_paid = self.penalty_paid = 0


@dataclass(frozen=True, slots=True)
class ScheduledInstallment:
    """An installment as the lender's books define it, before anything is paid."""

    seq: int
    due_on: date
    principal: Money
    interest: Money
    fee: Money


@dataclass(frozen=True, slots=True)
class PaymentFact:
    """A payment as received: the facts a replay needs."""

    payment_id: str
    paid_on: date
    amount_minor: int


@dataclass(frozen=True, slots=True)
class Allocation:
    """Where one payment went, per installment and component, in minor units."""

    payment_id: str
    parts: tuple[tuple[int, Component, int], ...]
    to_credit: int

    @property
    def allocated(self) -> int:
        return sum(amount for _, _, amount in self.parts) + self.to_credit


_by_seq = attrgetter("seq")
_ONE_DAY = timedelta(days=1)


@dataclass(slots=True)
class LoanLedger:
    """The running state of one loan's debt, advanced day by day and payment by payment."""

    loan_id: str
    currency: str
    penalty_rate: DailyRate
    installments: list[Installment]
    allocation_order: tuple[Component, ...] = DEFAULT_ALLOCATION_ORDER
    credit: int = 0
    accrued_through: date | None = None
    _first_unpaid: int = field(default=0, repr=False)

    def __post_init__(self) -> None:
        self.installments.sort(key=_by_seq)
        seqs = [inst.seq for inst in self.installments]
        if len(set(seqs)) != len(seqs):
            raise LedgerError(f"loan {self.loan_id} has two installments with the same seq")
        due_dates = [inst.due_on for inst in self.installments]
        if due_dates != sorted(due_dates):
            raise LedgerError(f"loan {self.loan_id}: installment due dates go backwards in seq")
        self._refresh_first_unpaid()

    @classmethod
    def from_schedule(
        cls,
        loan_id: str,
        currency: str,
        schedule: Sequence[ScheduledInstallment],
        penalty_daily_rate: Decimal = DEFAULT_PENALTY_DAILY_RATE,
        allocation_order: tuple[Component, ...] = DEFAULT_ALLOCATION_ORDER,
    ) -> LoanLedger:
        """A fresh ledger for a loan with nothing paid and nothing accrued."""
        if not schedule:
            raise LedgerError(f"loan {loan_id} has no installments")
        rows = []
        for item in schedule:
            for part in (item.principal, item.interest, item.fee):
                if part.currency != currency:
                    raise LedgerError(
                        f"loan {loan_id} installment {item.seq} is in {part.currency}, "
                        f"the loan in {currency}"
                    )
                if part.amount < 0:
                    raise LedgerError(f"loan {loan_id} installment {item.seq} has a negative part")
            rows.append(
                Installment(
                    item.seq, item.due_on, item.principal.minor, item.interest.minor, item.fee.minor
                )
            )
        return cls(loan_id, currency, DailyRate(penalty_daily_rate), rows, allocation_order)

    # ----- reading the state ------------------------------------------------------------

    def _refresh_first_unpaid(self) -> None:
        index = 0
        while index < len(self.installments) and self.installments[index].settled:
            index += 1
        self._first_unpaid = index

    @property
    def oldest_unpaid(self) -> Installment | None:
        """The oldest installment with anything unpaid, the one DPD is counted from."""
        if self._first_unpaid < len(self.installments):
            return self.installments[self._first_unpaid]
        return None

    @property
    def next_unpaid_due_on(self) -> date | None:
        oldest = self.oldest_unpaid
        return oldest.due_on if oldest else None

    def dpd(self, on: date) -> int:
        """Days past due on a business date; an installment due that day is not yet overdue."""
        due = self.next_unpaid_due_on
        if due is None or due >= on:
            return 0
        return (on - due).days

    def overdue(self, on: date) -> list[Installment]:
        return [
            inst for inst in self.installments[self._first_unpaid:]
            if inst.due_on < on and not inst.settled
        ]

    def amount_due_minor(self, on: date) -> int:
        """Overdue principal + interest + fees + accrued penalty still unpaid on `on`."""
        # The sum over `overdue(on)` in one pass: due dates never go backwards in seq, and
        # a settled installment adds nothing (the daily run asks this of every loan).
        total = 0
        for inst in self.installments[self._first_unpaid:]:
            if inst.due_on >= on:
                break
            total += inst.unpaid_total
        return total

    def overdue_principal_minor(self, on: date) -> int:
        return sum(inst.unpaid(Component.PRINCIPAL) for inst in self.overdue(on))

    def outstanding_minor(self) -> int:
        """Everything not yet paid, future installments included."""
        return sum(inst.unpaid_total for inst in self.installments[self._first_unpaid:])

    def amount_due(self, on: date) -> Money:
        return Money.from_minor(self.amount_due_minor(on), self.currency)

    @property
    def paid_off(self) -> bool:
        return self._first_unpaid >= len(self.installments)

    # ----- moving the state ---------------------------------------------------------------

    def accrue_through(self, day: date) -> list[Installment]:
        """Charge penalty for every business day up to and including `day`.

        Returns the installments that became overdue in this stretch (due before `day`,
        unpaid, and not overdue on the day after the last accrual), for InstallmentMissed.
        Accruing to a day already accrued does nothing, which makes daily runs idempotent.
        """
        start = self._start_of_accrual()
        if start > day:
            return []
        missed: list[Installment] = []
        for inst in self.installments[self._first_unpaid:]:
            if inst.due_on >= day:
                break
            if inst.settled:
                continue
            day_after_due = inst.due_on + _ONE_DAY
            first_charged_day = max(start, day_after_due)
            if first_charged_day == day_after_due:
                missed.append(inst)
            unpaid_principal = inst.principal - inst.principal_paid
            if unpaid_principal > 0:
                days = (day - first_charged_day).days + 1
                inst.penalty += days * self.penalty_rate.on(unpaid_principal)
        self.accrued_through = day
        return missed

    def _start_of_accrual(self) -> date:
        if self.accrued_through is not None:
            return self.accrued_through + timedelta(days=1)
        return self.installments[0].due_on + timedelta(days=1)

    def post(self, payment: PaymentFact) -> Allocation:
        """Apply a payment on its date, accruing penalty up to that date first."""
        if payment.amount_minor <= 0:
            raise PaymentRejected(
                f"payment {payment.payment_id}: amount must be positive, got "
                f"{Money.from_minor(payment.amount_minor, self.currency)}"
            )
        if self.accrued_through is not None and payment.paid_on < self.accrued_through:
            raise LedgerError(
                f"payment {payment.payment_id} dated {payment.paid_on} is before the ledger's "
                f"accrual date {self.accrued_through}; replay the loan to apply it"
            )
        if payment.paid_on >= self._start_of_accrual():
            self.accrue_through(payment.paid_on)
        remaining = payment.amount_minor
        parts: list[tuple[int, Component, int]] = []
        for inst in self.installments[self._first_unpaid:]:
            if remaining == 0:
                break
            for component in self.allocation_order:
                owed = inst.unpaid(component)
                if owed <= 0:
                    continue
                take = min(owed, remaining)
                inst._pay(component, take)
                parts.append((inst.seq, component, take))
                remaining -= take
                if remaining == 0:
                    break
        self.credit += remaining
        self._refresh_first_unpaid()
        return Allocation(payment.payment_id, tuple(parts), remaining)

    def replay(self, payments: Iterable[PaymentFact], through: date | None) -> list[Allocation]:
        """Rebuild the state from the schedule and every payment, in date order.

        This is the one definition of the ledger: the incremental paths (daily accrual,
        posting a payment on its day) give the same state as a replay of the same facts.
        """
        for inst in self.installments:
            inst.reset()
        self.credit = 0
        self.accrued_through = None
        # Not simply 0: an installment of nothing at all is settled before any payment.
        self._refresh_first_unpaid()
        ordered = sorted(payments, key=lambda p: (p.paid_on, p.payment_id))
        allocations = [self.post(p) for p in ordered]
        if through is not None and (self.accrued_through is None or through > self.accrued_through):
            self.accrue_through(through)
        return allocations


def business_date(moment: datetime, zone: tzinfo) -> date:
    """The lender's business date of an aware timestamp, in the lender's time zone."""
    if moment.tzinfo is None:
        raise InvalidInput(f"timestamp {moment.isoformat()} has no UTC offset; give one")
    return moment.astimezone(zone).date()
