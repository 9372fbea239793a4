"""Affordability and waivers, worked through: the largest installment from stated income and
expenses, the approval limit per role, and a waiver spread over installments oldest first."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from fairdue.domain.affordability import Affordability
from fairdue.domain.approvals import Role
from fairdue.domain.ledger import Component
from fairdue.domain.money import Money
from fairdue.domain.waivers import (
    Owed,
    Waiver,
    WaiverApproved,
    WaiverLimits,
    WaiverPart,
    WaiverRejected,
    WaiverRequested,
    WaiverStatus,
    component_of,
    spread,
)
from fairdue.errors import InvalidInput, InvalidTransition

CST = timezone(timedelta(hours=8))
AT = datetime(2026, 7, 1, 10, 0, tzinfo=CST)
TODAY = date(2026, 7, 1)
LIMITS = WaiverLimits(agent_minor=5000, supervisor_minor=50000)  # ¥50.00, ¥500.00


def cny(text: str) -> Money:
    return Money.of(text, "CNY")


# ----- affordability ----------------------------------------------------------------------


def test_half_of_what_is_left_each_month() -> None:
    # ¥8,000.00 income, ¥5,000.00 expenses: ¥3,000.00 left, half of it ¥1,500.00 a month.
    a = Affordability(cny("8000.00"), cny("5000.00"), Decimal("0.5"))
    assert a.disposable == cny("3000.00")
    assert a.max_monthly_minor == 150000
    assert a.max_installment("monthly") == cny("1500.00")
    # Weekly: 1,500.00 x 12 / 52 = 346.1538... rounded down to 346.15.
    assert a.max_installment_minor("weekly") == 34615
    # Fortnightly: 1,500.00 x 12 / 26 = 692.3076... -> 692.30.
    assert a.max_installment_minor("biweekly") == 69230


def test_rounding_is_always_down_and_nothing_left_means_nothing_affordable() -> None:
    # ¥3,333.33 left x 0.3 = 999.999 -> 999.99: never a fen more than the rule allows.
    assert Affordability(cny("4333.33"), cny("1000.00"), Decimal("0.3")).max_monthly_minor == 99999
    broke = Affordability(cny("3000.00"), cny("3500.00"), Decimal("0.5"))
    assert broke.disposable == cny("0.00") and broke.max_installment_minor("monthly") == 0


def test_a_bad_share_or_mixed_currencies_are_refused() -> None:
    with pytest.raises(InvalidInput, match="above 0 and at most 1"):
        Affordability(cny("1.00"), cny("0.00"), Decimal("1.5"))
    with pytest.raises(InvalidInput, match="same currency"):
        Affordability(cny("1.00"), Money.of("0.00", "USD"), Decimal("0.5"))
    with pytest.raises(InvalidInput, match="cannot be negative"):
        Affordability(cny("-1.00"), cny("0.00"), Decimal("0.5"))


# ----- limits and the state machine -------------------------------------------------------


def test_who_may_approve_how_much() -> None:
    assert LIMITS.needed_role(5000) is Role.AGENT  # ¥50.00: an agent
    assert LIMITS.needed_role(5001) is Role.SUPERVISOR
    assert LIMITS.needed_role(50000) is Role.SUPERVISOR  # ¥500.00: a supervisor
    assert LIMITS.needed_role(50001) is Role.MANAGER  # above: a manager (or an admin)
    with pytest.raises(InvalidInput):
        WaiverLimits(agent_minor=100, supervisor_minor=50)


def waiver(amount: str = "80.00", owed: int = 12000) -> Waiver:
    return Waiver.request(case_id="C-B1", borrower_id="B1", component=Component.PENALTY,
                          amount=cny(amount), owed_minor=owed, reason="hospital stay",
                          requested_by="agent7", requested_at=AT, requested_on=TODAY)


def test_a_request_is_checked_against_what_is_owed() -> None:
    w = waiver()
    assert w.status is WaiverStatus.REQUESTED and w.waiver_id.startswith("WVR-")
    assert isinstance(w.events[0], WaiverRequested) and w.events[0].reason == "hospital stay"
    with pytest.raises(InvalidInput, match=r"owes 100\.00 CNY of penalty; cannot waive 120\.00"):
        waiver("120.00", owed=10000)
    with pytest.raises(InvalidInput, match="must be positive"):
        waiver("0.00")
    with pytest.raises(InvalidInput, match="cannot waive 'principal'"):
        component_of("principal")
    assert component_of("Fee") is Component.FEE


def test_an_agent_cannot_approve_above_their_limit_a_supervisor_can_with_a_reason() -> None:
    w = waiver()  # ¥80.00: above the agent's ¥50.00
    with pytest.raises(InvalidInput, match=r"needs a supervisor or above to approve it, not a agent"):
        w.approve(by="agent7", role=Role.AGENT, on=TODAY, reason="ok", limits=LIMITS, owed_minor=12000)
    with pytest.raises(InvalidInput, match="needs a reason"):
        w.approve(by="sup1", role=Role.SUPERVISOR, on=TODAY, reason="", limits=LIMITS,
                  owed_minor=12000)
    with pytest.raises(InvalidInput, match=r"now owes only 70\.00"):
        w.approve(by="sup1", role=Role.SUPERVISOR, on=TODAY, reason="ok", limits=LIMITS,
                  owed_minor=7000)
    event = w.approve(by="sup1", role=Role.SUPERVISOR, on=TODAY, reason="medical hardship proven",
                      limits=LIMITS, owed_minor=12000)
    assert isinstance(event, WaiverApproved)
    assert (event.by, event.role, event.reason, event.amount) == (
        "sup1", "supervisor", "medical hardship proven", "80.00")
    with pytest.raises(InvalidTransition, match="is approved; only a requested waiver"):
        w.reject(by="sup1", role=Role.SUPERVISOR, on=TODAY, reason="changed my mind")


def test_a_manager_or_admin_above_the_supervisor_limit_and_compliance_never() -> None:
    big = waiver("600.00", owed=70000)
    with pytest.raises(InvalidInput, match="needs a manager or above"):
        big.approve(by="sup1", role=Role.SUPERVISOR, on=TODAY, reason="x", limits=LIMITS,
                    owed_minor=70000)
    big.approve(by="adm", role=Role.ADMIN, on=TODAY, reason="settlement", limits=LIMITS,
                owed_minor=70000)
    small = waiver("10.00")
    with pytest.raises(InvalidInput, match="not a compliance"):
        small.approve(by="c1", role=Role.COMPLIANCE, on=TODAY, reason="x", limits=LIMITS,
                      owed_minor=12000)
    rejected = small.reject(by="agent7", role=Role.AGENT, on=TODAY, reason="no hardship shown")
    assert isinstance(rejected, WaiverRejected) and small.status is WaiverStatus.REJECTED


def test_a_waiver_is_spread_oldest_due_first() -> None:
    owed = [Owed("L2", 1, date(2026, 6, 20), 3000), Owed("L1", 2, date(2026, 6, 30), 5000),
            Owed("L1", 1, date(2026, 5, 31), 2500)]
    assert spread(6000, owed) == [WaiverPart("L1", 1, 2500), WaiverPart("L2", 1, 3000),
                                  WaiverPart("L1", 2, 500)]
    assert spread(10500, owed)[-1] == WaiverPart("L1", 2, 5000)
    with pytest.raises(InvalidInput, match="only 10500 minor units are owed"):
        spread(10501, owed)
