"""Promises to pay on SQLite and PostgreSQL: taken for an open case, kept at once by a
payment, broken by the daily run after their window, and three broken ones (a month
overdue) making the default policy propose a visit under S7."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from test_strategy_run import CST, DAY1, MovingClock, _app, _write_portfolio

from fairdue.adapters.db import strategy_repo as repo
from fairdue.adapters.db.tables import contacts, decisions, domain_events, promises
from fairdue.bootstrap import App
from fairdue.errors import InvalidInput, NotFound
from fairdue.services.contacts import record_contact
from fairdue.services.daily_run import run_days
from fairdue.services.importer import import_portfolio
from fairdue.services.payments import PaymentRequest, post_payment
from fairdue.services.promises import find_promises, make_promise


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


def _promise(app: App, promise_id: str) -> dict[str, object]:
    with app.engine.connect() as conn:
        row = conn.execute(select(promises).where(promises.c.promise_id == promise_id)).mappings().one()
    return dict(row)


def _events(app: App, subject: str) -> list[str]:
    with app.engine.connect() as conn:
        return list(conn.execute(select(domain_events.c.name).where(domain_events.c.subject == subject)
                                 .order_by(domain_events.c.event_id)).scalars())


def _standing(app: App, borrower_id: str) -> repo.ContactStanding:
    with app.engine.connect() as conn:
        return repo.standing_of(conn, borrower_id)


def test_a_promise_taken_on_a_call_is_kept_at_once_by_a_payment(app: App, clock: MovingClock) -> None:
    call = record_contact(app, borrower_id="B1", channel="call", outcome="ptp",
                          at=datetime(2026, 7, 1, 9, 50, tzinfo=CST), actor="agent7")
    promise = make_promise(app, borrower_id="B1", amount="300.00", due_on=date(2026, 7, 3),
                           attempt_id=call.attempt_id, actor="agent7")
    assert promise.case_id == call.case_id
    stored = _promise(app, promise.promise_id)
    assert stored["status"] == "pending" and stored["amount_minor"] == 30000
    assert stored["attempt_id"] == call.attempt_id and stored["made_by"] == "agent7"

    clock.set(datetime(2026, 7, 2, 11, 0, tzinfo=CST))
    post_payment(app, PaymentRequest("PAY1", "L1", "200.00", datetime(2026, 7, 2, 10, 0, tzinfo=CST),
                                     "app"))
    assert _promise(app, promise.promise_id)["status"] == "pending"  # 200 of 300 so far
    post_payment(app, PaymentRequest("PAY2", "L1", "99.50", datetime(2026, 7, 2, 10, 30, tzinfo=CST),
                                     "app"))
    kept = _promise(app, promise.promise_id)
    assert kept["status"] == "kept" and kept["paid_minor"] == 29950  # within ¥1.00
    assert kept["settled_on"] == date(2026, 7, 2)
    assert _events(app, promise.promise_id) == ["PromiseMade", "PromiseKept"]
    assert _standing(app, "B1").promises_kept == 1
    assert _standing(app, "B1").promises_broken == 0
    with app.engine.connect() as conn:
        assert [p["status"] for p in find_promises(conn, borrower_id="B1")] == ["kept"]
        assert find_promises(conn, status="pending") == []


def test_a_missed_promise_is_broken_by_the_run_after_its_window(app: App, clock: MovingClock) -> None:
    promise = make_promise(app, borrower_id="B1", amount="500.00", due_on=date(2026, 7, 2))
    clock.set(datetime(2026, 7, 3, 0, 30, tzinfo=CST))
    run_days(app, through=date(2026, 7, 3))  # 2 July due, 3 July the tolerance day
    assert _promise(app, promise.promise_id)["status"] == "pending"
    clock.set(datetime(2026, 7, 4, 0, 30, tzinfo=CST))
    run_days(app, through=date(2026, 7, 4))
    broken = _promise(app, promise.promise_id)
    assert broken["status"] == "broken" and broken["settled_on"] == date(2026, 7, 4)
    assert _events(app, promise.promise_id) == ["PromiseMade", "PromiseBroken"]
    assert _standing(app, "B1").promises_broken == 1
    run_days(app, through=date(2026, 7, 5))
    assert _standing(app, "B1").promises_broken == 1  # decided once


def test_a_promise_needs_an_open_case_and_a_known_borrower_and_attempt(app: App) -> None:
    with pytest.raises(InvalidInput, match="B3 has no open case"):
        make_promise(app, borrower_id="B3", amount="10.00", due_on=date(2026, 7, 3))
    with pytest.raises(NotFound, match="no borrower"):
        make_promise(app, borrower_id="B9", amount="10.00", due_on=date(2026, 7, 3))
    with pytest.raises(NotFound, match="no contact attempt"):
        make_promise(app, borrower_id="B1", amount="10.00", due_on=date(2026, 7, 3), attempt_id="A-x")
    with pytest.raises(InvalidInput, match="more than 2 decimal places"):
        make_promise(app, borrower_id="B1", amount="10.001", due_on=date(2026, 7, 3))
    with pytest.raises(InvalidInput, match="before the promise's own date"):
        make_promise(app, borrower_id="B1", amount="10.00", due_on=date(2026, 6, 30))
    with app.engine.connect() as conn:
        assert find_promises(conn) == []


def test_three_broken_promises_a_month_overdue_propose_an_s7_visit(app: App, clock: MovingClock
                                                                    ) -> None:
    for amount in ("100.00", "200.00", "300.00"):
        make_promise(app, borrower_id="B1", amount=amount, due_on=DAY1)
    clock.set(datetime(2026, 7, 29, 0, 30, tzinfo=CST))
    run_days(app, through=date(2026, 7, 29))  # DPD 29: not yet
    assert _standing(app, "B1").promises_broken == 3
    clock.set(datetime(2026, 7, 30, 0, 30, tzinfo=CST))
    run_days(app, through=date(2026, 7, 30))  # DPD 30
    with app.engine.connect() as conn:
        visits = conn.execute(select(contacts.c.reason, contacts.c.status).where(
            contacts.c.borrower_id == "B1", contacts.c.channel == "visit")).all()
        facts = json.loads(conn.execute(select(decisions.c.facts).where(
            decisions.c.borrower_id == "B1", decisions.c.business_date == date(2026, 7, 30))
        ).scalar_one())
    assert len(visits) == 1
    assert visits[0].reason.startswith("S7 repeated broken promises")
    assert visits[0].status == "proposed"
    assert facts["promises_broken"] == 3 and facts["dpd"] == 30
