"""Promises to pay, worked through: kept on time, late within the tolerance, a little short
within the tolerance, broken, partial payments adding up, and a payment made before the
promise that does not count."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from fairdue.domain.money import Money
from fairdue.domain.promises import (
    PaymentSeen,
    Promise,
    PromiseBroken,
    PromiseKept,
    PromiseMade,
    PromiseStatus,
    PromiseTolerance,
)
from fairdue.errors import InvalidInput, InvalidTransition

CST = timezone(timedelta(hours=8))
MADE_AT = datetime(2026, 7, 1, 10, 0, tzinfo=CST)
TODAY = date(2026, 7, 1)
DUE = date(2026, 7, 5)
TOLERANCE = PromiseTolerance(days=1, amount_minor=100)  # a day late, ¥1.00 short


def promise(amount: str = "500.00", due_on: date = DUE) -> Promise:
    made, event = Promise.make(case_id="C-B1-20260701", borrower_id="B1", amount=Money.of(amount),
                               due_on=due_on, made_at=MADE_AT, made_on=TODAY, made_by="agent7",
                               attempt_id="A-1")
    assert isinstance(event, PromiseMade)
    assert event.amount == amount and event.due_on == due_on and event.made_by == "agent7"
    return made


def paid(on: date, amount: str, hour: int = 12) -> PaymentSeen:
    return PaymentSeen(datetime(on.year, on.month, on.day, hour, tzinfo=CST), on,
                       Money.of(amount).minor, "CNY")


def test_a_new_promise_is_pending() -> None:
    p = promise()
    assert p.status is PromiseStatus.PENDING
    assert p.promise_id.startswith("PTP-") and p.settled_on is None


def test_kept_on_time() -> None:
    p = promise()
    outcome = p.assess([paid(date(2026, 7, 4), "500.00")], date(2026, 7, 4), TOLERANCE)
    assert isinstance(outcome, PromiseKept)
    assert p.status is PromiseStatus.KEPT and p.settled_on == date(2026, 7, 4)
    assert outcome.paid == "500.00" and outcome.name == "PromiseKept"


def test_kept_a_day_late_within_the_tolerance_days() -> None:
    p = promise()
    outcome = p.assess([paid(date(2026, 7, 6), "500.00")], date(2026, 7, 6), TOLERANCE)
    assert isinstance(outcome, PromiseKept)
    assert p.settled_on == date(2026, 7, 6)


def test_two_days_late_is_too_late() -> None:
    p = promise()
    outcome = p.assess([paid(date(2026, 7, 7), "500.00")], date(2026, 7, 7), TOLERANCE)
    assert isinstance(outcome, PromiseBroken)
    assert p.status is PromiseStatus.BROKEN and p.paid_minor == 0


def test_kept_with_a_shortfall_inside_the_tolerance_amount() -> None:
    p = promise()
    outcome = p.assess([paid(date(2026, 7, 5), "499.00")], date(2026, 7, 5), TOLERANCE)
    assert isinstance(outcome, PromiseKept)
    assert outcome.paid == "499.00"


def test_a_shortfall_beyond_the_tolerance_amount_is_not_enough() -> None:
    p = promise()
    payments = [paid(date(2026, 7, 5), "498.99")]
    assert p.assess(payments, date(2026, 7, 6), TOLERANCE) is None  # the window is still open
    assert p.paid_minor == 49899
    outcome = p.assess(payments, date(2026, 7, 7), TOLERANCE)
    assert isinstance(outcome, PromiseBroken)
    assert outcome.paid == "498.99" and outcome.on == date(2026, 7, 7)


def test_broken_when_nothing_is_paid() -> None:
    p = promise()
    assert p.assess([], date(2026, 7, 5), TOLERANCE) is None
    assert p.assess([], date(2026, 7, 6), TOLERANCE) is None  # the tolerance day
    outcome = p.assess([], date(2026, 7, 7), TOLERANCE)
    assert isinstance(outcome, PromiseBroken) and outcome.paid == "0.00"
    assert p.assess([], date(2026, 7, 8), TOLERANCE) is None  # decided once


def test_partial_payments_add_up() -> None:
    p = promise()
    payments = [paid(date(2026, 7, 2), "200.00"), paid(date(2026, 7, 3), "150.00")]
    assert p.assess(payments, date(2026, 7, 3), TOLERANCE) is None
    assert p.paid_minor == 35000
    payments.append(paid(date(2026, 7, 5), "150.00"))
    outcome = p.assess(payments, date(2026, 7, 5), TOLERANCE)
    assert isinstance(outcome, PromiseKept)
    assert outcome.paid == "500.00" and p.settled_on == date(2026, 7, 5)


def test_a_payment_before_the_promise_does_not_count() -> None:
    p = promise()
    earlier_today = PaymentSeen(MADE_AT - timedelta(hours=1), TODAY, Money.of("500.00").minor, "CNY")
    assert p.assess([earlier_today], date(2026, 7, 5), TOLERANCE) is None
    assert isinstance(p.assess([earlier_today], date(2026, 7, 7), TOLERANCE), PromiseBroken)


def test_a_payment_in_another_currency_does_not_count() -> None:
    p = promise()
    usd = PaymentSeen(datetime(2026, 7, 2, 12, tzinfo=CST), date(2026, 7, 2), 50000, "USD")
    assert p.assess([usd], date(2026, 7, 2), TOLERANCE) is None


@pytest.mark.parametrize(("amount", "due_on", "message"), [
    ("0.00", DUE, "must be positive"),
    ("-5.00", DUE, "must be positive"),
    ("100.00", date(2026, 6, 30), "before the promise's own date"),
    ("100.00", date(2026, 8, 1), "more than 30 days"),
])
def test_a_promise_is_checked_when_made(amount: str, due_on: date, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        promise(amount, due_on)


def test_due_today_and_due_in_thirty_days_are_allowed() -> None:
    assert promise(due_on=TODAY).due_on == TODAY
    assert promise(due_on=TODAY + timedelta(days=30)).due_on == date(2026, 7, 31)


def test_a_settled_promise_cannot_change() -> None:
    p = promise()
    p.keep(date(2026, 7, 2), 50000)
    with pytest.raises(InvalidTransition, match="is kept"):
        p.break_(date(2026, 7, 7), 0)
    with pytest.raises(InvalidTransition):
        p.cancel(date(2026, 7, 7), "case closed")


def test_a_pending_promise_can_be_cancelled() -> None:
    p = promise()
    event = p.cancel(date(2026, 7, 3), "case closed")
    assert p.status is PromiseStatus.CANCELLED and event.reason == "case closed"
