"""The web application's JSON API, on SQLite and PostgreSQL: staff sign in, work a case from
the queue to a promise, see masked data unless their role may unmask it (audited), and the
back office reads complaints, refusals, the audit log, policies and exports."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import select
from webapp import API_TOKEN, PASSWORD, Web

from fairdue.adapters.db.tables import audit_log, promises
from fairdue.adapters.db.tables_web import web_sessions
from fairdue.services.complaints import file_complaint


def problem(answer: object, status: int) -> dict[str, object]:
    assert answer.status_code == status, answer.text  # type: ignore[attr-defined]
    assert answer.headers["content-type"].startswith("application/problem+json")  # type: ignore[attr-defined]
    body: dict[str, object] = answer.json()  # type: ignore[attr-defined]
    return body


def test_login_gives_a_cookie_and_a_bearer_token_stored_only_hashed(web: Web) -> None:
    answer = web.client.post("/api/v1/auth/login", json={"username": "ann", "password": PASSWORD})
    assert answer.status_code == 200
    body = answer.json()
    assert body["role"] == "agent" and body["token_type"] == "bearer"
    cookie = answer.headers["set-cookie"]
    assert "fairdue_session=" in cookie and "HttpOnly" in cookie and "Secure" in cookie
    assert "samesite=strict" in cookie.lower()
    with web.app.engine.connect() as conn:
        stored = set(conn.execute(select(web_sessions.c.token_hash)).scalars())
    assert body["token"] not in stored and len(stored) == 2
    me = web.client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.json()["id"] == "ann" and "case.work" in me.json()["permissions"]


def test_a_wrong_password_or_user_is_one_answer(web: Web) -> None:
    for name, password in (("ann", "wrong password!"), ("nobody", PASSWORD)):
        refused = web.client.post("/api/v1/auth/login", json={"username": name, "password": password})
        assert "user name or the password is wrong" in str(problem(refused, 401)["detail"])


def test_the_api_never_reads_the_session_cookie(web: Web) -> None:
    web.client.post("/api/v1/auth/login", json={"username": "sue", "password": PASSWORD})
    assert "fairdue_session" in web.client.cookies
    problem(web.client.get("/api/v1/cases/team"), 401)


def test_logout_ends_the_token_and_an_expired_token_is_refused(web: Web) -> None:
    headers = web.bearer("sue")
    assert web.client.get("/api/v1/cases/team", headers=headers).status_code == 200
    assert web.client.post("/api/v1/auth/logout", headers=headers).status_code == 204
    assert "sign in again" in str(problem(web.client.get("/api/v1/cases/team", headers=headers),
                                          401)["detail"])
    web.tokens.clear()
    headers = web.bearer("sue")
    web.clock.set(web.clock.moment + timedelta(hours=web.app.settings.session_hours, seconds=1))
    problem(web.client.get("/api/v1/cases/team", headers=headers), 401)


def test_an_agent_works_a_case_from_the_queue_to_a_promise(web: Web) -> None:
    ann = web.bearer("ann")
    queue = web.client.get("/api/v1/cases", headers=ann).json()
    assert [row["borrower_id"] for row in queue] == ["B1"]
    case_id = queue[0]["case_id"]
    case = web.client.get(f"/api/v1/cases/{case_id}", headers=ann).json()
    assert case["dpd"] == 1 and case["bucket"] == "M1" and case["amount_due"] == "520.25"
    assert case["borrower"]["masked"] and case["borrower"]["phones"] == ["138****1234"]
    first = case["loans"][0]["installments"]
    assert [(i["seq"], i["state"], i["owed_total"]) for i in first] == [
        (1, "overdue", "520.25"), (2, "not_due", "510.00")]
    assert web.client.get(f"/api/v1/cases/{case_id}/call-check", headers=ann).json()["allowed"]
    recorded = web.client.post(f"/api/v1/cases/{case_id}/outcome", headers=ann, json={
        "outcome": "ptp", "note": "will pay on Friday", "promise_amount": "520.25",
        "promise_due": "2026-07-03"})
    assert recorded.status_code == 201, recorded.text
    assert recorded.json()["lawful"] and recorded.json()["promise_id"]
    listed = web.client.get("/api/v1/promises?borrower_id=B1", headers=ann).json()
    assert [(p["amount"], p["made_by"], p["status"]) for p in listed] == [("520.25", "ann", "pending")]
    kinds = [e["summary"] for e in
             web.client.get(f"/api/v1/cases/{case_id}/timeline", headers=ann).json()["entries"]]
    assert any("conversation (ptp)" in summary for summary in kinds)


def test_a_bad_promise_writes_nothing(web: Web) -> None:
    ann = web.bearer("ann")
    case_id = web.case("B1")
    for body, says in (
        ({"outcome": "ptp", "promise_amount": "10.00"}, "both an amount and a date"),
        ({"outcome": "no_answer", "promise_amount": "1.00", "promise_due": "2026-07-03"}, "ptp"),
        ({"outcome": "ptp", "promise_amount": "1.00", "promise_due": "2026-06-01"}, "past"),
        ({"outcome": "ptp", "note": "pay or we call the police"}, "prohibited content"),
        ({"outcome": "shouted"}, "unknown outcome"),
    ):
        answer = web.client.post(f"/api/v1/cases/{case_id}/outcome", headers=ann, json=body)
        assert says in str(problem(answer, 422)["detail"])
    with web.app.engine.connect() as conn:
        assert conn.execute(select(promises)).first() is None


def test_an_agent_opens_only_their_own_cases(web: Web) -> None:
    bob = web.bearer("bob")
    case_id = web.case("B1")
    assert web.client.get("/api/v1/cases", headers=bob).json() == []
    for path in (f"/api/v1/cases/{case_id}", f"/api/v1/cases/{case_id}/timeline",
                 "/api/v1/borrowers/B1", "/api/v1/promises?borrower_id=B1"):
        assert "assigned to you" in str(problem(web.client.get(path, headers=bob), 403)["detail"])


def test_supervisor_assigns_and_unmasks_with_an_audited_reason(web: Web) -> None:
    sue = web.bearer("sue")
    case_b2 = web.case("B2")
    team = web.client.get("/api/v1/cases/team", headers=sue).json()
    assert {r["borrower_id"]: r["assigned_to"] for r in team} == {"B1": "ann", "B2": None}
    assert web.client.post(f"/api/v1/cases/{case_b2}/assign", headers=sue,
                           json={"username": "bob"}).status_code == 200
    assert [r["case_id"] for r in web.client.get("/api/v1/cases", headers=web.bearer("bob")).json()] \
        == [case_b2]
    refused = web.client.post(f"/api/v1/cases/{case_b2}/assign", headers=sue,
                              json={"username": "cora"})
    assert "not an active agent" in str(problem(refused, 422)["detail"])
    clear = web.client.post("/api/v1/borrowers/B1/unmask", headers=sue,
                            json={"reason": "complaint call-back"}).json()
    assert clear["masked"] is False and clear["phones"] == ["13812341234"]
    with web.app.engine.connect() as conn:
        entry = conn.execute(select(audit_log).where(audit_log.c.action == "PiiUnmasked")).one()
    assert entry.actor == "sue" and json.loads(entry.details)["reason"] == "complaint call-back"


def test_complaints_are_listed_and_answered_by_compliance(web: Web) -> None:
    filed = file_complaint(web.app, borrower_id="B1", kind="dispute", text="I paid in June")
    cora = web.bearer("cora")
    listed = web.client.get("/api/v1/complaints?status=open", headers=cora).json()
    assert [(c["complaint_id"], c["kind"]) for c in listed] == [(filed.complaint_id, "dispute")]
    answered = web.client.post(f"/api/v1/complaints/{filed.complaint_id}/answer", headers=cora,
                               json={"answer": "We found your June payment."})
    assert answered.json()["status"] == "answered" and answered.json()["answered_by"] == "cora"
    again = web.client.post(f"/api/v1/complaints/{filed.complaint_id}/answer", headers=cora,
                            json={"answer": "twice"})
    assert "answered already" in str(problem(again, 409)["detail"])
    missing = web.client.post("/api/v1/complaints/CP-none/answer", headers=cora,
                              json={"answer": "x"})
    problem(missing, 404)


def test_an_agent_records_a_complaint_heard_on_the_phone_and_collection_pauses(web: Web) -> None:
    ann, bob = web.bearer("ann"), web.bearer("bob")
    body = {"borrower_id": "B1", "kind": "complaint", "text": "the caller was rude to my mother"}
    problem(web.client.post("/api/v1/complaints", headers=bob, json=body), 403)  # not bob's case
    made = web.client.post("/api/v1/complaints", headers=ann, json=body)
    assert made.status_code == 201 and made.json()["case_id"] == web.case("B1")
    check = web.client.get(f"/api/v1/cases/{web.case('B1')}/call-check", headers=ann).json()
    assert check["allowed"] is False  # a complaint is a hold (CN-12) from this minute
    listed = web.client.get("/api/v1/complaints?status=open", headers=web.bearer("cora")).json()
    assert [c["text"] for c in listed] == ["the caller was rude to my mother"]
    refused = web.client.post("/api/v1/complaints", headers=ann,
                              json={**body, "kind": "rant"})
    problem(refused, 422)


def test_back_office_reads(web: Web) -> None:
    cora = web.bearer("cora")
    verify = web.client.get("/api/v1/audit/verify", headers=cora).json()
    assert verify["ok"] and verify["entries_checked"] > 0
    entries = web.client.get("/api/v1/audit?limit=3", headers=cora).json()
    assert len(entries) == 3 and entries[0]["seq"] > entries[1]["seq"]
    policies = web.client.get("/api/v1/policies", headers=cora).json()
    assert policies and policies[0]["profile"] == "cn" and policies[0]["diff_from_previous"] is None
    refusals = web.client.get("/api/v1/compliance/refusals", headers=cora).json()
    assert set(refusals) == {"by_rule", "latest"}
    export = web.client.get("/api/v1/exports/cases?format=csv", headers=cora)
    assert export.status_code == 200 and export.text.startswith("case_id,")
    assert "choose one of" in str(problem(web.client.get("/api/v1/exports/nothing", headers=cora),
                                          422)["detail"])


def test_the_integration_token_still_records_outcomes(web: Web) -> None:
    dialer = {"Authorization": f"Bearer {API_TOKEN}"}
    answer = web.client.post("/api/v1/contacts/outcome", headers=dialer, json={
        "borrower_id": "B2", "channel": "call", "outcome": "no_answer", "actor": "dialer-1"})
    assert answer.status_code == 201 and answer.json()["lawful"]
    # a signed-in agent records under their own name, whatever `actor` says
    mine = web.client.post("/api/v1/contacts/outcome", headers=web.bearer("ann"), json={
        "borrower_id": "B2", "channel": "call", "outcome": "busy", "actor": "someone-else"})
    assert mine.status_code == 201
    timeline = web.client.get(f"/api/v1/cases/{web.case('B2')}/timeline",
                              headers=web.bearer("sue")).json()["entries"]
    by = [e["details"]["by"] for e in timeline if e["kind"] == "attempt"]
    assert sorted(by) == ["ann", "dialer-1"]


def test_the_openapi_document_lists_the_web_api(web: Web) -> None:
    paths = web.client.get("/openapi.json").json()["paths"]
    assert {"/api/v1/auth/login", "/api/v1/cases", "/api/v1/cases/{case_id}/timeline",
            "/api/v1/complaints", "/api/v1/policies", "/api/v1/exports/{what}"} <= paths.keys()
    assert not any(p.startswith(("/work", "/portal", "/login")) for p in paths)


def test_repeated_wrong_passwords_lock_the_account_for_a_while(web: Web) -> None:
    for _ in range(5):
        problem(web.client.post("/api/v1/auth/login",
                                json={"username": "sue", "password": "guess guess guess"}), 401)
    locked = web.client.post("/api/v1/auth/login", json={"username": "sue", "password": PASSWORD})
    assert "locked for a while" in str(problem(locked, 401)["detail"])
    web.clock.set(web.clock.moment + timedelta(minutes=16))
    assert web.client.post("/api/v1/auth/login",
                           json={"username": "sue", "password": PASSWORD}).status_code == 200
    with web.app.engine.connect() as conn:
        refused = [json.loads(d) for d in conn.execute(select(audit_log.c.details).where(
            audit_log.c.action == "StaffSignInRefused")).scalars()]
    assert [r.get("failures") for r in refused] == [1, 2, 3, 4, 5, None]
