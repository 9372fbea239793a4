"""Waivers on SQLite and PostgreSQL: requested, approved within the role's limit with the
reason audited, and really taken off what the borrower owes (installments, loan, case),
surviving the replay a later payment does; a waiver of the penalty lets a payment of the
rest cure the case."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from test_strategy_run import CST, MovingClock, _app, _write_portfolio

from fairdue.adapters.db.tables import audit_log, cases, installments, loans
from fairdue.adapters.db.tables_plans import waiver_credits
from fairdue.bootstrap import App
from fairdue.errors import InvalidInput, InvalidTransition, NotFound
from fairdue.services.daily_run import run_days
from fairdue.services.importer import import_portfolio
from fairdue.services.payments import PaymentRequest, post_payment
from fairdue.services.waivers import approve_waiver, find_waivers, reject_waiver, request_waiver


@pytest.fixture
def clock() -> MovingClock:
    return MovingClock(datetime(2026, 7, 1, 0, 30, tzinfo=CST))


def _books(db_url: str, tmp_path: Path, clock: MovingClock, through: date, **overrides: str
           ) -> App:
    application = _app(db_url, tmp_path, clock, **overrides)
    import_portfolio(application, _write_portfolio(tmp_path / "data"))
    for day in range(1, through.day + 1):
        clock.set(datetime(2026, 7, day, 0, 30, tzinfo=CST))
        run_days(application, through=date(2026, 7, day))
    clock.set(datetime(2026, 7, through.day, 10, 0, tzinfo=CST))
    return application


@pytest.fixture
def app(db_url: str, tmp_path: Path, clock: MovingClock) -> Iterator[App]:
    application = _books(db_url, tmp_path, clock, date(2026, 7, 5))  # B1: 5 days, ¥2.50 penalty
    try:
        yield application
    finally:
        application.close()


def _owed(app: App, borrower: str, loan_id: str) -> tuple[int, int, int, int]:
    """(penalty charged, penalty settled, loan amount due, case amount due) in fen."""
    with app.engine.connect() as conn:
        inst = conn.execute(select(installments.c.penalty_minor, installments.c.penalty_paid_minor)
                            .where(installments.c.loan_id == loan_id)).one()
        due = conn.execute(select(loans.c.amount_due_minor).where(loans.c.loan_id == loan_id)).scalar_one()
        case = conn.execute(select(cases.c.amount_due_minor, cases.c.status)
                            .where(cases.c.borrower_id == borrower)
                            .order_by(cases.c.opened_on.desc())).first()
    assert case is not None
    return inst.penalty_minor, inst.penalty_paid_minor, due, case.amount_due_minor


def test_an_approved_waiver_reduces_what_is_owed_and_a_payment_does_not_undo_it(
        app: App, clock: MovingClock) -> None:
    assert _owed(app, "B1", "L1") == (250, 0, 102250, 102250)
    waiver = request_waiver(app, borrower_id="B1", component="penalty", amount="2.00",
                            reason="first time late, hospital stay", actor="agent7")
    assert _owed(app, "B1", "L1") == (250, 0, 102250, 102250)  # a request changes nothing
    approve_waiver(app, waiver_id=waiver.waiver_id, actor="agent9", role="agent",
                   reason="hospital letter seen")
    assert _owed(app, "B1", "L1") == (250, 200, 102050, 102050)
    with app.engine.connect() as conn:
        credit = conn.execute(select(waiver_credits)).one()
        audited = conn.execute(select(audit_log.c.actor, audit_log.c.details).where(
            audit_log.c.action == "WaiverApproved")).one()
        [listed] = find_waivers(conn, borrower_id="B1")
    assert (credit.loan_id, credit.seq, credit.amount_minor, credit.applied_on) == (
        "L1", 1, 200, date(2026, 7, 5))
    details = json.loads(audited.details)
    assert audited.actor == "agent9"
    assert (details["role"], details["reason"], details["amount"]) == ("agent", "hospital letter seen",
                                                                        "2.00")
    assert (listed["status"], listed["decided_by"], listed["decision_reason"]) == (
        "approved", "agent9", "hospital letter seen")

    # A payment replays the loan from its facts: the waiver is one of them.
    clock.set(datetime(2026, 7, 5, 11, 0, tzinfo=CST))
    post_payment(app, PaymentRequest("PAY1", "L1", "100.00", datetime(2026, 7, 5, 10, 30, tzinfo=CST),
                                     "app"))
    assert _owed(app, "B1", "L1") == (250, 250, 92050, 92050)  # ¥0.50 penalty, then the rest
    clock.set(datetime(2026, 7, 6, 0, 30, tzinfo=CST))
    run_days(app, through=date(2026, 7, 6))
    penalty, settled, _due, _case = _owed(app, "B1", "L1")
    assert (penalty, settled) == (250 + 46, 250)  # ¥0.46 on the ¥920.50 principal left


def test_waiving_the_penalty_lets_a_payment_of_the_rest_cure_the_case(app: App, clock: MovingClock
                                                                       ) -> None:
    # B2 owes 612.00 and ¥1.50 of penalty (5 days at ¥0.30).
    assert _owed(app, "B2", "L2") == (150, 0, 61350, 61350)
    waiver = request_waiver(app, borrower_id="B2", component="penalty", amount="1.50",
                            reason="paying in full today", actor="agent7")
    approve_waiver(app, waiver_id=waiver.waiver_id, actor="agent7", role="agent",
                   reason="settlement in full")
    clock.set(datetime(2026, 7, 5, 11, 0, tzinfo=CST))
    result = post_payment(app, PaymentRequest("PAY2", "L2", "612.00",
                                              datetime(2026, 7, 5, 10, 30, tzinfo=CST), "app"))
    assert result.case_cured and result.loan_amount_due == "0.00"


def test_limits_per_role_and_the_errors(db_url: str, tmp_path: Path, clock: MovingClock) -> None:
    app = _books(db_url, tmp_path, clock, date(2026, 7, 5), waiver_limit_agent="1.00",
                 waiver_limit_supervisor="2.00")
    try:
        big = request_waiver(app, borrower_id="B1", component="penalty", amount="2.50",
                             reason="hardship", actor="agent7")
        with pytest.raises(InvalidInput, match="needs a manager or above to approve it, not a supervisor"):
            approve_waiver(app, waiver_id=big.waiver_id, actor="sup1", role="supervisor", reason="ok")
        with pytest.raises(InvalidInput, match="needs a reason"):
            approve_waiver(app, waiver_id=big.waiver_id, actor="m1", role="manager", reason=" ")
        assert _owed(app, "B1", "L1")[1] == 0  # nothing half-written
        approve_waiver(app, waiver_id=big.waiver_id, actor="m1", role="manager", reason="agreed")
        assert _owed(app, "B1", "L1")[1] == 250
        with pytest.raises(InvalidTransition, match="is approved"):
            reject_waiver(app, waiver_id=big.waiver_id, actor="m1", role="manager", reason="no")
        with pytest.raises(InvalidInput, match=r"owes 0\.00 CNY of penalty; cannot waive 0\.10"):
            request_waiver(app, borrower_id="B1", component="penalty", amount="0.10", reason="x")
        with pytest.raises(InvalidInput, match=r"owes 0\.00 CNY of fee"):
            request_waiver(app, borrower_id="B2", component="fee", amount="1.00", reason="x")
        with pytest.raises(InvalidInput, match="cannot waive 'principal'"):
            request_waiver(app, borrower_id="B2", component="principal", amount="1.00", reason="x")
        with pytest.raises(InvalidInput, match="needs a reason"):
            request_waiver(app, borrower_id="B2", component="penalty", amount="1.00", reason="")
        with pytest.raises(InvalidInput, match="B3 has no open case"):
            request_waiver(app, borrower_id="B3", component="penalty", amount="1.00", reason="x")
        with pytest.raises(NotFound, match="no waiver 'WVR-x'"):
            approve_waiver(app, waiver_id="WVR-x", actor="m1", role="manager", reason="x")
        small = request_waiver(app, borrower_id="B2", component="penalty", amount="0.50",
                               reason="asked nicely", actor="agent7")
        reject_waiver(app, waiver_id=small.waiver_id, actor="agent7", role="agent",
                      reason="no hardship shown")
        with app.engine.connect() as conn:
            assert [w["status"] for w in find_waivers(conn, borrower_id="B2")] == ["rejected"]
            assert [w["waiver_id"] for w in find_waivers(conn, status="approved")] == [big.waiver_id]
        assert _owed(app, "B2", "L2")[1] == 0
    finally:
        app.close()
