"""A loan's state after its imported payments: a shortcut for the common case, else the ledger.

Replaying every loan through `domain.ledger.LoanLedger` was a large share of the import.
Most loans in a book were paid on time, and for them the replay does something simple: no
penalty is ever charged (penalty accrues only on an installment that is past due and
unsettled on a payment's date), so the payments, whatever their number, fill the schedule
oldest first, each installment in allocation order, and the state depends only on their sum.

`settle` takes that shortcut only when it provably matches the ledger: before each payment
(in the ledger's order, by date then id) every installment due before its date must already
be settled by the earlier payments. Otherwise it replays the loan with the ledger, which
stays the one definition of the rules. `tests/unit/test_import_settle.py` checks on random
schedules and payments that both give the same state.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from fairdue.domain.ledger import Component, DailyRate, Installment, LoanLedger, PaymentFact

# One installment as the importer holds it: seq, due_on (ISO text), principal, interest, fee.
Scheduled = tuple[int, str, int, int, int]
# One payment: payment id, business date (ISO text), amount in minor units.
Paid = tuple[str, str, int]


@dataclass(slots=True)
class LoanState:
    """What the importer stores: the loan's running state and each installment's payments."""

    next_unpaid_due_on: str | None
    accrued_through: str | None
    credit: int
    outstanding: int
    # Per installment in seq order: penalty, principal, interest, fee and penalty paid.
    paid: list[tuple[int, int, int, int, int]]
    shortcut: bool


def settle(schedule: Sequence[Scheduled], pays: Sequence[Paid], *, penalty_rate: str,
           order: tuple[Component, ...], loan_id: str = "", currency: str = "CNY") -> LoanState:
    """The state after `pays` on `schedule` (sorted by seq), as `LoanLedger.replay(through=None)`."""
    ordered = sorted(pays, key=lambda p: (p[1], p[0]))
    if _on_time(schedule, ordered):
        return _filled(schedule, ordered, order)
    return replayed(schedule, ordered, penalty_rate=penalty_rate, order=order,
                    loan_id=loan_id, currency=currency)


def _on_time(schedule: Sequence[Scheduled], ordered: Sequence[Paid]) -> bool:
    """True when no payment finds an unsettled installment due before its date."""
    paid_before = 0
    owed_before = 0   # total of the installments due before the current payment's date
    due_index = 0
    for _pid, paid_on, amount in ordered:
        while due_index < len(schedule) and schedule[due_index][1] < paid_on:
            _seq, _due, principal, interest, fee = schedule[due_index]
            owed_before += principal + interest + fee
            due_index += 1
        if owed_before > paid_before:
            return False
        paid_before += amount
    return True


def _filled(schedule: Sequence[Scheduled], ordered: Sequence[Paid],
            order: tuple[Component, ...]) -> LoanState:
    remaining = sum(p[2] for p in ordered)
    paid: list[tuple[int, int, int, int, int]] = []
    next_due: str | None = None
    outstanding = 0
    for _seq, due_on, principal, interest, fee in schedule:
        owed = principal + interest + fee
        if remaining == 0 and next_due is not None:
            paid.append((0, 0, 0, 0, 0))
            outstanding += owed
            continue
        if remaining >= owed:
            remaining -= owed
            paid.append((0, principal, interest, fee, 0))
            continue
        parts = {Component.PRINCIPAL: principal, Component.INTEREST: interest,
                 Component.FEE: fee, Component.PENALTY: 0}
        got = dict.fromkeys(parts, 0)
        for component in order:
            take = min(parts[component], remaining)
            got[component] = take
            remaining -= take
        paid.append((0, got[Component.PRINCIPAL], got[Component.INTEREST],
                     got[Component.FEE], 0))
        outstanding += owed - got[Component.PRINCIPAL] - got[Component.INTEREST] - got[Component.FEE]
        if next_due is None:
            next_due = due_on
    accrued = None
    if ordered and schedule and ordered[-1][1] > schedule[0][1]:
        accrued = ordered[-1][1]
    return LoanState(next_due, accrued, remaining, outstanding, paid, shortcut=True)


def replayed(schedule: Sequence[Scheduled], ordered: Sequence[Paid], *, penalty_rate: str,
             order: tuple[Component, ...], loan_id: str = "", currency: str = "CNY") -> LoanState:
    """The domain ledger's replay, for every loan the shortcut does not provably cover."""
    ledger = LoanLedger(
        loan_id, currency, DailyRate(Decimal(penalty_rate)),
        [Installment(seq, date.fromisoformat(due), p, i, f) for seq, due, p, i, f in schedule],
        order,
    )
    ledger.replay([PaymentFact(pid, date.fromisoformat(on), amount) for pid, on, amount in ordered],
                  through=None)
    next_due = ledger.next_unpaid_due_on
    return LoanState(
        next_due.isoformat() if next_due else None,
        ledger.accrued_through.isoformat() if ledger.accrued_through else None,
        ledger.credit,
        ledger.outstanding_minor(),
        [(i.penalty, i.principal_paid, i.interest_paid, i.fee_paid, i.penalty_paid)
         for i in ledger.installments],
        shortcut=False,
    )
