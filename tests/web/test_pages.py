"""The staff pages: sign-in, CSRF on every form, the case page's masking and call check,
recording an outcome, and the compliance officer's views."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from sqlalchemy import select
from web_helpers import csrf_in, staff_browser
from webapp import PASSWORD, Web

from fairdue.adapters.db.tables import audit_log
from fairdue.services.complaints import file_complaint


def test_sign_in_redirects_to_the_role_home_and_only_to_this_site(web: Web) -> None:
    client = TestClient(web.client.app, base_url="https://testserver")
    token = csrf_in(client.get("/login").text)
    wrong = client.post("/login", data={"username": "ann", "password": "nope nope nope",
                                        "csrf_token": token})
    assert wrong.status_code == 401 and "wrong" in wrong.text
    answer = client.post("/login", data={"username": "ann", "password": PASSWORD,
                                         "csrf_token": token, "next": "//evil.example/x"},
                         follow_redirects=False)
    assert answer.headers["location"] == "/work"
    assert client.get("/work", follow_redirects=False).status_code == 200


def test_forms_without_the_session_csrf_token_are_refused(web: Web) -> None:
    client, csrf = staff_browser(web, "ann")
    case_id = web.case("B1")
    for sent in ("", "forged-token"):
        answer = client.post(f"/work/cases/{case_id}/outcome",
                             data={"outcome": "no_answer", "csrf_token": sent})
        assert answer.status_code == 403 and "表单已过期" in answer.text
    ok = client.post(f"/work/cases/{case_id}/outcome?lang=en",
                     data={"outcome": "no_answer", "csrf_token": csrf})
    assert ok.status_code == 200 and "Recorded." in ok.text


def test_the_case_page_masks_and_a_supervisor_unmasks_with_a_reason(web: Web) -> None:
    case_id = web.case("B1")
    ann, _ = staff_browser(web, "ann")
    page = ann.get(f"/work/cases/{case_id}?lang=en").text
    assert "138****1234" in page and "13812341234" not in page and "Show in clear" not in page
    assert "A call is allowed now." in page and "Timeline" in page
    sue, csrf = staff_browser(web, "sue")
    no_reason = sue.post(f"/work/cases/{case_id}/unmask", data={"reason": "", "csrf_token": csrf})
    assert no_reason.status_code == 422
    clear = sue.post(f"/work/cases/{case_id}/unmask", data={"reason": "borrower asked",
                                                           "csrf_token": csrf})
    assert "13812341234" in clear.text and "张三" in clear.text
    with web.app.engine.connect() as conn:
        details = [json.loads(d) for d in conn.execute(
            select(audit_log.c.details).where(audit_log.c.action == "PiiUnmasked")).scalars()]
    assert details == [{"role": "supervisor", "reason": "borrower asked",
                        "fields": details[0]["fields"]}]


def test_call_now_says_why_not_at_night(web: Web) -> None:
    web.clock.set(web.clock.moment.replace(hour=23))
    ann, _ = staff_browser(web, "ann")
    page = ann.get(f"/work/cases/{web.case('B1')}?lang=en").text
    assert "No call now" in page and "CN-01" in page and "Next allowed: 2026-07-02 08:00" in page


def test_a_prohibited_note_is_refused_on_the_page(web: Web) -> None:
    ann, csrf = staff_browser(web, "ann")
    answer = ann.post(f"/work/cases/{web.case('B1')}/outcome", data={
        "outcome": "refused", "note": "pay or we call the police", "csrf_token": csrf})
    assert answer.status_code == 422 and "prohibited content" in answer.text


def test_the_compliance_officer_answers_a_complaint_and_checks_the_audit_log(web: Web) -> None:
    filed = file_complaint(web.app, borrower_id="B1", kind="complaint", text="Too many calls")
    cora, csrf = staff_browser(web, "cora")
    listed = cora.get("/compliance/complaints?lang=en").text
    assert filed.complaint_id in listed and "Too many calls" in listed
    done = cora.post(f"/compliance/complaints/{filed.complaint_id}/answer",
                     data={"answer": "We are sorry.", "resume": "1", "csrf_token": csrf})
    assert done.status_code == 200 and "answered" in done.text
    audit = cora.get("/compliance/audit?lang=en").text
    assert "The audit chain is intact" in audit and "ComplaintAnswered" in audit
    assert cora.get("/compliance/policies").status_code == 200


def test_the_supervisor_assigns_from_the_team_queue(web: Web) -> None:
    sue, csrf = staff_browser(web, "sue")
    case_b2 = web.case("B2")
    assert case_b2 in sue.get("/supervise").text
    sue.post("/supervise/assign", data={"case_id": case_b2, "username": "bob", "csrf_token": csrf})
    bob, _ = staff_browser(web, "bob")
    assert case_b2 in bob.get("/work").text


def test_sign_out_ends_the_cookie_session(web: Web) -> None:
    ann, csrf = staff_browser(web, "ann")
    assert ann.post("/logout", data={"csrf_token": csrf}, follow_redirects=False).status_code == 303
    assert ann.get("/work", follow_redirects=False).status_code == 303



def test_every_word_a_page_uses_exists() -> None:
    """A key a template names (`t('key')`) and the words lack would fail only on the page
    that shows it; find them all here."""
    import re
    from importlib import resources

    from fairdue.api.pages.i18n import keys
    from fairdue.services.complaints import KINDS, STATUSES

    folder = resources.files("fairdue") / "web" / "templates"
    used: set[str] = set()
    for template in folder.iterdir():
        used |= set(re.findall(r"\bt\('([a-z_]+)'\s*[,)]", template.read_text(encoding="utf-8")))
    # Keys made from a value: every value the services give.
    used |= {f"kind_{k}" for k in KINDS} | {f"status_{s}" for s in STATUSES}
    used |= {"state_paid", "state_overdue", "state_not_due"}
    assert len(used) > 50 and not used - set(keys()), sorted(used - set(keys()))
