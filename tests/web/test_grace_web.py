"""Grace from the web: a borrower asks on the portal, a supervisor decides on the approvals
page or through the API, the borrower reads the answer; an agent records a request asked
on the phone; a supervisor grants outright. On SQLite and PostgreSQL."""

from __future__ import annotations

from web_helpers import borrower_browser, staff_browser
from webapp import Web


def test_a_borrower_asks_for_time_and_a_supervisor_approves_on_the_approvals_page(
        web: Web) -> None:
    client, csrf = borrower_browser(web)
    page = client.get("/portal/grace?lang=en")
    assert page.status_code == 200 and "Asking alone pauses nothing" in page.text
    refused = client.post("/portal/grace", data={"days": "7", "reason": " ", "csrf_token": csrf})
    assert refused.status_code == 422 and "needs a reason" in refused.text
    sent = client.post("/portal/grace", data={"days": "7", "reason": "in hospital until 8 July",
                                              "csrf_token": csrf})
    assert sent.status_code == 200 and "waiting for an answer" in sent.text
    assert 'action="/portal/grace"' not in sent.text  # one waiting request at a time

    sue, sue_csrf = staff_browser(web, "sue")
    approvals = sue.get("/supervise/approvals?lang=en")
    [request_id] = [r["request_id"] for r in
                    web.client.get("/api/v1/approvals", headers=web.bearer("sue")).json()["grace"]]
    assert "in hospital until 8 July" in approvals.text and request_id in approvals.text
    done = sue.post(f"/supervise/approvals/grace/{request_id}",
                    data={"decision": "approve", "days": "5", "freeze_penalty": "1",
                          "reason": "hospital letter seen", "csrf_token": sue_csrf})
    assert done.status_code == 200 and f"grace {request_id}: approved" in done.text

    answered = client.get("/portal/grace?lang=en")
    assert "approved" in answered.text and "2026-07-01 – 2026-07-05" in answered.text
    graces = web.client.get("/api/v1/grace?borrower_id=B1", headers=web.bearer("sue")).json()
    [grace] = graces["grace_periods"]
    assert grace["freeze_penalty"] is True and grace["ends_on"] == "2026-07-05"
    assert graces["requests"][0]["status"] == "approved"
    timeline = web.client.get(f"/api/v1/cases/{web.case('B1')}/timeline",
                              headers=web.bearer("sue")).json()
    said = [e["summary"] for e in timeline["entries"]]
    assert f"GraceRequested {request_id}" in said and f"GraceRequestApproved {request_id}" in said
    check = web.client.get(f"/api/v1/cases/{web.case('B1')}/call-check",
                           headers=web.bearer("ann")).json()
    assert check["allowed"] is False and "CN-12" in check["rules"]


def test_a_rejection_reaches_the_borrower_with_its_reason(web: Web) -> None:
    client, csrf = borrower_browser(web)
    client.post("/portal/grace", data={"days": "10", "reason": "waiting for my salary",
                                       "csrf_token": csrf})
    sue = web.bearer("sue")
    [asked] = web.client.get("/api/v1/approvals", headers=sue).json()["grace"]
    too_long = web.client.post(f"/api/v1/approvals/grace/{asked['request_id']}", headers=sue,
                               json={"decision": "approve", "days": 11})
    assert too_long.status_code == 422 and "grant 1 to 10 days" in too_long.json()["detail"]
    rejected = web.client.post(f"/api/v1/approvals/grace/{asked['request_id']}", headers=sue,
                               json={"decision": "reject",
                                     "reason": "a repayment plan fits better; call us"})
    assert rejected.json()["status"] == "rejected"
    page = client.get("/portal/grace?lang=en")
    assert "not approved" in page.text and "a repayment plan fits better" in page.text
    assert 'action="/portal/grace"' in page.text  # may ask again


def test_a_borrower_withdraws_a_waiting_request(web: Web) -> None:
    client, csrf = borrower_browser(web)
    client.post("/portal/grace", data={"days": "3", "reason": "travel", "csrf_token": csrf})
    [asked] = web.client.get("/api/v1/grace?borrower_id=B1",
                             headers=web.bearer("sue")).json()["requests"]
    out = client.post(f"/portal/grace/{asked['request_id']}/withdraw?lang=en",
                      data={"csrf_token": csrf})
    assert out.status_code == 200 and "withdrawn" in out.text
    assert web.client.get("/api/v1/approvals", headers=web.bearer("sue")).json()["grace"] == []


def test_an_agent_records_a_request_on_their_case_and_a_supervisor_grants_outright(
        web: Web) -> None:
    ann, bob = web.bearer("ann"), web.bearer("bob")
    body = {"borrower_id": "B1", "days": 4, "reason": "asked on the phone: lost job"}
    assert web.client.post("/api/v1/grace/requests", headers=bob, json=body).status_code == 403
    made = web.client.post("/api/v1/grace/requests", headers=ann, json=body)
    assert made.status_code == 201 and made.json()["requested_by"] == "ann"
    again = web.client.post("/api/v1/grace/requests", headers=ann, json=body)
    assert again.status_code == 409 and "already waiting" in again.json()["detail"]
    granted = web.client.post("/api/v1/grace", headers=web.bearer("sue"),
                              json={"borrower_id": "B2", "days": 3, "reason": "flood at home"})
    assert granted.status_code == 201 and granted.json()["ends_on"] == "2026-07-03"
    assert web.client.post("/api/v1/grace", headers=ann, json=body).status_code == 403
