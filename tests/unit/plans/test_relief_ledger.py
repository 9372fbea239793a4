"""Relief on the ledger, worked through: a frozen day charges no penalty, a waiver settles
penalty or fee without money, and a replay gives the same state as the daily path."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from fairdue.domain.ledger import (
    DEFAULT_ALLOCATION_ORDER,
    Component,
    LoanLedger,
    PaymentFact,
    ScheduledInstallment,
)
from fairdue.domain.money import Money
from fairdue.domain.relief import Credit, Freeze, accrue, apply_credit, frozen_days, replay
from fairdue.errors import InvalidInput


def ledger(order: tuple[Component, ...] = DEFAULT_ALLOCATION_ORDER) -> LoanLedger:
    """¥1,000.00 principal + ¥20.00 interest + ¥5.00 fee due 30 June; penalty 0.05% a day,
    so ¥0.50 a day on the unpaid principal from 1 July."""
    cny = lambda s: Money.of(s, "CNY")  # noqa: E731
    return LoanLedger.from_schedule(
        "L1", "CNY", [ScheduledInstallment(1, date(2026, 6, 30), cny("1000.00"), cny("20.00"),
                                           cny("5.00"))],
        penalty_daily_rate=Decimal("0.0005"), allocation_order=order)


def test_frozen_days_count_overlaps_once() -> None:
    freezes = [Freeze(date(2026, 7, 3), date(2026, 7, 5)), Freeze(date(2026, 7, 5), date(2026, 7, 6))]
    assert frozen_days(date(2026, 7, 1), date(2026, 7, 10), freezes) == 4  # 3, 4, 5, 6 July
    assert frozen_days(date(2026, 7, 1), date(2026, 7, 10), [Freeze(date(2026, 7, 8))]) == 3
    assert frozen_days(date(2026, 7, 4), date(2026, 7, 4), freezes) == 1
    with pytest.raises(InvalidInput, match="ends"):
        Freeze(date(2026, 7, 5), date(2026, 7, 4))


def test_ten_days_with_three_frozen_charge_seven_days_of_penalty() -> None:
    freezes = [Freeze(date(2026, 7, 4), date(2026, 7, 6))]
    daily = ledger()
    for day in range(1, 11):  # the daily run, one business date at a time
        accrue(daily, date(2026, 7, day), freezes)
    assert daily.installments[0].penalty == 7 * 50  # ¥3.50, not ¥5.00
    at_once = ledger()
    accrue(at_once, date(2026, 7, 10), freezes)  # a catch-up over the ten days
    assert at_once.installments[0].penalty == 350
    plain = ledger()
    accrue(plain, date(2026, 7, 10))
    assert plain.installments[0].penalty == 500


def test_a_waiver_credit_settles_penalty_and_fee_without_money() -> None:
    loan = ledger()
    loan.accrue_through(date(2026, 7, 10))  # ¥5.00 penalty
    assert loan.amount_due_minor(date(2026, 7, 11)) == 100000 + 2000 + 500 + 500
    assert apply_credit(loan, Credit(date(2026, 7, 10), 1, Component.PENALTY, 300)) == 300
    assert apply_credit(loan, Credit(date(2026, 7, 10), 1, Component.FEE, 900)) == 500  # only 5.00 owed
    assert loan.amount_due_minor(date(2026, 7, 11)) == 100000 + 2000 + 200
    assert loan.installments[0].penalty == 500  # what was charged stays on record


def test_a_waiver_that_settles_the_last_of_an_installment_cures_it() -> None:
    loan = ledger((Component.PRINCIPAL, Component.INTEREST, Component.FEE, Component.PENALTY))
    loan.post(PaymentFact("P1", date(2026, 7, 2), 102500))  # all but the ¥1.00 penalty
    assert loan.dpd(date(2026, 7, 3)) == 3 and loan.installments[0].unpaid_total == 100
    apply_credit(loan, Credit(date(2026, 7, 2), 1, Component.PENALTY, 100))
    assert loan.paid_off and loan.dpd(date(2026, 7, 3)) == 0


def test_replay_without_relief_is_the_ledgers_own_replay() -> None:
    payments = [PaymentFact("P1", date(2026, 7, 5), 30000), PaymentFact("P2", date(2026, 7, 8), 20000)]
    ours, theirs = ledger(), ledger()
    a = replay(ours, payments, [], [], through=date(2026, 7, 12))
    b = theirs.replay(payments, through=date(2026, 7, 12))
    assert a == b and ours.installments == theirs.installments
    assert ours.accrued_through == theirs.accrued_through == date(2026, 7, 12)


def test_replay_applies_freezes_and_credits_so_a_payment_cannot_undo_them() -> None:
    freezes = [Freeze(date(2026, 7, 1), date(2026, 7, 3))]
    credits = [Credit(date(2026, 7, 5), 1, Component.PENALTY, 100, "WVR-1")]
    daily = ledger()
    for day in range(1, 6):
        accrue(daily, date(2026, 7, day), freezes)
    assert daily.installments[0].penalty == 100  # 4 and 5 July only
    apply_credit(daily, credits[0])
    assert daily.installments[0].unpaid(Component.PENALTY) == 0
    # A payment on 5 July: replayed with the relief, the penalty stays waived and frozen.
    loan = ledger()
    allocations = replay(loan, [PaymentFact("P1", date(2026, 7, 5), 10000)], credits, freezes,
                         through=date(2026, 7, 5))
    inst = loan.installments[0]
    assert (inst.penalty, inst.penalty_paid) == (100, 100)
    # The credit came first that day: the whole ¥100.00 went to fee, interest, principal.
    assert [(c, m) for _s, c, m in allocations[0].parts] == [
        (Component.FEE, 500), (Component.INTEREST, 2000), (Component.PRINCIPAL, 7500)]
    # Without the relief the same payment would have paid ¥2.50 of penalty.
    bare = ledger()
    bare.replay([PaymentFact("P1", date(2026, 7, 5), 10000)], through=date(2026, 7, 5))
    assert bare.installments[0].penalty == 250
