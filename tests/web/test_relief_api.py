"""The relief API on SQLite and PostgreSQL: plans previewed, proposed and read, waivers
requested, visits listed and requested by staff (with the holds, stops and plans that forbid
one), each only on the cases the caller may work."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select
from webapp import CST, Web

from fairdue.adapters.db.tables import audit_log, contacts
from fairdue.services.complaints import file_complaint
from fairdue.services.contacts import restrict_contact
from fairdue.services.daily_run import run_days


def problem(answer: object, status: int) -> dict[str, object]:
    assert answer.status_code == status, answer.text  # type: ignore[attr-defined]
    assert answer.headers["content-type"].startswith("application/problem+json")  # type: ignore[attr-defined]
    body: dict[str, object] = answer.json()  # type: ignore[attr-defined]
    return body


PLAN = {"borrower_id": "B1", "installments": 3, "first_on": "2026-07-10",
        "income": "8000.00", "expenses": "5000.00"}
WHY = "stalls on every call and broke three promises"


def test_a_plan_is_previewed_without_a_trace_then_proposed_and_read(web: Web) -> None:
    ann = web.bearer("ann")
    preview = web.client.post("/api/v1/plans", headers=ann, json={**PLAN, "preview": True})
    assert preview.status_code == 200, preview.text
    body = preview.json()
    assert body["recorded"] is False and body["status"] == "proposed"
    assert [i["seq"] for i in body["schedule"]] == [1, 2, 3]
    assert [i["due_on"] for i in body["schedule"]] == ["2026-07-10", "2026-08-10", "2026-09-10"]
    assert sum(Decimal(i["amount"]) for i in body["schedule"]) == Decimal(body["total"])
    # (8000 - 5000) x 0.5 a month: every installment of ~174 fits.
    assert body["max_installment"] == "1500.00" and body["affordable"] is True
    assert body["needs_supervisor"] is False
    assert web.client.get("/api/v1/plans?borrower_id=B1", headers=ann).json() == []

    made = web.client.post("/api/v1/plans", headers=ann, json=PLAN)
    assert made.status_code == 201, made.text
    plan = made.json()
    assert plan["recorded"] is True
    listed = web.client.get("/api/v1/plans?borrower_id=B1&status=proposed", headers=ann).json()
    assert [p["plan_id"] for p in listed] == [plan["plan_id"]]
    assert listed[0]["proposed_by"] == "ann" and listed[0]["installments"] == 3
    detail = web.client.get(f"/api/v1/plans/{plan['plan_id']}", headers=ann).json()
    assert [i["amount"] for i in detail["schedule"]] == [i["amount"] for i in plan["schedule"]]
    waiting = web.client.get("/api/v1/approvals", headers=web.bearer("sue")).json()["plans"]
    assert [p["plan_id"] for p in waiting] == [plan["plan_id"]]

    retried = web.client.post("/api/v1/plans", headers=ann, json=PLAN)  # a retry: one plan
    assert retried.status_code == 201 and retried.json()["plan_id"] == plan["plan_id"]
    other = problem(web.client.post("/api/v1/plans", headers=ann,
                                    json={**PLAN, "installments": 4}), 422)
    assert f"already has plan {plan['plan_id']}" in str(other["detail"])
    assert len(web.client.get("/api/v1/plans?borrower_id=B1", headers=ann).json()) == 1
    problem(web.client.get("/api/v1/plans/PLN-none", headers=ann), 404)


def test_a_plan_beyond_the_borrowers_means_says_so(web: Web) -> None:
    answer = web.client.post("/api/v1/plans", headers=web.bearer("ann"), json={
        **PLAN, "income": "3000.00", "expenses": "2900.00", "preview": True})
    body = answer.json()
    assert body["max_installment"] == "50.00" and body["affordable"] is False
    assert body["needs_supervisor"] is True
    unknown = web.client.post("/api/v1/plans", headers=web.bearer("ann"), json={
        "borrower_id": "B1", "installments": 2, "first_on": "2026-07-10", "preview": True})
    assert unknown.json()["affordable"] is None and unknown.json()["needs_supervisor"] is True


def test_a_plan_proposal_that_is_wrong_says_what_to_fix(web: Web) -> None:
    ann = web.bearer("ann")
    half = problem(web.client.post("/api/v1/plans", headers=ann,
                                   json={**PLAN, "expenses": None}), 422)
    assert "both the monthly income and the monthly expenses" in str(half["detail"])
    past = problem(web.client.post("/api/v1/plans", headers=ann,
                                   json={**PLAN, "first_on": "2026-06-01"}), 422)
    assert "before today" in str(past["detail"])
    custom = problem(web.client.post("/api/v1/plans", headers=ann,
                                     json={**PLAN, "amounts": ["1.00", "2.00", "3.00"]}), 422)
    assert "add up" in str(custom["detail"])
    extra = problem(web.client.post("/api/v1/plans", headers=ann, json={**PLAN, "role": "admin"}),
                    422)
    assert extra["errors"] == [{"field": "role", "message": "Extra inputs are not permitted"}]
    assert web.client.get("/api/v1/plans?borrower_id=B1", headers=ann).json() == []


def test_an_agent_works_relief_only_on_their_own_cases(web: Web) -> None:
    bob, ann, cora = web.bearer("bob"), web.bearer("ann"), web.bearer("cora")
    refused = problem(web.client.post("/api/v1/plans", headers=bob, json=PLAN), 403)
    assert "no open case assigned to you" in str(refused["detail"])
    problem(web.client.post("/api/v1/waivers", headers=bob, json={
        "borrower_id": "B1", "component": "penalty", "amount": "0.10", "reason": "hardship"}), 403)
    named = problem(web.client.get("/api/v1/plans", headers=ann), 422)
    assert "name the borrower_id" in str(named["detail"])
    problem(web.client.get("/api/v1/waivers?borrower_id=B2", headers=ann), 403)
    # A supervisor proposes for a case nobody was given; the agent cannot read it.
    other = web.client.post("/api/v1/plans", headers=web.bearer("sue"), json={
        **PLAN, "borrower_id": "B2"})
    assert other.status_code == 201, other.text
    problem(web.client.get(f"/api/v1/plans/{other.json()['plan_id']}", headers=ann), 403)
    # Compliance reads every plan, and proposes none.
    assert [p["borrower_id"] for p in web.client.get("/api/v1/plans", headers=cora).json()] == ["B2"]
    problem(web.client.post("/api/v1/plans", headers=cora, json=PLAN), 403)


def test_a_waiver_is_requested_and_listed(web: Web) -> None:
    ann = web.bearer("ann")
    made = web.client.post("/api/v1/waivers", headers=ann, json={
        "borrower_id": "B1", "component": "penalty", "amount": "0.25",
        "reason": "first late payment"})
    assert made.status_code == 201, made.text
    waiver = made.json()
    assert waiver["status"] == "requested" and waiver["requested_by"] == "ann"
    assert waiver["amount"] == "0.25" and waiver["reason"] == "first late payment"
    listed = web.client.get("/api/v1/waivers?borrower_id=B1&status=requested", headers=ann).json()
    assert [w["waiver_id"] for w in listed] == [waiver["waiver_id"]]
    too_much = problem(web.client.post("/api/v1/waivers", headers=ann, json={
        "borrower_id": "B1", "component": "penalty", "amount": "99.00",
        "reason": "first late payment"}), 422)
    assert "cannot waive 99.00" in str(too_much["detail"])
    problem(web.client.post("/api/v1/waivers", headers=ann, json={
        "borrower_id": "B1", "component": "principal", "amount": "1.00", "reason": "why not"}), 422)
    decided = web.client.post(f"/api/v1/approvals/waiver/{waiver['waiver_id']}",
                              headers=web.bearer("sue"),
                              json={"decision": "approve", "reason": "hardship letter seen"})
    assert decided.json()["status"] == "approved"
    approved = web.client.get("/api/v1/waivers?status=approved", headers=web.bearer("cora")).json()
    assert [w["waiver_id"] for w in approved] == [waiver["waiver_id"]]


def test_an_agent_requests_a_visit_that_waits_for_the_supervisor(web: Web) -> None:
    case_id = web.case("B1")
    ann, sue = web.bearer("ann"), web.bearer("sue")
    answer = web.client.post(f"/api/v1/cases/{case_id}/visit-request", headers=ann,
                             json={"grounds": "S7", "reason": WHY})
    assert answer.status_code == 201, answer.text
    visit = answer.json()
    assert visit["status"] == "proposed" and visit["grounds"] == "S7"
    assert visit["reason"] == f"S7 requested by ann: {WHY}" and visit["requested_by"] == "ann"
    waiting = web.client.get("/api/v1/approvals", headers=sue).json()["visits"]
    assert [v["visit_id"] for v in waiting] == [visit["visit_id"]]
    listed = web.client.get(f"/api/v1/visits?case_id={case_id}", headers=sue).json()
    assert [(v["visit_id"], v["status"], v["priority"]) for v in listed] == [
        (visit["visit_id"], "proposed", 40)]
    with web.app.engine.connect() as conn:
        audited = {r.action: json.loads(r.details) for r in conn.execute(
            select(audit_log.c.action, audit_log.c.details, audit_log.c.actor)
            .where(audit_log.c.subject == visit["visit_id"])) if r.actor == "ann"}
    assert audited["VisitRequested"] == {"case_id": case_id, "grounds": "S7", "reason": WHY,
                                         "requested_by": "ann", "role": "agent"}
    assert audited["VisitProposed"]["grounds"] == "S7"

    twice = problem(web.client.post(f"/api/v1/cases/{case_id}/visit-request", headers=ann,
                                    json={"grounds": "S6", "reason": WHY}), 409)
    assert twice["type"] == "urn:fairdue:problem:visit-open"
    assert twice["visit_id"] == visit["visit_id"] and "at most one" in str(twice["detail"])

    # Rejected, it is no longer open: the agent may ask again the same day (another id).
    web.client.post(f"/api/v1/approvals/visit/{visit['visit_id']}", headers=sue,
                    json={"decision": "reject", "reason": "call once more first"})
    again = web.client.post(f"/api/v1/cases/{case_id}/visit-request", headers=sue,
                            json={"grounds": "S6", "reason": "no answer on any channel since"})
    assert again.status_code == 201, again.text
    assert again.json()["visit_id"] != visit["visit_id"]
    statuses = [v["status"] for v in web.client.get(f"/api/v1/visits?case_id={case_id}",
                                                    headers=web.bearer("cora")).json()]
    assert sorted(statuses) == ["proposed", "rejected"]
    # The policy proposes one too; the next daily run leaves the case's one open visit be.
    moment = datetime(2026, 7, 1, 12, 0, tzinfo=CST)
    with web.app.engine.begin() as conn:
        conn.execute(contacts.insert().values(
            contact_id=f"{case_id}-20260701-9", case_id=case_id, borrower_id="B1",
            channel="visit", template="visit_notice", language="zh-CN", priority=40,
            status="proposed", reason="S7 repeated broken promises", attempts=0,
            idempotency_key="v" * 64, created_at=moment, updated_at=moment))
    web.clock.set(datetime(2026, 7, 2, 0, 30, tzinfo=CST))
    run_days(web.app, through=date(2026, 7, 2))
    web.tokens.clear()
    open_now = web.client.get(f"/api/v1/visits?case_id={case_id}&status=proposed",
                              headers=web.bearer("sue")).json()
    assert [v["visit_id"] for v in open_now] == [again.json()["visit_id"]]


def test_a_visit_request_is_refused_to_whoever_may_not_work_the_case(web: Web) -> None:
    case_id = web.case("B1")
    body = {"grounds": "S7", "reason": WHY}
    refused = problem(web.client.post(f"/api/v1/cases/{case_id}/visit-request",
                                      headers=web.bearer("bob"), json=body), 403)
    assert "not assigned to you" in str(refused["detail"])
    problem(web.client.post(f"/api/v1/cases/{case_id}/visit-request",
                            headers=web.bearer("cora"), json=body), 403)
    problem(web.client.post("/api/v1/cases/C-none/visit-request", headers=web.bearer("sue"),
                            json=body), 404)
    short = problem(web.client.post(f"/api/v1/cases/{case_id}/visit-request",
                                    headers=web.bearer("ann"),
                                    json={"grounds": "S9", "reason": "why"}), 422)
    assert {e["field"] for e in short["errors"]} == {"grounds", "reason"}  # type: ignore[union-attr]
    problem(web.client.get("/api/v1/visits", headers=web.bearer("ann")), 403)
    assert web.client.get(f"/api/v1/visits?case_id={case_id}",
                          headers=web.bearer("sue")).json() == []


def test_no_visit_while_a_complaint_is_open_or_the_borrower_disputes(web: Web) -> None:
    case_id = web.case("B1")
    filed = file_complaint(web.app, borrower_id="B1", kind="complaint", text="Too many calls")
    refused = problem(web.client.post(f"/api/v1/cases/{case_id}/visit-request",
                                      headers=web.bearer("ann"),
                                      json={"grounds": "S7", "reason": WHY}), 409)
    assert refused["type"] == "urn:fairdue:problem:visit-refused"
    assert refused["rules"] == ["CN-12"] and "complaint" in str(refused["reasons"])
    web.client.post(f"/api/v1/complaints/{filed.complaint_id}/answer",
                    headers=web.bearer("cora"), json={"answer": "We are sorry."})
    # A dispute is a stop of the profile's own guard (CN-05), for a visit as for a call.
    file_complaint(web.app, borrower_id="B1", kind="dispute", text="I repaid L1 in June")
    disputed = problem(web.client.post(f"/api/v1/cases/{case_id}/visit-request",
                                       headers=web.bearer("ann"),
                                       json={"grounds": "S7", "reason": WHY}), 409)
    assert disputed["rules"] == ["CN-05"] and "disputed" in str(disputed["reasons"])
    assert web.client.get(f"/api/v1/visits?case_id={case_id}",
                          headers=web.bearer("sue")).json() == []


def test_no_visit_to_a_borrower_who_opted_out_of_visits(web: Web) -> None:
    restrict_contact(web.app, borrower_id="B1", kind="opt_out", channel="visit",
                     at=web.clock.now(), actor="sue")
    refused = problem(web.client.post(f"/api/v1/cases/{web.case('B1')}/visit-request",
                                      headers=web.bearer("ann"),
                                      json={"grounds": "S6", "reason": WHY}), 409)
    assert refused["rules"] == ["CN-11"], refused


def test_no_visit_while_a_plan_is_active_but_one_at_night_is_fine(web: Web) -> None:
    case_id = web.case("B1")
    web.clock.set(web.clock.now().replace(hour=23))  # the quiet window: the visit is later
    night = web.client.post(f"/api/v1/cases/{case_id}/visit-request", headers=web.bearer("ann"),
                            json={"grounds": "S7", "reason": WHY})
    assert night.status_code == 201, night.text
    sue = web.bearer("sue")
    plan = web.client.post("/api/v1/plans", headers=sue, json={**PLAN, "first_on": "2026-07-11"})
    web.client.post(f"/api/v1/approvals/plan/{plan.json()['plan_id']}", headers=sue,
                    json={"decision": "approve", "reason": "agreed on the phone"})
    # The plan called the visit off ...
    assert [v["status"] for v in web.client.get(f"/api/v1/visits?case_id={case_id}",
                                                headers=sue).json()] == ["cancelled"]
    # ... and no other may be asked for while it is followed.
    refused = problem(web.client.post(f"/api/v1/cases/{case_id}/visit-request", headers=sue,
                                      json={"grounds": "S7", "reason": WHY}), 409)
    assert refused["rules"] == ["S13"] and "is active" in str(refused["detail"])


def test_the_openapi_document_describes_the_relief_routes(web: Web) -> None:
    paths = web.client.get("/openapi.json").json()["paths"]
    assert {"get", "post"} <= set(paths["/api/v1/plans"]) and "get" in paths["/api/v1/plans/{plan_id}"]
    assert {"get", "post"} <= set(paths["/api/v1/waivers"]) and "get" in paths["/api/v1/visits"]
    request = paths["/api/v1/cases/{case_id}/visit-request"]["post"]
    assert request["summary"].startswith("Ask for a field visit")
    assert "application/problem+json" in request["responses"]["409"]["content"]
