"""The seed's field visit, end to end, on SQLite and PostgreSQL: three broken promises a
month overdue make the policy propose a visit (S7); a supervisor approves it; fairdue offers
times by SMS (S8) and the borrower picks one; a crew of two is chosen and issued signed
letters (S9); the borrower verifies a collector (S12); the crew checks in, records the visit
and its evidence (S11, S14); a tampered evidence file is detected; a payment that clears
the case calls off a visit not yet made and tells the borrower."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from test_strategy_run import CST, DAY1, MovingClock, _app, _write_portfolio

from fairdue.adapters.audit import verify_audit
from fairdue.adapters.db.tables import contacts, domain_events
from fairdue.adapters.db.tables_visits import visit_credentials, visits
from fairdue.bootstrap import App
from fairdue.domain.field_agents import FieldAgent
from fairdue.domain.geo import Point
from fairdue.domain.visits import Reaction, RecordContent, Solution
from fairdue.errors import InvalidInput, InvalidTransition
from fairdue.services.daily_run import run_days
from fairdue.services.evidence import add_evidence, stored_path, verify_evidence
from fairdue.services.field_agents import add_agent, plan_team_routes
from fairdue.services.importer import import_portfolio
from fairdue.services.payments import PaymentRequest, post_payment
from fairdue.services.promises import make_promise
from fairdue.services.timeline import case_timeline
from fairdue.services.verification import find_alerts, find_attempts, verify_collector
from fairdue.services.visit_records import amend_record, check_in, check_out, submit_record, visit_record
from fairdue.services.visits import (
    approve_visit,
    book_visit,
    cancel_visits_for_case,
    confirm_slot,
    find_visits,
    offer_slots,
    reject_visit,
)

HOME = Point(39.9, 116.4)  # B1's address in the test portfolio (北京)


@pytest.fixture
def clock() -> MovingClock:
    return MovingClock(datetime(2026, 7, 1, 0, 30, tzinfo=CST))


@pytest.fixture
def app(db_url: str, tmp_path: Path, clock: MovingClock) -> Iterator[App]:
    """B1 breaks three promises; on 30 July (DPD 30) the default policy proposes a visit."""
    application = _app(db_url, tmp_path, clock, evidence_dir=str(tmp_path / "evidence"))
    import_portfolio(application, _write_portfolio(tmp_path / "data"))
    run_days(application, through=DAY1)
    clock.set(datetime(2026, 7, 1, 10, 0, tzinfo=CST))
    for amount in ("100.00", "200.00", "300.00"):
        make_promise(application, borrower_id="B1", amount=amount, due_on=DAY1)
    clock.set(datetime(2026, 7, 30, 0, 30, tzinfo=CST))
    run_days(application, through=date(2026, 7, 30))
    for badge, name in (("FA-0001", "王强"), ("FA-0002", "李明")):
        add_agent(application, FieldAgent(badge, name, "north", ("北京",), Point(39.95, 116.45)),
                  actor="admin")
    add_agent(application, FieldAgent("FA-0009", "赵六", "south", ("上海",), Point(31.2, 121.5)),
              actor="admin")
    try:
        yield application
    finally:
        application.close()


def _the_visit(app: App) -> dict[str, object]:
    with app.engine.connect() as conn:
        found = find_visits(conn, case_id=None)
    assert len(found) == 1
    return found[0]


def _sms(app: App, template: str) -> list[str]:
    with app.engine.connect() as conn:
        return list(conn.execute(select(contacts.c.status).where(
            contacts.c.template == template, contacts.c.channel == "sms")).scalars())


def _book(app: App, clock: MovingClock) -> tuple[str, object]:
    visit_id = str(_the_visit(app)["visit_id"])
    clock.set(datetime(2026, 7, 30, 10, 0, tzinfo=CST))
    approve_visit(app, visit_id, actor="sup1", note="three broken promises, phone not working")
    offer_slots(app, visit_id, actor="sup1", slots=[
        (datetime(2026, 8, 3, 10, 0, tzinfo=CST), datetime(2026, 8, 3, 11, 0, tzinfo=CST)),
        (datetime(2026, 8, 3, 14, 0, tzinfo=CST), datetime(2026, 8, 3, 15, 0, tzinfo=CST)),
    ])
    return visit_id, confirm_slot(app, visit_id, 1)


def test_the_policy_proposes_one_candidate_per_case_with_its_reason(app: App, clock: MovingClock) -> None:
    visit = _the_visit(app)
    assert visit["status"] == "proposed" and visit["grounds"] == "S7"
    assert str(visit["reason"]).startswith("S7 repeated broken promises")
    case_id = str(visit["case_id"])
    # The policy proposing again on a later day (here a second proposal row) adds no visit.
    now = datetime(2026, 7, 31, 0, 0, tzinfo=CST)
    with app.engine.begin() as conn:
        conn.execute(contacts.insert().values(
            contact_id=f"{case_id}-20260731-9", case_id=case_id, borrower_id="B1", channel="visit",
            template="visit_notice", language="zh-CN", priority=40, status="proposed",
            reason="S7 repeated broken promises", attempts=0, idempotency_key="x" * 64,
            created_at=now, updated_at=now))
    clock.set(datetime(2026, 7, 31, 0, 30, tzinfo=CST))
    run_days(app, through=date(2026, 7, 31))
    assert _the_visit(app)["visit_id"] == visit["visit_id"]
    with app.engine.connect() as conn:
        names = list(conn.execute(select(domain_events.c.name)
                                  .where(domain_events.c.subject == visit["visit_id"])).scalars())
    assert names == ["VisitProposed"]


def test_a_supervisor_rejects_with_a_reason_and_a_rejected_visit_cannot_be_booked(app: App) -> None:
    visit_id = str(_the_visit(app)["visit_id"])
    with pytest.raises(InvalidInput, match="give a reason"):
        reject_visit(app, visit_id, actor="sup1", note=" ")
    reject_visit(app, visit_id, actor="sup1", note="borrower in hospital; call later")
    assert _the_visit(app)["status"] == "rejected"
    with pytest.raises(InvalidTransition, match="is rejected"):
        approve_visit(app, visit_id, actor="sup1", note="changed my mind")


def test_the_visit_story_from_approval_to_record(app: App, clock: MovingClock, tmp_path: Path) -> None:
    visit_id = str(_the_visit(app)["visit_id"])
    clock.set(datetime(2026, 7, 30, 10, 0, tzinfo=CST))
    approve_visit(app, visit_id, actor="sup1", note="three broken promises, phone not working")
    with pytest.raises(InvalidInput, match=r"outside the lawful hours 08:00-22:00 \(CN-01\)"):
        offer_slots(app, visit_id, actor="sup1", slots=[
            (datetime(2026, 8, 3, 21, 30, tzinfo=CST), datetime(2026, 8, 3, 22, 30, tzinfo=CST))])
    offered = offer_slots(app, visit_id, actor="sup1", slots=[
        (datetime(2026, 8, 3, 10, 0, tzinfo=CST), datetime(2026, 8, 3, 11, 0, tzinfo=CST)),
        (datetime(2026, 8, 3, 14, 0, tzinfo=CST), datetime(2026, 8, 3, 15, 0, tzinfo=CST))])
    assert [n for n, _, _ in offered] == [1, 2]
    assert _sms(app, "visit_slots") == ["scheduled"]          # S8: by SMS, through the outbox

    booking = confirm_slot(app, visit_id, 1)                     # the borrower picks on the portal
    assert booking.team == "north" and booking.collectors == ("FA-0001", "FA-0002")  # CN-06: two
    assert booking.starts_at == datetime(2026, 8, 3, 10, 0, tzinfo=CST)
    assert _sms(app, "visit_booked") == ["scheduled"]
    codes = {c.badge: c.code for c in booking.credentials}
    assert booking.credentials[0].valid_from == datetime(2026, 8, 3, 9, 0, tzinfo=CST)
    assert booking.credentials[0].valid_to == datetime(2026, 8, 3, 12, 0, tzinfo=CST)

    # S12: the borrower checks the collector at the door.
    at_door = datetime(2026, 8, 3, 10, 2, tzinfo=CST)
    ok = verify_collector(app, "fa-0001", codes["FA-0001"].lower(), at_door)
    assert ok.verified and ok.message.startswith(
        "verified: this person is authorised to visit you between 2026-08-03 09:00 and 12:00")
    wrong = verify_collector(app, "FA-0001", codes["FA-0002"], at_door)
    assert not wrong.verified and wrong.message == (
        "not verified: do not pay anyone, call the official hotline 400-000-0001")
    next_day = datetime(2026, 8, 4, 10, 0, tzinfo=CST)
    assert not verify_collector(app, "FA-0001", codes["FA-0001"], next_day).verified
    with app.engine.connect() as conn:
        attempts = find_attempts(conn, badge="FA-0001")
    assert [a["outcome"] for a in attempts] == ["verified", "wrong_code", "expired"]

    # The day before, the daily run queues a reminder, once.
    clock.set(datetime(2026, 8, 2, 0, 30, tzinfo=CST))
    run_days(app, through=date(2026, 8, 2))
    assert _sms(app, "visit_reminder") == ["scheduled"]

    # The crew's route for the day: home base, the visit, home again.
    route = plan_team_routes(app, "north", date(2026, 8, 3))
    assert [leg.visit_id for r in route.plan.routes for leg in r.legs] == [visit_id]
    assert route.plan.total_distance_m > 0

    # Check-in: one collector is not enough (CN-06); two near the place are not flagged.
    clock.set(datetime(2026, 8, 3, 10, 5, tzinfo=CST))
    with pytest.raises(InvalidInput, match="at least 2 collectors present"):
        check_in(app, visit_id, collectors=["FA-0001"], at=clock.moment, lat=39.9, lon=116.4,
                 actor="FA-0001")
    found = check_in(app, visit_id, collectors=["FA-0001", "FA-0002"], at=clock.moment,
                     lat=39.9005, lon=116.4, actor="FA-0001")
    assert found["flagged"] is False and 50 <= found["distance_m"] <= 60
    recording = tmp_path / "talk.m4a"
    recording.write_bytes(b"fake audio of the conversation")
    sha = add_evidence(app, visit_id, str(recording), kind="audio", actor="FA-0001")
    check_out(app, visit_id, at=datetime(2026, 8, 3, 10, 50, tzinfo=CST), lat=39.9005, lon=116.4,
              actor="FA-0001")
    with pytest.raises(InvalidInput, match="prohibited wording"):
        submit_record(app, visit_id, RecordContent(
            Reaction.UPSET, "lost job", Solution.REFUSAL, date(2026, 8, 10), "call again",
            "told him we will call the police"), actor="FA-0001", at=clock.moment)
    content = RecordContent(Reaction.COOPERATIVE, "lost his job in June", Solution.PLAN,
                            date(2026, 8, 10), "propose a 3-month plan; call on 10 August")
    digest = submit_record(app, visit_id, content, actor="FA-0001",
                           at=datetime(2026, 8, 3, 11, 0, tzinfo=CST))
    with pytest.raises(InvalidTransition, match="is visited"):
        submit_record(app, visit_id, content, actor="FA-0001", at=clock.moment)
    amend_record(app, visit_id, {"follow_up_on": "2026-08-12"}, reason="borrower asked for the 12th",
                 actor="FA-0002", at=datetime(2026, 8, 4, 9, 0, tzinfo=CST))
    with app.engine.connect() as conn:
        record = visit_record(conn, visit_id)
        timeline = case_timeline(conn, str(_the_visit(app)["case_id"]))
        audited = verify_audit(conn)
    assert record["record_hash"] == digest and record["follow_up_on"] == date(2026, 8, 10)
    assert record["current"]["follow_up_on"] == "2026-08-12"
    assert [a["amendment_no"] for a in record["amendments"]] == [1]
    assert [e["sha256"] for e in record["evidence"]] == [sha]
    assert any(e.kind == "visit" and "made: plan" in e.summary for e in timeline.entries)
    assert audited.ok

    # S14: evidence is intact, then someone edits the file on disk.
    assert verify_evidence(app) == (1, [])
    stored = stored_path(Path(app.settings.resolved_evidence_dir()), sha)
    os.chmod(stored, 0o600)
    stored.write_bytes(b"doctored audio")
    checked, problems = verify_evidence(app)
    assert checked == 1 and len(problems) == 1 and "was altered" in problems[0].problem


def test_repeated_failures_for_one_badge_raise_one_alert(app: App, clock: MovingClock) -> None:
    start = datetime(2026, 8, 1, 10, 0, tzinfo=CST)
    for minute in range(4):
        result = verify_collector(app, "FA-0666", "ABCD-EFGH",
                                  start.replace(minute=minute))
        assert not result.verified
    with app.engine.connect() as conn:
        alerts = find_alerts(conn)
    assert [(a["badge"], a["failures"]) for a in alerts] == [("FA-0666", 3)]  # raised at the 3rd


def test_a_payment_that_clears_the_case_cancels_the_visit_and_tells_the_borrower(
        app: App, clock: MovingClock) -> None:
    visit_id, booking = _book(app, clock)
    code = booking.credentials[0].code  # type: ignore[attr-defined]
    clock.set(datetime(2026, 7, 30, 15, 0, tzinfo=CST))
    post_payment(app, PaymentRequest("PAYALL", "L1", "1200.00",
                                     datetime(2026, 7, 30, 14, 0, tzinfo=CST), "app"))
    visit = _the_visit(app)
    assert visit["status"] == "cancelled" and "paid" in str(visit["cancelled_reason"])
    assert _sms(app, "visit_cancelled") == ["scheduled"]
    with app.engine.connect() as conn:
        revoked = conn.execute(select(visit_credentials.c.revoked_at)
                               .where(visit_credentials.c.visit_id == visit_id)).scalars().all()
        audited = verify_audit(conn)
    assert len(revoked) == 2 and all(r is not None for r in revoked)
    assert audited.ok   # the cancellation's entries and the payment's share one chain
    assert not verify_collector(app, "FA-0001", code, datetime(2026, 8, 3, 10, 0, tzinfo=CST)).verified


def test_a_plan_becoming_active_cancels_through_the_shared_function(app: App, clock: MovingClock) -> None:
    visit_id, _ = _book(app, clock)
    case_id = str(_the_visit(app)["case_id"])
    at = datetime(2026, 7, 31, 9, 0, tzinfo=CST)
    with app.engine.begin() as conn:
        assert cancel_visits_for_case(conn, case_id, "repayment plan active", at) == [visit_id]
        assert cancel_visits_for_case(conn, case_id, "repayment plan active", at) == []
    with app.engine.connect() as conn:
        status = conn.execute(select(visits.c.status).where(visits.c.visit_id == visit_id)).scalar_one()
        assert verify_audit(conn).ok
    assert status == "cancelled"


def test_a_visit_outside_the_lawful_hours_or_without_a_crew_cannot_be_booked(
        app: App, clock: MovingClock) -> None:
    visit_id = str(_the_visit(app)["visit_id"])
    clock.set(datetime(2026, 7, 30, 10, 0, tzinfo=CST))
    approve_visit(app, visit_id, actor="sup1", note="S7")
    with pytest.raises(InvalidInput, match="outside the lawful hours"):
        book_visit(app, visit_id, actor="agent", starts=datetime(2026, 8, 3, 7, 0, tzinfo=CST))
    with pytest.raises(InvalidInput, match="no team has 2 agents free"):
        book_visit(app, visit_id, actor="agent", starts=datetime(2026, 8, 3, 19, 0, tzinfo=CST))
    assert _the_visit(app)["status"] == "approved"  # nothing half-written


def test_a_repayment_plan_made_active_calls_off_the_visit_at_once(
        app: App, clock: MovingClock) -> None:
    from fairdue.services.plans import approve_plan, propose_plan

    visit_id, _ = _book(app, clock)
    plan = propose_plan(app, borrower_id="B1", installments=3, first_on=date(2026, 8, 5),
                        actor="agent7")
    assert _the_visit(app)["status"] == "booked"  # a plan only proposed changes nothing
    approve_plan(app, plan_id=plan.plan_id, actor="sup1", role="supervisor",
                 reason="no income stated; supervisor agreed")
    visit = _the_visit(app)
    assert visit["visit_id"] == visit_id and visit["status"] == "cancelled"
    assert visit["cancelled_reason"] == "a repayment plan is active"
    assert _sms(app, "visit_cancelled") == ["scheduled"]   # the case is open: it will be sent
    clock.set(datetime(2026, 7, 31, 0, 30, tzinfo=CST))
    run_days(app, through=date(2026, 7, 31))                # the run finds nothing more to do
    assert _sms(app, "visit_cancelled") == ["scheduled"]
    with app.engine.connect() as conn:
        assert verify_audit(conn).ok


def _dispatch(app: App, outbox: Path, now: datetime) -> dict[str, str]:
    """Send what is due at `now` into a file sink; the bodies by template."""
    import json

    from fairdue.adapters.channels import sender_for
    from fairdue.adapters.templates import templates_from_settings
    from fairdue.services.dispatch import Dispatcher

    senders = {c: sender_for(f"file://{outbox}") for c in ("sms", "email", "push")}
    Dispatcher(app, senders, templates_from_settings(app.settings), worker="w1",
               jitter=lambda: 0.5).run_once(now=now)
    with app.engine.connect() as conn:
        templates = dict(conn.execute(select(contacts.c.contact_id, contacts.c.template)).all())
    return {templates[m["contact_id"]]: m["body"] for m in (
        json.loads(f.read_text(encoding="utf-8")) for f in outbox.glob("*.json"))}


def test_the_visit_messages_state_the_times_and_a_call_off_reaches_a_borrower_who_paid(
        app: App, clock: MovingClock, tmp_path: Path) -> None:
    visit_id = str(_the_visit(app)["visit_id"])
    clock.set(datetime(2026, 7, 30, 10, 0, tzinfo=CST))
    approve_visit(app, visit_id, actor="sup1", note="three broken promises")
    offer_slots(app, visit_id, actor="sup1", slots=[
        (datetime(2026, 8, 3, 10, 0, tzinfo=CST), datetime(2026, 8, 3, 11, 0, tzinfo=CST)),
        (datetime(2026, 8, 3, 14, 0, tzinfo=CST), datetime(2026, 8, 3, 15, 0, tzinfo=CST))])
    offered = _dispatch(app, tmp_path / "offered", datetime(2026, 7, 30, 10, 5, tzinfo=CST))
    assert "可选：8月3日 10:00、8月3日 14:00，" in offered["visit_slots"]     # S8: the times offered
    confirm_slot(app, visit_id, 1)
    booked = _dispatch(app, tmp_path / "booked", datetime(2026, 7, 30, 10, 10, tzinfo=CST))
    assert "上门时间已确认：8月3日 10:00-11:00，" in booked["visit_booked"]   # and the one agreed

    clock.set(datetime(2026, 7, 30, 15, 0, tzinfo=CST))
    post_payment(app, PaymentRequest("PAYALL", "L1", "1200.00",
                                     datetime(2026, 7, 30, 14, 0, tzinfo=CST), "app"))
    after = _dispatch(app, tmp_path / "after", datetime(2026, 7, 30, 15, 5, tzinfo=CST))
    # The case closed with the payment; the notice that nobody will come still goes out,
    # and it does not ask for money.
    assert set(after) == {"visit_cancelled"}
    assert "原定的上门沟通已取消，不会有人员上门" in after["visit_cancelled"]
    assert "应还" not in after["visit_cancelled"]
    assert _sms(app, "visit_cancelled") == ["sent"]


def test_the_borrower_moves_a_booked_visit_and_only_the_new_letters_verify(
        app: App, clock: MovingClock) -> None:
    visit_id, first = _book(app, clock)                          # booked for 3 Aug 10:00
    old = {c.badge: c.code for c in first.credentials}  # type: ignore[attr-defined]
    clock.set(datetime(2026, 7, 30, 10, 5, tzinfo=CST))
    moved = confirm_slot(app, visit_id, 2)                       # the borrower takes 14:00
    assert moved.starts_at == datetime(2026, 8, 3, 14, 0, tzinfo=CST)
    assert _the_visit(app)["status"] == "booked"
    new = {c.badge: c.code for c in moved.credentials}
    at_door = datetime(2026, 8, 3, 14, 5, tzinfo=CST)
    assert verify_collector(app, "FA-0001", new["FA-0001"], at_door).verified
    assert not verify_collector(app, "FA-0001", old["FA-0001"], at_door).verified
    assert _sms(app, "visit_booked") == ["scheduled", "scheduled"]  # each time confirmed by SMS
    with app.engine.connect() as conn:
        letters = conn.execute(select(visit_credentials.c.credential_id, visit_credentials.c.revoked_reason)
                               .where(visit_credentials.c.visit_id == visit_id)
                               .order_by(visit_credentials.c.credential_id)).all()
        assert verify_audit(conn).ok
    assert len(letters) == 4
    assert sum(1 for _, why in letters if why and why.startswith("visit moved to 2026-08-03T14:00")) == 2
