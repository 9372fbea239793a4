"""Repayment plans, worked through: the schedule (equal shares by largest remainder, custom
amounts, month ends), who may approve, and an active plan paid, missed, caught up,
completed and broken."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from fairdue.domain.approvals import Role, role_of
from fairdue.domain.money import Money
from fairdue.domain.plans import (
    InstallmentStatus,
    Plan,
    PlanActivated,
    PlanApproved,
    PlanBroken,
    PlanCompleted,
    PlanInstallmentMissed,
    PlanInstallmentPaid,
    PlanProposed,
    PlanRejected,
    PlanStatus,
    add_months,
    plan_amounts,
    plan_dates,
)
from fairdue.errors import InvalidInput, InvalidTransition

CST = timezone(timedelta(hours=8))
AT = datetime(2026, 7, 1, 10, 0, tzinfo=CST)
TODAY = date(2026, 7, 1)


def cny(text: str) -> Money:
    return Money.of(text, "CNY")


def plan(total: str = "1000.00", count: int = 3, first: date = date(2026, 7, 10),
         cadence: str = "monthly", max_minor: int | None = 50000, **kw: object) -> Plan:
    return Plan.propose(case_id="C-B1-20260701", borrower_id="B1", total=cny(total), count=count,
                        first_on=first, cadence=cadence, proposed_at=AT, proposed_on=TODAY,
                        proposed_by="agent7", max_installment_minor=max_minor, **kw)  # type: ignore[arg-type]


def active(p: Plan) -> Plan:
    p.approve(by="agent7", role=Role.AGENT, on=TODAY, reason=None)
    p.activate(at=AT, on=TODAY)
    return p


# ----- the schedule -------------------------------------------------------------------------


def test_equal_installments_add_up_exactly_the_odd_fen_going_first() -> None:
    # ¥1,000.00 over 3: 333.34 + 333.33 + 333.33 (largest remainder, earliest first)
    assert [m.amount for m in plan_amounts(cny("1000.00"), 3)] == [
        cny("333.34").amount, cny("333.33").amount, cny("333.33").amount]
    # ¥100.00 over 6: 16.67 x 4 + 16.66 x 2 = 100.00
    parts = plan_amounts(cny("100.00"), 6)
    assert [str(m.amount) for m in parts] == ["16.67"] * 4 + ["16.66"] * 2
    assert sum(m.minor for m in parts) == 10000


def test_custom_amounts_must_add_up_to_the_amount_due() -> None:
    assert [str(m.amount) for m in plan_amounts(cny("1000.00"), 2, [cny("600.00"), cny("400.00")])] \
        == ["600.00", "400.00"]
    with pytest.raises(InvalidInput, match=r"add up to 999\.99, not the 1000\.00 CNY due"):
        plan_amounts(cny("1000.00"), 2, [cny("600.00"), cny("399.99")])
    with pytest.raises(InvalidInput, match="3 amounts given for 2 installments"):
        plan_amounts(cny("1000.00"), 2, [cny("500.00"), cny("400.00"), cny("100.00")])
    with pytest.raises(InvalidInput, match="installment 2 must be positive"):
        plan_amounts(cny("1000.00"), 2, [cny("1000.00"), cny("0.00")])


def test_monthly_dates_keep_the_day_or_take_the_month_end() -> None:
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2028, 1, 31), 1) == date(2028, 2, 29)
    assert add_months(date(2026, 11, 30), 3) == date(2027, 2, 28)
    assert plan_dates(date(2026, 1, 31), 4, "monthly") == [
        date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 31), date(2026, 4, 30)]
    assert plan_dates(date(2026, 7, 10), 3, "weekly") == [
        date(2026, 7, 10), date(2026, 7, 17), date(2026, 7, 24)]
    assert plan_dates(date(2026, 7, 10), 2, "biweekly") == [date(2026, 7, 10), date(2026, 7, 24)]
    with pytest.raises(InvalidInput, match="unknown cadence 'daily'"):
        plan_dates(date(2026, 7, 10), 2, "daily")


def test_a_proposal_is_checked_and_records_what_was_shown() -> None:
    p = plan()
    assert p.status is PlanStatus.PROPOSED and p.plan_id.startswith("PLN-")
    assert [(i.seq, i.due_on, i.amount_minor) for i in p.installments] == [
        (1, date(2026, 7, 10), 33334), (2, date(2026, 8, 10), 33333), (3, date(2026, 9, 10), 33333)]
    assert p.total_minor == 100000
    (event,) = p.events
    assert isinstance(event, PlanProposed) and event.total == "1000.00" and event.installments == 3
    assert plan().plan_id == p.plan_id  # the same proposal twice is one plan
    with pytest.raises(InvalidInput, match="before today"):
        plan(first=date(2026, 6, 30))
    with pytest.raises(InvalidInput, match="1 to 24 installments, got 25"):
        plan(count=25)
    with pytest.raises(InvalidInput, match="positive amount"):
        plan(total="0.00")


# ----- deciding ----------------------------------------------------------------------------


def test_an_affordable_plan_an_agent_approves_then_it_is_activated() -> None:
    p = plan()  # 333.34 a month, the borrower can carry 500.00
    assert not p.needs_supervisor
    approved = p.approve(by="agent7", role=Role.AGENT, on=TODAY, reason=None)
    assert isinstance(approved, PlanApproved) and p.status is PlanStatus.APPROVED
    activated = p.activate(at=AT, on=TODAY)
    assert isinstance(activated, PlanActivated) and p.status is PlanStatus.ACTIVE
    assert p.on_track()
    with pytest.raises(InvalidTransition, match="is active; only a proposed plan can be approved"):
        p.approve(by="sup1", role=Role.SUPERVISOR, on=TODAY, reason="again")


def test_above_affordability_needs_a_supervisor_with_a_reason() -> None:
    p = plan(max_minor=30000)  # 333.34 > 300.00
    assert p.needs_supervisor
    with pytest.raises(InvalidInput, match=r"needs a supervisor's approval: its largest installment "
                                           r"333\.34 is above the 300\.00"):
        p.approve(by="agent7", role=Role.AGENT, on=TODAY, reason="she promised")
    with pytest.raises(InvalidInput, match="needs a reason"):
        p.approve(by="sup1", role=Role.SUPERVISOR, on=TODAY, reason="  ")
    event = p.approve(by="sup1", role=Role.SUPERVISOR, on=TODAY, reason="bonus due in August")
    assert (event.by, event.role, event.reason) == ("sup1", "supervisor", "bonus due in August")
    unknown = plan(max_minor=None, first=date(2026, 7, 11))  # no finances stated
    assert unknown.needs_supervisor
    with pytest.raises(InvalidInput, match="what the borrower can afford is unknown"):
        unknown.approve(by="agent7", role=Role.AGENT, on=TODAY, reason="x")


def test_compliance_approves_nothing_and_a_rejection_needs_a_reason() -> None:
    p = plan()
    with pytest.raises(InvalidInput, match="a compliance cannot approve plans"):
        p.approve(by="c1", role=Role.COMPLIANCE, on=TODAY, reason="ok")
    with pytest.raises(InvalidInput, match="needs a reason"):
        p.reject(by="agent7", role=Role.AGENT, on=TODAY, reason=None)
    rejected = p.reject(by="agent7", role=Role.AGENT, on=TODAY, reason="income not verified")
    assert isinstance(rejected, PlanRejected) and p.status is PlanStatus.REJECTED
    assert p.ended_on == TODAY
    with pytest.raises(InvalidTransition, match="is rejected; only a approved plan can be activated"):
        p.activate(at=AT, on=TODAY)
    with pytest.raises(InvalidInput, match="unknown role 'boss'"):
        role_of("boss")
    assert role_of(" Supervisor ") is Role.SUPERVISOR


# ----- following an active plan -----------------------------------------------------------


def test_payments_fill_installments_oldest_first() -> None:
    p = active(plan())
    events = p.count_payments(40000, date(2026, 7, 9))  # ¥400.00 before the first date
    assert [(i.paid_minor, i.status) for i in p.installments] == [
        (33334, InstallmentStatus.PAID), (6666, InstallmentStatus.DUE), (0, InstallmentStatus.DUE)]
    assert [type(e) for e in events] == [PlanInstallmentPaid]
    assert p.paid_minor == 40000 and p.next_due() is p.installments[1]


def test_an_installment_unpaid_after_its_date_is_missed_and_catching_up_clears_it() -> None:
    p = active(plan())
    assert p.assess(0, date(2026, 7, 10), missed_limit=2) == []  # due today: not yet missed
    events = p.assess(0, date(2026, 7, 11), missed_limit=2)
    assert [type(e) for e in events] == [PlanInstallmentMissed]
    assert events[0].unpaid == "333.34"  # type: ignore[attr-defined]
    assert p.status is PlanStatus.ACTIVE and p.missed == 1 and not p.on_track()
    caught_up = p.assess(33334, date(2026, 7, 12), missed_limit=2)
    assert [type(e) for e in caught_up] == [PlanInstallmentPaid] and p.on_track()


def test_two_missed_at_once_break_the_plan() -> None:
    p = active(plan())
    p.assess(0, date(2026, 7, 11), missed_limit=2)
    events = p.assess(33334, date(2026, 9, 11), missed_limit=2)  # 1st paid late, 2nd and 3rd missed
    assert [type(e) for e in events] == [PlanInstallmentPaid, PlanInstallmentMissed,
                                         PlanInstallmentMissed, PlanBroken]
    assert p.status is PlanStatus.BROKEN and p.ended_on == date(2026, 9, 11)
    broken = events[-1]
    assert isinstance(broken, PlanBroken) and broken.missed == 2 and broken.paid == "333.34"
    with pytest.raises(InvalidTransition):
        p.assess(100000, date(2026, 9, 12), missed_limit=2)


def test_everything_paid_completes_the_plan_and_overpaying_changes_nothing() -> None:
    p = active(plan(first=date(2026, 7, 1), count=2, total="500.01"))
    events = p.assess(60000, date(2026, 7, 2), missed_limit=2)
    assert [type(e) for e in events] == [PlanInstallmentPaid, PlanInstallmentPaid, PlanCompleted]
    assert p.status is PlanStatus.COMPLETED and p.paid_minor == 50001
    assert isinstance(events[-1], PlanCompleted) and events[-1].paid == "500.01"


def test_penalty_is_frozen_only_for_a_plan_agreed_so_while_it_runs() -> None:
    continuing = active(plan())
    assert continuing.penalty_frozen_through() is None
    frozen = active(plan(first=date(2026, 7, 12), penalty_continues=False))
    assert frozen.penalty_frozen_through() == (TODAY, None)
    frozen.assess(0, date(2026, 8, 13), missed_limit=2)
    assert frozen.status is PlanStatus.BROKEN
    assert frozen.penalty_frozen_through() == (TODAY, date(2026, 8, 13))


def test_a_plan_whose_case_closed_completes_with_what_was_paid() -> None:
    p = active(plan())
    events = p.close_with_case(50000, date(2026, 7, 20))  # the rest was waived
    assert [type(e) for e in events] == [PlanInstallmentPaid, PlanCompleted]
    assert [(i.paid_minor, i.status) for i in p.installments] == [
        (33334, InstallmentStatus.PAID), (16666, InstallmentStatus.DUE), (0, InstallmentStatus.DUE)]
    assert p.status is PlanStatus.COMPLETED and p.ended_on == date(2026, 7, 20)
    assert isinstance(events[-1], PlanCompleted) and events[-1].paid == "500.00"
    with pytest.raises(InvalidTransition):
        p.close_with_case(0, date(2026, 7, 21))
