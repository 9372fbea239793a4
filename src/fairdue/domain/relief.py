"""Relief on a loan's ledger: penalty frozen for some days, penalty or fee waived.

Both must survive every way the ledger is computed: the daily run's accrual, one day at a
time, and the replay from the facts that a payment posting does (domain/ledger.py). So they
are facts too, applied here the same way on both paths:

- a **freeze** (a grace period or a plan agreed with penalty stopped) is a range of business
  days on which no penalty accrues: the day's charge is simply not made;
- a **credit** (the part of an approved waiver settled on one installment) settles that much
  of the installment's penalty or fee, on the day it was approved, without money. A replay
  applies a day's credits before that day's payments: the waiver was approved on what was
  owed then, and a payment the same day must not make it smaller.

Without freezes or credits, `replay` gives exactly `LoanLedger.replay`'s state.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from fairdue.domain.ledger import Allocation, Component, Installment, LoanLedger, PaymentFact
from fairdue.errors import InvalidInput

_DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Freeze:
    """Business days `first`..`last` (None: still open) on which penalty does not accrue."""

    first: date
    last: date | None = None

    def __post_init__(self) -> None:
        if self.last is not None and self.last < self.first:
            raise InvalidInput(f"a penalty freeze ends ({self.last}) before it starts ({self.first})")

    def days_within(self, start: date, end: date) -> int:
        """How many of the days `start`..`end` (inclusive) are frozen."""
        low = max(start, self.first)
        high = end if self.last is None else min(end, self.last)
        return max(0, (high - low).days + 1)


@dataclass(frozen=True, slots=True)
class Credit:
    """`minor` of installment `seq`'s `component` settled by a waiver on business date `on`."""

    on: date
    seq: int
    component: Component
    minor: int
    waiver_id: str = ""

    def __post_init__(self) -> None:
        if self.component not in (Component.PENALTY, Component.FEE):
            raise InvalidInput(f"only penalty and fee can be waived, not {self.component.value}")
        if self.minor <= 0:
            raise InvalidInput(f"a waiver credit must be positive, got {self.minor}")


def frozen_days(start: date, end: date, freezes: Iterable[Freeze]) -> int:
    """Days of `start`..`end` covered by at least one freeze (overlaps counted once)."""
    if end < start:
        return 0
    spans = sorted((max(start, f.first), end if f.last is None else min(end, f.last)) for f in freezes)
    count, reached = 0, start - _DAY
    for low, high in spans:
        low = max(low, reached + _DAY)
        if high >= low:
            count += (high - low).days + 1
            reached = high
    return count


def _accrual_start(ledger: LoanLedger) -> date | None:
    if ledger.accrued_through is not None:
        return ledger.accrued_through + _DAY
    return ledger.installments[0].due_on + _DAY if ledger.installments else None


def accrue(ledger: LoanLedger, day: date, freezes: Sequence[Freeze] = ()) -> list[Installment]:
    """`ledger.accrue_through(day)` without the charges of frozen days.

    The ledger charges each overdue installment unpaid principal x rate per day, the
    principal unchanged within one accrual; so the frozen days' share is that day-charge
    times the frozen days of the installment's charged stretch, taken back exactly."""
    start = _accrual_start(ledger)
    missed = ledger.accrue_through(day)
    if not freezes or start is None or start > day:
        return missed
    for inst in ledger.installments:
        if inst.due_on >= day:
            break
        unpaid_principal = inst.principal - inst.principal_paid
        if unpaid_principal <= 0:
            continue
        first_charged = max(start, inst.due_on + _DAY)
        frozen = frozen_days(first_charged, day, freezes)
        if frozen:
            inst.penalty -= frozen * ledger.penalty_rate.on(unpaid_principal)
    return missed


def apply_credit(ledger: LoanLedger, credit: Credit) -> int:
    """Settle a waiver's part on its installment (never more than it still owes of the
    component); returns what was settled."""
    inst = next((i for i in ledger.installments if i.seq == credit.seq), None)
    if inst is None:
        return 0
    take = min(credit.minor, max(0, inst.unpaid(credit.component)))
    if credit.component is Component.PENALTY:
        inst.penalty_paid += take
    else:
        inst.fee_paid += take
    ledger._refresh_first_unpaid()  # a waiver can settle the oldest installment
    return take


def replay(ledger: LoanLedger, payments: Iterable[PaymentFact], credits: Iterable[Credit],
           freezes: Sequence[Freeze], through: date | None) -> list[Allocation]:
    """`LoanLedger.replay` with the loan's freezes and waiver credits applied in date order."""
    for inst in ledger.installments:
        inst.reset()
    ledger.credit = 0
    ledger.accrued_through = None
    ledger._refresh_first_unpaid()
    items: list[tuple[date, int, str, PaymentFact | Credit]] = [
        (c.on, 0, f"{c.waiver_id}:{c.seq}:{c.component.value}", c) for c in credits
    ] + [(p.paid_on, 1, p.payment_id, p) for p in payments]
    items.sort(key=lambda item: item[:3])
    allocations: list[Allocation] = []
    for on, _kind, _key, item in items:
        start = _accrual_start(ledger)
        if start is not None and on >= start:
            accrue(ledger, on, freezes)
        if isinstance(item, Credit):
            apply_credit(ledger, item)
        else:
            allocations.append(ledger.post(item))
    if through is not None and (ledger.accrued_through is None or through > ledger.accrued_through):
        accrue(ledger, through, freezes)
    return allocations
