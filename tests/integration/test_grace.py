"""Grace periods on SQLite and PostgreSQL: collection contact paused for D days (the policy
pauses, and the guard refuses a contact an agent makes anyway), penalty frozen over them
when granted so (and not undone by a payment's replay), and collection resuming after."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from test_strategy_run import CST, DAY1, MovingClock, _app, _write_portfolio

from fairdue.adapters.db.tables import audit_log, contact_restrictions, decisions, installments
from fairdue.bootstrap import App
from fairdue.errors import InvalidInput, InvalidTransition, NotFound
from fairdue.services.contacts import record_contact
from fairdue.services.daily_run import run_days
from fairdue.services.grace import find_graces, grant_grace
from fairdue.services.grace_requests import (
    approve_grace_request,
    find_grace_requests,
    reject_grace_request,
    request_grace,
)
from fairdue.services.importer import import_portfolio
from fairdue.services.payments import PaymentRequest, post_payment


@pytest.fixture
def clock() -> MovingClock:
    return MovingClock(datetime(2026, 7, 1, 0, 30, tzinfo=CST))


@pytest.fixture
def app(db_url: str, tmp_path: Path, clock: MovingClock) -> Iterator[App]:
    application = _app(db_url, tmp_path, clock)
    import_portfolio(application, _write_portfolio(tmp_path / "data"))
    run_days(application, through=DAY1)
    clock.set(datetime(2026, 7, 1, 10, 0, tzinfo=CST))
    try:
        yield application
    finally:
        application.close()


def _run(app: App, clock: MovingClock, day: int) -> None:
    clock.set(datetime(2026, 7, day, 0, 30, tzinfo=CST))
    run_days(app, through=date(2026, 7, day))


def _penalty(app: App, loan_id: str) -> int:
    with app.engine.connect() as conn:
        return int(conn.execute(select(installments.c.penalty_minor)
                                .where(installments.c.loan_id == loan_id)).scalar_one())


def _step(app: App, borrower: str, day: int) -> str | None:
    with app.engine.connect() as conn:
        step: str | None = conn.execute(select(decisions.c.step).where(
            decisions.c.borrower_id == borrower,
            decisions.c.business_date == date(2026, 7, day))).scalar_one()
    return step


def test_a_grace_with_penalty_frozen_pauses_contact_and_penalty_for_its_days(
        app: App, clock: MovingClock) -> None:
    grace = grant_grace(app, borrower_id="B1", days=5, reason="lost job, new one starts 6 July",
                        freeze_penalty=True, actor="agent7")
    assert (grace.starts_on, grace.ends_on) == (date(2026, 7, 1), date(2026, 7, 5))
    with app.engine.connect() as conn:
        restriction = conn.execute(select(contact_restrictions)).one()
        audited = json.loads(conn.execute(select(audit_log.c.details).where(
            audit_log.c.action == "GraceGranted")).scalar_one())
        assert find_graces(conn, borrower_id="B1")[0]["freeze_penalty"] is True
    assert (restriction.kind, restriction.until_on) == ("grace", date(2026, 7, 5))
    assert audited["reason"] == "lost job, new one starts 6 July" and audited["days"] == 5

    # An agent calling anyway is refused by the guard (CN-12): the grace is a hold.
    call = record_contact(app, borrower_id="B1", channel="call", outcome="no_answer",
                          at=datetime(2026, 7, 1, 11, 0, tzinfo=CST), actor="agent3")
    assert not call.lawful and "CN-12" in call.rules

    for day in range(2, 6):
        _run(app, clock, day)
        assert _step(app, "B1", day) == "hold_grace"
    assert _penalty(app, "L1") == 50  # 1 July was charged before the grace; 2-5 July frozen
    assert _penalty(app, "L2") == 5 * 30
    clock.set(datetime(2026, 7, 5, 11, 0, tzinfo=CST))
    post_payment(app, PaymentRequest("PAY1", "L1", "5.00", datetime(2026, 7, 5, 10, 0, tzinfo=CST),
                                     "app"))  # the replay keeps the freeze
    assert _penalty(app, "L1") == 50
    _run(app, clock, 6)  # the grace is over: penalty and collection resume
    assert _penalty(app, "L1") == 50 + 50
    assert _step(app, "B1", 6) != "hold_grace"


def test_a_grace_without_the_freeze_lets_penalty_run_and_the_errors(app: App, clock: MovingClock
                                                                     ) -> None:
    grant_grace(app, borrower_id="B1", days=2, reason="travelling", actor="agent7")
    _run(app, clock, 3)
    assert _penalty(app, "L1") == 3 * 50
    # Two days: 1 and 2 July; on 3 July collection resumes.
    assert _step(app, "B1", 2) == "hold_grace" and _step(app, "B1", 3) == "reminder_push"
    with pytest.raises(InvalidInput, match="1 to 30 days"):
        grant_grace(app, borrower_id="B1", days=31, reason="x")
    with pytest.raises(InvalidInput, match="1 to 30 days"):
        grant_grace(app, borrower_id="B1", days=0, reason="x")
    with pytest.raises(InvalidInput, match="needs a reason"):
        grant_grace(app, borrower_id="B1", days=3, reason=None)
    with pytest.raises(NotFound, match="no borrower 'B9'"):
        grant_grace(app, borrower_id="B9", days=3, reason="x")
    with app.engine.connect() as conn:
        assert len(find_graces(conn)) == 1


def test_a_borrowers_grace_request_approved_grants_the_grace_in_one_step(
        app: App, clock: MovingClock) -> None:
    asked = request_grace(app, borrower_id="B1", days=7, reason="in hospital until 8 July",
                          actor="B1")
    with pytest.raises(InvalidTransition, match="already waiting"):
        request_grace(app, borrower_id="B1", days=3, reason="again", actor="B1")
    with app.engine.connect() as conn:
        assert [r["status"] for r in find_grace_requests(conn, status="requested")] == ["requested"]
        assert find_graces(conn, borrower_id="B1") == []  # asking pauses nothing yet
    with pytest.raises(InvalidInput, match="a supervisor or above decides"):
        approve_grace_request(app, request_id=asked.request_id, actor="ann", role="agent")
    approve_grace_request(app, request_id=asked.request_id, actor="sue", role="supervisor",
                          reason="hospital letter seen", days=5, freeze_penalty=True)
    with app.engine.connect() as conn:
        [decided] = find_grace_requests(conn, borrower_id="B1")
        [grace] = find_graces(conn, borrower_id="B1")
    assert (decided["status"], decided["grace_id"], decided["ends_on"]) == (
        "approved", grace["grace_id"], date(2026, 7, 5))
    assert grace["freeze_penalty"] is True and grace["granted_by"] == "sue"
    _run(app, clock, 2)
    assert _step(app, "B1", 2) == "hold_grace"


def test_a_rejected_grace_request_keeps_its_reason_and_pauses_nothing(app: App,
                                                                     clock: MovingClock) -> None:
    asked = request_grace(app, borrower_id="B1", days=10, reason="waiting for salary",
                          actor="ann")
    reject_grace_request(app, request_id=asked.request_id, actor="sue", role="supervisor",
                         reason="a repayment plan fits better; call us")
    with app.engine.connect() as conn:
        [decided] = find_grace_requests(conn, borrower_id="B1")
        assert find_graces(conn, borrower_id="B1") == []
    assert decided["decision_reason"] == "a repayment plan fits better; call us"
    assert decided["grace_id"] is None
    _run(app, clock, 2)
    assert _step(app, "B1", 2) != "hold_grace"
    request_grace(app, borrower_id="B1", days=3, reason="asking again", actor="B1")  # allowed


def test_no_grace_request_without_arrears(app: App) -> None:
    post_payment(app, PaymentRequest("PAY-ALL", "L3", "1000.00",
                                     datetime(2026, 7, 1, 9, 0, tzinfo=CST), "app"))
    with pytest.raises(InvalidInput, match="nothing is overdue"):
        request_grace(app, borrower_id="B3", days=3, reason="just in case", actor="B3")
