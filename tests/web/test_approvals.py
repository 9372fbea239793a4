"""Approvals of plans and waivers (API and pages) and the borrower's plan proposal from the
portal (S13), on the plans and waivers services."""

from __future__ import annotations

from web_helpers import borrower_browser, staff_browser
from webapp import Web

from fairdue.services.waivers import request_waiver


def test_a_borrower_proposes_a_plan_and_a_supervisor_approves_it(web: Web) -> None:
    client, csrf = borrower_browser(web)
    refused = client.post("/portal/plan?lang=en", data={"installments": "3", "first_on": "soon",
                                                        "csrf_token": csrf})
    assert refused.status_code == 422 and "first payment date" in refused.text
    sent = client.post("/portal/plan?lang=en", data={"installments": "3",
                                                     "first_on": "2026-07-10",
                                                     "csrf_token": csrf})
    assert sent.status_code == 200 and "we will answer soon" in sent.text
    sue = web.bearer("sue")
    waiting = web.client.get("/api/v1/approvals", headers=sue).json()
    [plan] = waiting["plans"]
    assert plan["borrower_id"] == "B1" and plan["proposed_by"] == "B1" and plan["installments"] == 3
    decided = web.client.post(f"/api/v1/approvals/plan/{plan['plan_id']}", headers=sue,
                              json={"decision": "approve", "reason": "affordable"})
    assert decided.status_code == 200 and decided.json()["status"] == "active"
    assert web.client.get("/api/v1/approvals", headers=sue).json()["plans"] == []
    assert "active" in client.get("/portal/plan").text


def test_waivers_are_decided_on_the_approvals_page(web: Web) -> None:
    waiver = request_waiver(web.app, borrower_id="B1", component="penalty", amount="0.25",
                            reason="first late payment", actor="ann")
    sue, csrf = staff_browser(web, "sue")
    page = sue.get("/supervise/approvals?lang=en")
    assert page.status_code == 200 and waiver.waiver_id in page.text
    done = sue.post(f"/supervise/approvals/waiver/{waiver.waiver_id}",
                    data={"decision": "reject", "reason": "", "csrf_token": csrf})
    assert done.status_code == 422  # a rejection needs its reason
    done = sue.post(f"/supervise/approvals/waiver/{waiver.waiver_id}",
                    data={"decision": "reject", "reason": "pay first", "csrf_token": csrf})
    assert done.status_code == 200 and "rejected" in done.text
    missing = web.client.post("/api/v1/approvals/waiver/W-none", headers=web.bearer("sue"),
                              json={"decision": "approve"})
    assert missing.status_code == 404
