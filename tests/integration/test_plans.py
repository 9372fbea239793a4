"""Repayment plans on SQLite and PostgreSQL: shown, agreed and followed by payments and the
daily run; while on track the policy sends only reminders of plan dates, a missed
installment puts the case back on the ladder, two break the plan; a plan agreed with
penalty stopped freezes it; and the case timeline tells the story."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from test_strategy_run import CST, DAY1, MovingClock, _app, _write_portfolio

from fairdue.adapters.db.tables import audit_log, contacts, decisions, domain_events, installments
from fairdue.adapters.db.tables_plans import penalty_freezes, plan_installments, plans
from fairdue.bootstrap import App
from fairdue.errors import InvalidInput, InvalidTransition, NotFound
from fairdue.services.daily_run import run_days
from fairdue.services.importer import import_portfolio
from fairdue.services.payments import PaymentRequest, post_payment
from fairdue.services.plans import (
    approve_plan,
    find_plans,
    plan_detail,
    propose_plan,
    reject_plan,
)
from fairdue.services.timeline import case_timeline


@pytest.fixture
def clock() -> MovingClock:
    return MovingClock(datetime(2026, 7, 1, 0, 30, tzinfo=CST))


@pytest.fixture
def app(db_url: str, tmp_path: Path, clock: MovingClock) -> Iterator[App]:
    application = _app(db_url, tmp_path, clock)
    import_portfolio(application, _write_portfolio(tmp_path / "data"))
    run_days(application, through=DAY1)  # B1 owes 1,020.50 (one day of ¥0.50 penalty)
    clock.set(datetime(2026, 7, 1, 10, 0, tzinfo=CST))
    try:
        yield application
    finally:
        application.close()


def _run(app: App, clock: MovingClock, day: date) -> None:
    clock.set(datetime(day.year, day.month, day.day, 0, 30, tzinfo=CST))
    run_days(app, through=day)


def _steps(app: App, borrower: str) -> dict[date, str | None]:
    with app.engine.connect() as conn:
        return dict(conn.execute(select(decisions.c.business_date, decisions.c.step)
                                 .where(decisions.c.borrower_id == borrower)).all())


def _facts(app: App, borrower: str, day: date) -> dict[str, Any]:
    with app.engine.connect() as conn:
        text = conn.execute(select(decisions.c.facts).where(
            decisions.c.borrower_id == borrower, decisions.c.business_date == day)).scalar_one()
    facts: dict[str, Any] = json.loads(text)
    return facts


def _schedule(app: App, plan_id: str) -> list[tuple[int, int, str]]:
    with app.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(  # type: ignore[misc]
            select(plan_installments.c.seq, plan_installments.c.paid_minor, plan_installments.c.status)
            .where(plan_installments.c.plan_id == plan_id).order_by(plan_installments.c.seq))]


def _status(app: App, plan_id: str) -> str:
    with app.engine.connect() as conn:
        return str(conn.execute(select(plans.c.status).where(plans.c.plan_id == plan_id)).scalar_one())


def _events(app: App, subject: str) -> list[str]:
    with app.engine.connect() as conn:
        return list(conn.execute(select(domain_events.c.name).where(domain_events.c.subject == subject)
                                 .order_by(domain_events.c.event_id)).scalars())


def _penalty(app: App, loan_id: str) -> int:
    with app.engine.connect() as conn:
        return int(conn.execute(select(installments.c.penalty_minor)
                                .where(installments.c.loan_id == loan_id)).scalar_one())


def test_a_plan_shown_agreed_and_followed_sends_only_reminders_of_its_dates(
        app: App, clock: MovingClock) -> None:
    shown = propose_plan(app, borrower_id="B1", installments=3, first_on=date(2026, 7, 5),
                         income="8000.00", expenses="5000.00", actor="agent7", preview=True)
    assert [i.amount_minor for i in shown.installments] == [34017, 34017, 34016]  # = 1,020.50
    assert [i.due_on for i in shown.installments] == [date(2026, 7, 5), date(2026, 8, 5),
                                                      date(2026, 9, 5)]
    with app.engine.connect() as conn:
        assert find_plans(conn) == []  # a preview records nothing
    plan = propose_plan(app, borrower_id="B1", installments=3, first_on=date(2026, 7, 5),
                        income="8000.00", expenses="5000.00", actor="agent7")
    assert plan.plan_id == shown.plan_id and not plan.needs_supervisor  # 340.17 <= 1,500.00
    with pytest.raises(InvalidInput, match=f"already has plan {plan.plan_id} \\(proposed\\)"):
        propose_plan(app, borrower_id="B1", installments=2, first_on=date(2026, 7, 6))

    approve_plan(app, plan_id=plan.plan_id, actor="agent7", role="agent")
    assert _status(app, plan.plan_id) == "active"
    assert _events(app, plan.plan_id) == ["PlanProposed", "PlanApproved", "PlanActivated"]
    with app.engine.connect() as conn:
        audited = conn.execute(select(audit_log.c.actor, audit_log.c.details).where(
            audit_log.c.action == "PlanApproved", audit_log.c.subject == plan.plan_id)).one()
    assert audited.actor == "agent7" and json.loads(audited.details)["role"] == "agent"

    for day in range(2, 6):
        _run(app, clock, date(2026, 7, day))
    steps = _steps(app, "B1")
    # On track: a pause, and an SMS reminder in the two days before the plan date (the last
    # SMS went out on 1 July, so 4 July is the first day the SMS cadence allows one).
    assert [steps[date(2026, 7, d)] for d in range(2, 6)] == [
        "hold_plan", "hold_plan", "plan_reminder", "hold_plan"]
    assert _facts(app, "B1", date(2026, 7, 4))["days_to_plan_due"] == 1
    with app.engine.connect() as conn:
        sent = conn.execute(select(contacts.c.channel, contacts.c.template).where(
            contacts.c.borrower_id == "B1", contacts.c.created_at > datetime(2026, 7, 1, 12,
                                                                               tzinfo=CST))).all()
    assert [tuple(r) for r in sent] == [("sms", "plan_reminder_sms")]

    clock.set(datetime(2026, 7, 5, 11, 0, tzinfo=CST))
    post_payment(app, PaymentRequest("PAY1", "L1", "340.17", datetime(2026, 7, 5, 10, 0, tzinfo=CST),
                                     "app"))
    assert _schedule(app, plan.plan_id) == [(1, 34017, "paid"), (2, 0, "due"), (3, 0, "due")]
    assert _events(app, plan.plan_id)[-1] == "PlanInstallmentPaid"
    _run(app, clock, date(2026, 7, 6))
    assert _steps(app, "B1")[date(2026, 7, 6)] == "hold_plan"
    with app.engine.connect() as conn:
        detail = plan_detail(conn, plan.plan_id)
    assert detail["paid"] == "340.17" and detail["schedule"][1]["amount"] == "340.17"


def test_missed_installments_resume_the_ladder_then_break_the_plan(app: App, clock: MovingClock
                                                                   ) -> None:
    plan = propose_plan(app, borrower_id="B1", installments=2, first_on=date(2026, 7, 3),
                        cadence="weekly", actor="agent7")
    assert plan.needs_supervisor  # no income or expenses stated
    with pytest.raises(InvalidInput, match="needs a supervisor's approval: what the borrower can "
                                           "afford is unknown"):
        approve_plan(app, plan_id=plan.plan_id, actor="agent7", role="agent")
    with pytest.raises(InvalidInput, match="needs a reason"):
        approve_plan(app, plan_id=plan.plan_id, actor="sup1", role="supervisor")
    assert _status(app, plan.plan_id) == "proposed"  # nothing half-written
    approve_plan(app, plan_id=plan.plan_id, actor="sup1", role="supervisor",
                 reason="income verified by phone with employer")

    _run(app, clock, date(2026, 7, 3))
    assert _steps(app, "B1")[date(2026, 7, 3)] == "hold_plan"  # due today: not missed yet
    _run(app, clock, date(2026, 7, 4))
    assert _schedule(app, plan.plan_id)[0] == (1, 0, "missed")
    assert _status(app, plan.plan_id) == "active"
    assert _steps(app, "B1")[date(2026, 7, 4)] == "reminder_sms"  # behind: the ladder again
    assert _facts(app, "B1", date(2026, 7, 4))["active_plan"] is False
    _run(app, clock, date(2026, 7, 11))
    assert _status(app, plan.plan_id) == "broken"
    assert _events(app, plan.plan_id) == [
        "PlanProposed", "PlanApproved", "PlanActivated", "PlanInstallmentMissed",
        "PlanInstallmentMissed", "PlanBroken"]
    assert _schedule(app, plan.plan_id) == [(1, 0, "missed"), (2, 0, "missed")]
    assert _steps(app, "B1")[date(2026, 7, 11)] != "hold_plan"
    with pytest.raises(InvalidTransition, match="is broken; only a proposed plan can be approved"):
        approve_plan(app, plan_id=plan.plan_id, actor="sup1", role="supervisor", reason="x")


def test_a_plan_with_penalty_stopped_freezes_it_and_a_payment_does_not_bring_it_back(
        app: App, clock: MovingClock) -> None:
    plan = propose_plan(app, borrower_id="B1", installments=2, first_on=date(2026, 7, 10),
                        penalty_continues=False, income="6000.00", expenses="1000.00",
                        actor="agent7")
    approve_plan(app, plan_id=plan.plan_id, actor="agent7", role="agent")
    with app.engine.connect() as conn:
        freeze = conn.execute(select(penalty_freezes)).one()
    assert freeze.starts_on == date(2026, 7, 2)  # 1 July's penalty was charged before approval
    for day in range(2, 5):
        _run(app, clock, date(2026, 7, day))
    assert _penalty(app, "L1") == 50  # still the one day of 1 July
    assert _penalty(app, "L2") == 4 * 30  # B2 has no plan: ¥0.30 a day
    clock.set(datetime(2026, 7, 4, 11, 0, tzinfo=CST))
    post_payment(app, PaymentRequest("PAY9", "L1", "10.00", datetime(2026, 7, 4, 10, 0, tzinfo=CST),
                                     "app"))  # the ledger is replayed: the freeze holds
    assert _penalty(app, "L1") == 50


def test_a_rejected_plan_and_the_errors_an_operator_can_make(app: App) -> None:
    with pytest.raises(InvalidInput, match="B3 has no open case"):
        propose_plan(app, borrower_id="B3", installments=2, first_on=date(2026, 7, 5))
    with pytest.raises(NotFound, match="no borrower 'B9'"):
        propose_plan(app, borrower_id="B9", installments=2, first_on=date(2026, 7, 5))
    with pytest.raises(InvalidInput, match=r"add up to 1000\.00, not the 1020\.50 CNY due"):
        propose_plan(app, borrower_id="B1", installments=2, first_on=date(2026, 7, 5),
                     amounts=["500.00", "500.00"])
    with pytest.raises(InvalidInput, match="give both --income and --expenses"):
        propose_plan(app, borrower_id="B1", installments=2, first_on=date(2026, 7, 5), income="1.00")
    with pytest.raises(NotFound, match="no plan 'PLN-x'"):
        approve_plan(app, plan_id="PLN-x", actor="a", role="agent")
    plan = propose_plan(app, borrower_id="B1", installments=2, first_on=date(2026, 7, 5),
                        amounts=["1000.00", "20.50"], income="9000.00", expenses="1000.00")
    with pytest.raises(InvalidInput, match="unknown role 'boss'"):
        reject_plan(app, plan_id=plan.plan_id, actor="a", role="boss", reason="x")
    reject_plan(app, plan_id=plan.plan_id, actor="agent7", role="agent",
                reason="the amounts leave nothing for rent")
    assert _status(app, plan.plan_id) == "rejected"
    again = propose_plan(app, borrower_id="B1", installments=2, first_on=date(2026, 7, 5),
                         at=datetime(2026, 7, 1, 11, 0, tzinfo=CST))
    with app.engine.connect() as conn:
        assert [p["status"] for p in find_plans(conn, borrower_id="B1")] == ["rejected", "proposed"]
        assert [p["plan_id"] for p in find_plans(conn, status="proposed")] == [again.plan_id]
        with pytest.raises(InvalidInput, match="unknown plan status"):
            find_plans(conn, status="late")


def test_the_timeline_shows_plans_grace_and_waivers(app: App) -> None:
    from fairdue.services.grace import grant_grace
    from fairdue.services.waivers import approve_waiver, request_waiver

    plan = propose_plan(app, borrower_id="B1", installments=2, first_on=date(2026, 7, 5))
    reject_plan(app, plan_id=plan.plan_id, actor="agent7", role="agent", reason="too short")
    grant_grace(app, borrower_id="B1", days=3, reason="hospital", actor="agent7")
    waiver = request_waiver(app, borrower_id="B1", component="penalty", amount="0.50",
                            reason="first default", actor="agent7")
    approve_waiver(app, waiver_id=waiver.waiver_id, actor="agent7", role="agent", reason="small")
    with app.engine.connect() as conn:
        case_id = conn.execute(select(plans.c.case_id)).scalar_one()
        timeline = case_timeline(conn, case_id)
    summaries = [e.summary for e in timeline.entries]
    assert f"PlanProposed {plan.plan_id}" in summaries and f"PlanRejected {plan.plan_id}" in summaries
    assert f"WaiverApproved {waiver.waiver_id}" in summaries
    assert any(s.startswith("grace 2026-07-01 to 2026-07-03") for s in summaries)


def test_a_plan_ends_completed_when_a_waiver_and_a_payment_close_the_case(
        app: App, clock: MovingClock) -> None:
    from fairdue.services.waivers import approve_waiver, request_waiver

    # B2 owes 612.30 (¥0.30 of penalty): a plan of two, then the penalty waived.
    plan = propose_plan(app, borrower_id="B2", installments=2, first_on=date(2026, 7, 10),
                        income="5000.00", expenses="3000.00")
    approve_plan(app, plan_id=plan.plan_id, actor="agent7", role="agent")
    waiver = request_waiver(app, borrower_id="B2", component="penalty", amount="0.30",
                            reason="paying the rest now")
    approve_waiver(app, waiver_id=waiver.waiver_id, actor="agent7", role="agent", reason="ok")
    assert _status(app, plan.plan_id) == "active"
    clock.set(datetime(2026, 7, 1, 11, 0, tzinfo=CST))
    result = post_payment(app, PaymentRequest("PAY3", "L2", "612.00",
                                              datetime(2026, 7, 1, 10, 30, tzinfo=CST), "app"))
    assert result.case_cured
    # 612.00 of the plan's 612.30: the case is closed, so the plan has nothing left to collect.
    assert _status(app, plan.plan_id) == "completed"
    assert _schedule(app, plan.plan_id) == [(1, 30615, "paid"), (2, 30585, "due")]
    assert _events(app, plan.plan_id)[-2:] == ["PlanInstallmentPaid", "PlanCompleted"]


def _dispatch(app: App, outbox: Path, now: datetime) -> dict[str, str]:
    """Send what is due at `now` into a file sink; the bodies by template."""
    from fairdue.adapters.channels import sender_for
    from fairdue.adapters.templates import templates_from_settings
    from fairdue.services.dispatch import Dispatcher

    senders = {c: sender_for(f"file://{outbox}") for c in ("sms", "email", "push")}
    Dispatcher(app, senders, templates_from_settings(app.settings), worker="w1",
               jitter=lambda: 0.5).run_once(now=now)
    with app.engine.connect() as conn:
        templates = dict(conn.execute(select(contacts.c.contact_id, contacts.c.template)).all())
    bodies: dict[str, str] = {}
    for file in outbox.glob("*.json"):
        message = json.loads(file.read_text(encoding="utf-8"))
        bodies[templates[message["contact_id"]]] = message["body"]
    return bodies


def test_a_plan_reminder_states_the_next_date_and_amount_read_when_it_is_sent(
        app: App, clock: MovingClock, tmp_path: Path) -> None:
    plan = propose_plan(app, borrower_id="B1", installments=3, first_on=date(2026, 7, 5),
                        income="8000.00", expenses="5000.00", actor="agent7")
    approve_plan(app, plan_id=plan.plan_id, actor="agent7", role="agent")
    for day in range(2, 5):
        _run(app, clock, date(2026, 7, day))
    bodies = _dispatch(app, tmp_path / "outbox", datetime(2026, 7, 4, 9, 5, tzinfo=CST))
    assert "下一期2026年7月5日到期，金额¥340.17" in bodies["plan_reminder_sms"]


def test_a_plan_reminder_for_a_plan_no_longer_in_force_is_not_sent(
        app: App, clock: MovingClock, tmp_path: Path) -> None:
    plan = propose_plan(app, borrower_id="B1", installments=3, first_on=date(2026, 7, 5),
                        income="8000.00", expenses="5000.00", actor="agent7")
    approve_plan(app, plan_id=plan.plan_id, actor="agent7", role="agent")
    for day in range(2, 5):
        _run(app, clock, date(2026, 7, day))
    with app.engine.begin() as conn:  # the plan ends between the night's decision and 09:05
        conn.execute(plans.update().where(plans.c.plan_id == plan.plan_id).values(status="broken"))
    sent = _dispatch(app, tmp_path / "outbox", datetime(2026, 7, 4, 9, 5, tzinfo=CST))
    assert "plan_reminder_sms" not in sent and "first_overdue_sms" in sent  # the rest still go
    with app.engine.connect() as conn:
        row = conn.execute(select(contacts.c.status, contacts.c.last_error)
                           .where(contacts.c.template == "plan_reminder_sms")).one()
    assert row.status == "cancelled" and "no longer in force" in row.last_error
