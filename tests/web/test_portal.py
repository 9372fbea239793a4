"""The borrower's sign-in by SMS code and the portal (S12-S15), on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import dataclasses
import io
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from web_helpers import borrower_browser, code_from, csrf_in
from webapp import PHONE_B1, Web, outbox_codes

from fairdue.adapters.channels import sender_for
from fairdue.adapters.db.tables import contact_attempts, contact_restrictions, contacts
from fairdue.adapters.db.tables_web import borrower_login_codes
from fairdue.bootstrap import App
from fairdue.domain.compliance.lexicon import check_text
from fairdue.services.borrower_login import CodeRefused, TooManyCodes, request_code, verify_code
from fairdue.services.contacts import restrict_contact
from fairdue.services.dispatch import Dispatcher
from fairdue.services.workbench import call_check


def test_a_code_is_sent_through_the_sms_outbox_and_stored_only_hashed(web: Web) -> None:
    request_code(web.app, PHONE_B1, language="en")
    [message] = outbox_codes(web.folder)
    assert message["channel"] == "sms" and message["to"] == PHONE_B1
    code = code_from(message["body"])
    assert "expires in 5 minutes" in message["body"] and "overdue" not in message["body"]
    assert not check_text(message["body"], "en")
    with web.app.engine.connect() as conn:
        row = conn.execute(select(borrower_login_codes)).one()
    assert code not in (row.code_hash or "") and row.send_status == "sent"
    assert row.code_sealed is not None and code.encode() not in row.code_sealed
    with web.app.engine.connect() as conn:
        [sent] = conn.execute(select(contacts).where(contacts.c.contact_id == row.code_id)).all()
    assert (sent.channel, sent.template, sent.status, sent.case_id, sent.attempts) == (
        "sms", "sign_in_code", "sent", None, 1)
    assert verify_code(web.app, "+86" + PHONE_B1, code) == "B1"
    with pytest.raises(CodeRefused, match="wrong, expired or used"):
        verify_code(web.app, PHONE_B1, code)  # used once only
    with web.app.engine.connect() as conn:
        assert conn.execute(select(borrower_login_codes.c.code_sealed)).scalar() is None


def _provider_down(web: Web) -> App:
    """The same books, with the SMS provider unreachable (nothing listens on port 9)."""
    return dataclasses.replace(web.app, settings=web.app.settings.model_copy(
        update={"sms_url": "http://127.0.0.1:9/sms"}))


def _worker_run(web: Web, at: datetime) -> str:
    """`fairdue worker --once` at `at`; the sign-in message's status afterwards."""
    url = web.app.settings.sms_url
    worker = Dispatcher(web.app, {c: sender_for(url) for c in ("sms", "email", "push")},
                        web.app.templates)
    try:
        worker.run_once(now=at)
    finally:
        worker.close()
    with web.app.engine.connect() as conn:
        return str(conn.execute(select(contacts.c.status)
                                .where(contacts.c.template == "sign_in_code")).scalar_one())


def test_a_code_the_provider_could_not_take_is_retried_by_the_worker(web: Web) -> None:
    request_code(_provider_down(web), PHONE_B1, language="en")
    assert outbox_codes(web.folder) == []
    with web.app.engine.connect() as conn:
        waiting = conn.execute(select(contacts).where(contacts.c.template == "sign_in_code")).one()
    assert waiting.status == "scheduled" and waiting.attempts == 1 and waiting.next_attempt_at
    assert _worker_run(web, web.clock.moment + timedelta(minutes=2)) == "sent"
    [message] = outbox_codes(web.folder)
    assert verify_code(web.app, PHONE_B1, code_from(message["body"])) == "B1"
    with web.app.engine.connect() as conn:  # a sign-in code is no contact attempt on the debt
        assert conn.execute(select(contact_attempts).where(
            contact_attempts.c.contact_id == waiting.contact_id)).all() == []


def test_a_code_that_can_no_longer_sign_in_is_not_sent(web: Web) -> None:
    request_code(_provider_down(web), PHONE_B1)
    expired = web.clock.moment + timedelta(minutes=6)
    assert _worker_run(web, expired) == "cancelled" and outbox_codes(web.folder) == []


def test_quiet_hours_and_a_complaint_do_not_hold_back_a_sign_in_code(web: Web) -> None:
    restrict_contact(web.app, borrower_id="B1", kind="complaint", at=web.clock.moment,
                     note="filed a complaint")
    web.clock.set(web.clock.moment.replace(hour=23, minute=30))  # in quiet hours (CN-01)
    request_code(web.app, PHONE_B1)
    assert len(outbox_codes(web.folder)) == 1


def test_the_chinese_code_message(web: Web) -> None:
    request_code(web.app, PHONE_B1, language="zh-CN")
    body = outbox_codes(web.folder)[0]["body"]
    assert "验证码" in body and "5分钟" in body and not check_text(body, "zh-CN")


def test_a_code_expires(web: Web) -> None:
    request_code(web.app, PHONE_B1)
    code = code_from(outbox_codes(web.folder)[0]["body"])
    web.clock.set(web.clock.moment + timedelta(minutes=5, seconds=1))
    with pytest.raises(CodeRefused):
        verify_code(web.app, PHONE_B1, code)


def test_codes_are_rate_limited_per_phone_and_unknown_numbers_answer_alike(web: Web) -> None:
    for _ in range(3):
        request_code(web.app, PHONE_B1)
        request_code(web.app, "13000000000")  # nobody's: same answer, no message
    for phone in (PHONE_B1, "13000000000"):
        with pytest.raises(TooManyCodes, match="3 codes were sent"):
            request_code(web.app, phone)
    assert len(outbox_codes(web.folder)) == 3
    web.clock.set(web.clock.moment + timedelta(minutes=16))
    request_code(web.app, PHONE_B1)


def test_repeated_wrong_codes_lock_the_phone(web: Web) -> None:
    request_code(web.app, PHONE_B1)
    code = code_from(outbox_codes(web.folder)[0]["body"])
    wrong = "000000" if code != "000000" else "111111"
    for left in (4, 3, 2, 1):
        with pytest.raises(CodeRefused, match=f"{left} more tries"):
            verify_code(web.app, PHONE_B1, wrong)
    with pytest.raises(CodeRefused, match="locked for 30 minutes"):
        verify_code(web.app, PHONE_B1, wrong)
    with pytest.raises(CodeRefused):
        verify_code(web.app, PHONE_B1, code)  # the right code no longer helps
    with pytest.raises(TooManyCodes, match="too many wrong codes"):
        request_code(web.app, PHONE_B1)
    web.clock.set(web.clock.moment + timedelta(minutes=31))
    request_code(web.app, PHONE_B1)


def test_the_portal_shows_what_is_owed_and_how_to_pay(web: Web) -> None:
    client, _ = borrower_browser(web)
    page = client.get("/portal?lang=en")
    assert page.status_code == 200 and "What I owe" in page.text
    assert "520.25" in page.text and "510.00" in page.text and "overdue" in page.text
    assert web.app.settings.bank_account in page.text
    assert "600.00" not in page.text  # B2's loan is not shown to B1
    assert page.headers["cache-control"] == "no-store"


def test_a_complaint_pauses_collection_at_once(web: Web) -> None:
    client, csrf = borrower_browser(web)
    assert call_check(web.app, "B1", web.clock.now()).allowed
    filed = client.post("/portal/complaints?lang=en", data={
        "kind": "complaint", "text": "Your caller was rude.", "csrf_token": csrf})
    assert filed.status_code == 200 and "Collection contact is paused" in filed.text
    verdict = call_check(web.app, "B1", web.clock.now())
    assert not verdict.allowed and "complaint" in " ".join(verdict.reasons)
    assert "being looked into" in client.get("/portal/complaints?lang=en").text


def test_preferences_and_opt_out(web: Web) -> None:
    client, csrf = borrower_browser(web)
    saved = client.post("/portal/preferences?lang=en", data={
        "preferred": ["sms"], "opt_out": ["email"], "agreed_from": "18:00", "agreed_to": "20:00",
        "csrf_token": csrf})
    assert saved.status_code == 200 and "Saved." in saved.text
    with web.app.engine.connect() as conn:
        kinds = conn.execute(select(contact_restrictions.c.kind, contact_restrictions.c.channel,
                                    contact_restrictions.c.lifted_at)).all()
    assert [(k, c, lifted is None) for k, c, lifted in kinds] == [("opt_out", "email", True)]
    client.post("/portal/preferences", data={"preferred": ["sms"], "csrf_token": csrf})
    with web.app.engine.connect() as conn:
        lifted = conn.execute(select(contact_restrictions.c.lifted_at)).scalar()
    assert lifted is not None


def test_contact_history_download(web: Web) -> None:
    client, _ = borrower_browser(web)
    answer = client.get("/portal/history.csv")
    assert answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert rows == [] or set(rows[0]) == {"at", "kind", "channel", "result", "rule", "by",
                                          "reference"}


def test_sign_in_forms_need_their_csrf_cookie(web: Web) -> None:
    from fastapi.testclient import TestClient

    client = TestClient(web.client.app, base_url="https://testserver")
    token = csrf_in(client.get("/portal/login").text)
    forged = TestClient(web.client.app, base_url="https://testserver")
    assert forged.post("/portal/login", data={"phone": PHONE_B1, "csrf_token": token}).status_code == 403
    assert client.post("/portal/login", data={"phone": PHONE_B1, "csrf_token": token}).status_code == 200


def test_help_and_verify_pages_are_public(web: Web) -> None:
    help_page = web.client.get("/portal/help?lang=en").text
    assert "12348" in help_page and "12378" in help_page
    assert web.app.settings.verify_hotline in web.client.get("/portal/verify").text


def test_the_portal_speaks_the_borrowers_language_until_they_choose(web: Web) -> None:
    client, _ = borrower_browser(web, "13900001111")  # B2 speaks English
    assert "What I owe, and why" in client.get("/portal").text
    assert "我欠多少" in client.get("/portal?lang=zh-CN").text
    assert "我欠多少" in client.get("/portal").text
