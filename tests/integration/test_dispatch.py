"""The outbox dispatcher end to end, on SQLite and on PostgreSQL: the night's decisions leave
through real senders (the file sink and a local JSON SMS gateway), the guard looks again at
the moment of sending, receipts come back, failures retry and then give up, and nothing is
sent twice."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from test_strategy_run import CST, DAY1, MovingClock, _app, _write_portfolio

from channel_servers import SmtpServer
from fairdue.adapters.channels import sender_for
from fairdue.adapters.db.strategy_repo import channel_state_of
from fairdue.adapters.db.tables import contact_points, contacts
from fairdue.adapters.templates import templates_from_settings
from fairdue.bootstrap import App
from fairdue.domain.messages import Receipt
from fairdue.services.contacts import record_contact, restrict_contact
from fairdue.services.daily_run import run_days
from fairdue.services.dispatch import Dispatcher
from fairdue.services.importer import import_portfolio
from fairdue.services.payments import PaymentRequest, post_payment
from fairdue.services.receipts import apply_receipt
from json_gateway import JsonGateway


@pytest.fixture
def gateway() -> Iterator[JsonGateway]:
    server = JsonGateway()
    yield server
    server.close()


@pytest.fixture
def books(db_url: str, tmp_path: Path, gateway: JsonGateway) -> Iterator[tuple[App, MovingClock]]:
    clock = MovingClock(datetime(2026, 7, 1, 0, 30, tzinfo=CST))
    application = _app(db_url, tmp_path, clock, sms_url=gateway.url,
                       email_url=f"file://{tmp_path / 'outbox'}", push_url=f"file://{tmp_path / 'outbox'}")
    import_portfolio(application, _write_portfolio(tmp_path / "data"))
    run_days(application, through=DAY1)
    try:
        yield application, clock
    finally:
        application.close()


def dispatcher(app: App, **options: Any) -> Dispatcher:
    settings = app.settings
    senders = {"sms": sender_for(settings.sms_url), "email": sender_for(settings.email_url),
               "push": sender_for(settings.push_url)}
    return Dispatcher(app, senders, templates_from_settings(settings), worker="w1",
                      jitter=lambda: 0.5, **options)


def status_of(app: App) -> dict[tuple[str, str], dict[str, Any]]:
    with app.engine.connect() as conn:
        rows = conn.execute(select(contacts).where(contacts.c.channel != "call")).mappings().all()
    return {(r["borrower_id"], r["channel"]): dict(r) for r in rows}


AT_NINE = datetime(2026, 7, 1, 9, 5, tzinfo=CST)


def test_due_messages_leave_once_and_a_second_run_sends_nothing(
    books: tuple[App, MovingClock], gateway: JsonGateway, tmp_path: Path
) -> None:
    app, _ = books
    early = dispatcher(app).run_once(now=datetime(2026, 7, 1, 8, 0, tzinfo=CST))
    assert early.claimed == 0  # scheduled for 09:00 local: nothing is due at 08:00
    report = dispatcher(app).run_once(now=AT_NINE)
    messages = status_of(app)
    assert report.sent == len(messages) == report.claimed
    assert {s["status"] for s in messages.values()} == {"sent"}
    sms = [r for r in gateway.requests]
    assert sorted(r["to"] for r in sms) == ["13812341234", "13900001111"]
    first = next(r for r in sms if r["to"] == "13812341234")
    assert "元" in first["text"] or "¥" in first["text"]
    assert first["key"] == messages[("B1", "sms")]["idempotency_key"]
    files = sorted(p.name for p in (tmp_path / "outbox").iterdir())
    assert len(files) == 2  # B1's email and push
    email = json.loads(next((tmp_path / "outbox").glob("*.json")).read_text(encoding="utf-8"))
    assert email["contact_id"].startswith("C-B1-")
    again = dispatcher(app).run_once(now=AT_NINE + timedelta(hours=1))
    assert again.claimed == 0 and len(gateway.requests) == 2


def test_the_guard_looks_again_at_the_moment_of_sending(books: tuple[App, MovingClock],
                                                        gateway: JsonGateway) -> None:
    app, clock = books
    clock.set(datetime(2026, 7, 1, 8, 45, tzinfo=CST))
    restrict_contact(app, borrower_id="B1", kind="complaint",
                     at=datetime(2026, 7, 1, 8, 30, tzinfo=CST))
    post_payment(app, PaymentRequest("P-B2", "L2", "700.00",
                                     datetime(2026, 7, 1, 8, 40, tzinfo=CST), "app"))
    report = dispatcher(app).run_once(now=AT_NINE)
    messages = status_of(app)
    assert {messages[("B1", c)]["status"] for c in ("sms", "email", "push")} == {"blocked"}
    assert messages[("B1", "sms")]["blocked_by"] == "CN-12"
    assert messages[("B2", "sms")]["status"] == "cancelled"
    assert report.sent == 0 and gateway.requests == []


def test_a_closed_window_moves_the_message_to_the_next_opening(books: tuple[App, MovingClock],
                                                               gateway: JsonGateway) -> None:
    app, _ = books
    late = datetime(2026, 7, 1, 22, 30, tzinfo=CST)
    report = dispatcher(app).run_once(now=late)
    assert report.rescheduled == report.claimed > 0 and gateway.requests == []
    sms = status_of(app)[("B1", "sms")]
    assert sms["status"] == "scheduled"
    moved = sms["scheduled_at"].replace(tzinfo=sms["scheduled_at"].tzinfo or UTC)
    assert moved == datetime(2026, 7, 2, 8, 0, tzinfo=CST)


def test_receipts_make_a_message_delivered_or_failed(books: tuple[App, MovingClock],
                                                     gateway: JsonGateway) -> None:
    app, _ = books
    dispatcher(app).run_once(now=AT_NINE)
    messages = status_of(app)
    b1, b2 = messages[("B1", "sms")], messages[("B2", "sms")]
    applied = apply_receipt(app, Receipt(b1["provider_id"], "delivered"), channel="sms")
    assert applied.changed and applied.status == "delivered"
    assert not apply_receipt(app, Receipt(b1["provider_id"], "delivered"), channel="sms").changed
    apply_receipt(app, Receipt(b2["provider_id"], "failed", permanent=True, detail="no such number"),
                  channel="sms")
    after = status_of(app)
    assert after[("B1", "sms")]["status"] == "delivered"
    assert after[("B2", "sms")]["status"] == "failed"
    with app.engine.connect() as conn:
        assert channel_state_of(conn, "B1", "sms").last_success_at is not None
        assert channel_state_of(conn, "B2", "sms").consecutive_failures == 1
        points = conn.execute(select(contact_points.c.borrower_id, contact_points.c.status)
                              .order_by(contact_points.c.borrower_id)).all()
    # Contactability: the delivery proves B1's number, the permanent failure condemns B2's.
    assert [tuple(p) for p in points] == [("B1", "valid"), ("B2", "invalid")]


def test_an_invalid_number_stops_at_once_and_marks_the_point(books: tuple[App, MovingClock],
                                                             gateway: JsonGateway) -> None:
    app, clock = books
    gateway.failures = [(400, {"error": "invalid_number"})] * 2
    dispatcher(app).run_once(now=AT_NINE)
    messages = status_of(app)
    assert {messages[("B1", "sms")]["status"], messages[("B2", "sms")]["status"]} == {"failed"}
    assert len(gateway.requests) == 2
    # The next day's SMS to those numbers is not even attempted.
    clock.set(datetime(2026, 7, 2, 0, 30, tzinfo=CST))
    run_days(app, through=date(2026, 7, 2))
    dispatcher(app).run_once(now=datetime(2026, 7, 2, 9, 5, tzinfo=CST))
    assert len(gateway.requests) == 2


def test_transient_failures_retry_with_backoff_then_go_to_the_dead_letters(
    books: tuple[App, MovingClock], gateway: JsonGateway
) -> None:
    app, _ = books
    gateway.failures = [(503, {"error": "down"})] * 20
    first = dispatcher(app, max_attempts=3).run_once(now=AT_NINE)
    assert first.retrying == 2
    sms = status_of(app)[("B1", "sms")]
    retry_at = sms["next_attempt_at"].replace(tzinfo=sms["next_attempt_at"].tzinfo or UTC)
    assert retry_at == AT_NINE + timedelta(seconds=30)  # 30 s, jitter 0.5 = no spread
    assert dispatcher(app, max_attempts=3).run_once(now=AT_NINE + timedelta(seconds=10)).claimed == 0
    second = dispatcher(app, max_attempts=3).run_once(now=AT_NINE + timedelta(seconds=31))
    assert second.retrying == 2
    third = dispatcher(app, max_attempts=3).run_once(now=AT_NINE + timedelta(minutes=5))
    assert third.dead == 2
    dead = status_of(app)[("B1", "sms")]
    assert dead["status"] == "dead" and "gave up after 3 attempts" in dead["last_error"]
    assert len(gateway.requests) == 6


def test_a_stale_claim_is_taken_over_and_at_most_once_holds_without_idempotency(
    books: tuple[App, MovingClock], gateway: JsonGateway
) -> None:
    app, _ = books
    from fairdue.adapters.db.outbox_repo import claim_due

    with app.uow("crashed") as uow:
        claimed = claim_due(uow.connection, now=AT_NINE, worker="crashed", limit=100,
                            stale_before=AT_NINE - timedelta(minutes=5))
        uow.commit()
    assert claimed  # a worker claimed everything, then died before sending
    assert dispatcher(app).run_once(now=AT_NINE + timedelta(minutes=1)).claimed == 0
    later = dispatcher(app).run_once(now=AT_NINE + timedelta(minutes=6))
    messages = status_of(app)
    # The gateway and the file sink drop repeats: sent. (An SMTP sender would be `unknown`.)
    assert later.claimed == len(messages) and {m["status"] for m in messages.values()} == {"sent"}


@pytest.fixture
def mailed(db_url: str, tmp_path: Path, smtp_server: SmtpServer
           ) -> Iterator[tuple[App, SmtpServer]]:
    clock = MovingClock(datetime(2026, 7, 1, 0, 30, tzinfo=CST))
    smtp = f"smtp://{smtp_server.address}?starttls=0&from=collections@lender.example"
    application = _app(db_url, tmp_path, clock, sms_url=f"file://{tmp_path / 'outbox'}",
                       email_url=smtp, push_url=f"file://{tmp_path / 'outbox'}")
    import_portfolio(application, _write_portfolio(tmp_path / "data"))
    run_days(application, through=DAY1)
    try:
        yield application, smtp_server
    finally:
        application.close()


def test_email_reaches_a_real_smtp_server_once(mailed: tuple[App, SmtpServer]) -> None:
    app, smtp = mailed
    assert dispatcher(app).run_once(now=AT_NINE).sent == 4
    assert len(smtp.handler.messages) == 1
    sender, recipients, _ = smtp.handler.messages[0]
    assert sender == "collections@lender.example" and recipients == ["zs@example.com"]
    email = smtp.handler.parsed()
    assert email["Content-Language"] == "zh-CN"
    assert email["Subject"] and email["Message-ID"]
    body = email.get_content()
    assert "张*您好" in body and "张三" not in body  # the name masked, never spelt out
    assert "1,020.50" in body  # 1,000.00 principal + 20.00 interest + 0.50 penalty on day 1
    stored = status_of(app)[("B1", "email")]
    assert stored["status"] == "sent" and stored["provider_id"] == email["Message-ID"]
    assert dispatcher(app).run_once(now=AT_NINE + timedelta(hours=1)).claimed == 0
    assert len(smtp.handler.messages) == 1


def test_an_smtp_message_whose_worker_died_is_not_sent_again(mailed: tuple[App, SmtpServer]) -> None:
    """SMTP servers do not drop repeats: a claim taken over is `unknown`, never resent."""
    app, smtp = mailed
    from fairdue.adapters.db.outbox_repo import claim_due

    with app.uow("crashed") as uow:
        claim_due(uow.connection, now=AT_NINE, worker="crashed", limit=100,
                  stale_before=AT_NINE - timedelta(minutes=5))
        uow.commit()
    dispatcher(app).run_once(now=AT_NINE + timedelta(minutes=6))
    messages = status_of(app)
    assert messages[("B1", "email")]["status"] == "unknown"
    assert "not sent again" in messages[("B1", "email")]["last_error"]
    assert messages[("B1", "sms")]["status"] == "sent"  # the file sink drops repeats
    assert smtp.handler.messages == []


def test_the_case_timeline_tells_the_story_in_order(books: tuple[App, MovingClock],
                                                    gateway: JsonGateway) -> None:
    from fairdue.services.timeline import case_timeline

    app, clock = books
    dispatcher(app).run_once(now=AT_NINE)
    sms = status_of(app)[("B1", "sms")]
    apply_receipt(app, Receipt(sms["provider_id"], "delivered"), channel="sms")
    clock.set(datetime(2026, 7, 1, 11, 0, tzinfo=CST))
    record_contact(app, borrower_id="B1", channel="call", outcome="ptp",
                   at=datetime(2026, 7, 1, 10, 30, tzinfo=CST), note="will pay tonight")
    restrict_contact(app, borrower_id="B1", kind="opt_out", channel="push",
                     at=datetime(2026, 7, 1, 10, 45, tzinfo=CST))
    clock.set(datetime(2026, 7, 1, 21, 0, tzinfo=CST))
    post_payment(app, PaymentRequest("P-B1", "L1", "2000.00",
                                     datetime(2026, 7, 1, 20, 0, tzinfo=CST), "app"))
    with app.engine.connect() as conn:
        timeline = case_timeline(conn, "C-B1-20260701")
    kinds = [e.kind for e in timeline.entries]
    summaries = [e.summary for e in timeline.entries]
    assert timeline.status == "cured"
    assert kinds.index("decision") < kinds.index("contact") < kinds.index("attempt") \
        < kinds.index("restriction") < kinds.index("payment")
    assert any(s.startswith("CaseOpened") for s in summaries)
    assert any(s.startswith("CaseCured") for s in summaries)
    assert any("first_overdue_sms delivered" in s for s in summaries)
    assert any(s == "call to debtor: conversation (ptp)" for s in summaries)
    assert any(s.startswith("2000.00 CNY on L1") for s in summaries)
    assert [e.at for e in timeline.entries] == sorted(e.at for e in timeline.entries)
    assert not any("13812341234" in s or "张三" in s for s in summaries)  # no personal data


def test_a_batching_gateway_takes_many_messages_a_request(
    db_url: str, tmp_path: Path, gateway: JsonGateway
) -> None:
    clock = MovingClock(datetime(2026, 7, 1, 0, 30, tzinfo=CST))
    app = _app(db_url, tmp_path, clock, sms_url=f"{gateway.url}?batch=50",
               email_url=f"file://{tmp_path / 'outbox'}", push_url=f"file://{tmp_path / 'outbox'}")
    try:
        import_portfolio(app, _write_portfolio(tmp_path / "data"))
        run_days(app, through=DAY1)
        gateway.failures = [(400, {"error": "invalid_number"})]  # the first message of the batch
        report = dispatcher(app).run_once(now=AT_NINE)
        assert gateway.posts == 1 and len(gateway.requests) == 2  # both SMS in one request
        sms = {b: status_of(app)[(b, "sms")] for b in ("B1", "B2")}
        first = gateway.requests[0]["key"]
        refused = next(s for s in sms.values() if s["idempotency_key"] == first)
        taken = next(s for s in sms.values() if s["idempotency_key"] != first)
        assert refused["status"] == "failed" and "invalid_number" in refused["last_error"]
        assert taken["status"] == "sent"
        assert taken["provider_id"] == gateway.accepted[taken["idempotency_key"]]
        assert report.failed == 1
        with app.engine.connect() as conn:
            points = conn.execute(select(contact_points.c.status)).scalars().all()
        assert points == ["invalid"]
    finally:
        app.close()


def test_a_restriction_starting_later_does_not_stop_what_is_sent_now(
    books: tuple[App, MovingClock], gateway: JsonGateway
) -> None:
    app, _ = books
    restrict_contact(app, borrower_id="B1", kind="complaint", at=AT_NINE + timedelta(hours=2))
    report = dispatcher(app).run_once(now=AT_NINE)
    assert report.blocked == 0 and status_of(app)[("B1", "sms")]["status"] == "sent"
