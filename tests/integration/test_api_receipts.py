"""The HTTP API's first slice, on SQLite and on PostgreSQL: gateways post delivery receipts
(fairdue's JSON and Twilio's form) for messages the worker really sent, dialers post call
outcomes, and every refusal is a problem document (RFC 9457) a person can act on."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import select, update
from test_dispatch import AT_NINE, dispatcher, status_of
from test_strategy_run import CST, DAY1, MovingClock, _app, _write_portfolio

from fairdue.adapters.channels import sender_for
from fairdue.adapters.db.tables import contact_attempts, contact_points, contacts
from fairdue.adapters.templates import templates_from_settings
from fairdue.api import create_app
from fairdue.api.problems import from_fairdue_error
from fairdue.bootstrap import App
from fairdue.errors import ConfigurationError
from fairdue.services.daily_run import run_days
from fairdue.services.dispatch import Dispatcher
from fairdue.services.importer import import_portfolio
from json_gateway import JsonGateway

RECEIPT_TOKEN = "receipt-token-0123456789"
API_TOKEN = "api-token-0123456789abcdef"
DIALER = {"Authorization": f"Bearer {API_TOKEN}"}
GATEWAY = {"Authorization": f"Bearer {RECEIPT_TOKEN}"}
FORM = {**GATEWAY, "Content-Type": "application/x-www-form-urlencoded"}


@dataclasses.dataclass
class Served:
    app: App
    client: TestClient

    def message(self, borrower: str, channel: str) -> dict[str, Any]:
        return status_of(self.app)[(borrower, channel)]


@pytest.fixture
def served(db_url: str, tmp_path: Path) -> Iterator[Served]:
    """Day 1 run and dispatched (B1: SMS, email, push; B2: SMS), the API in front of it."""
    gateway = JsonGateway()
    clock = MovingClock(datetime(2026, 7, 1, 0, 30, tzinfo=CST))
    outbox = f"file://{tmp_path / 'outbox'}"
    application = _app(db_url, tmp_path, clock, sms_url=gateway.url, email_url=outbox,
                       push_url=outbox, receipt_token=RECEIPT_TOKEN, api_token=API_TOKEN)
    try:
        import_portfolio(application, _write_portfolio(tmp_path / "data"))
        run_days(application, through=DAY1)
        assert dispatcher(application).run_once(now=AT_NINE).sent == 4
        clock.set(AT_NINE + timedelta(minutes=10))
        with TestClient(create_app(application)) as client:
            yield Served(application, client)
    finally:
        application.close()
        gateway.close()


def problem(response: Response, status: int) -> dict[str, Any]:
    """The response's problem document, checked for the members RFC 9457 names."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert {"type", "title", "detail", "instance"} <= body.keys()
    assert body["instance"] == response.request.url.path
    return body


def test_a_json_receipt_delivers_the_message_once(served: Served) -> None:
    sms = served.message("B1", "sms")
    receipt = {"message_id": sms["provider_id"], "status": "delivered"}
    first = served.client.post("/api/v1/receipts/sms", json=receipt, headers=GATEWAY)
    assert first.status_code == 200, first.text
    assert first.json() == {"contact_id": sms["contact_id"], "status": "delivered", "changed": True}
    again = served.client.post("/api/v1/receipts/sms", json=receipt, headers=GATEWAY)
    assert again.json() == {"contact_id": sms["contact_id"], "status": "delivered", "changed": False}
    assert served.message("B1", "sms")["status"] == "delivered"
    push = served.message("B1", "push")
    by_query = served.client.post(f"/api/v1/receipts/push?token={RECEIPT_TOKEN}",
                                  json={"message_id": push["provider_id"], "status": "failed"})
    assert by_query.json()["status"] == "failed"
    with served.app.engine.connect() as conn:
        points = conn.execute(select(contact_points.c.borrower_id, contact_points.c.channel,
                                     contact_points.c.status)).all()
    # The delivered SMS proves the number; the failed push is a failed attempt, not a bad token.
    assert [tuple(p) for p in points] == [("B1", "sms", "valid")]


def test_a_twilio_callback_that_the_number_is_dead_marks_the_point(served: Served) -> None:
    sms = served.message("B2", "sms")
    form = f"MessageSid={sms['provider_id']}&MessageStatus=undelivered&ErrorCode=30005"
    answer = served.client.post("/api/v1/receipts/sms", content=form, headers=FORM)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"contact_id": sms["contact_id"], "status": "failed", "changed": True}
    assert served.message("B2", "sms")["last_error"] == "twilio undelivered, error 30005"
    with served.app.engine.connect() as conn:
        points = conn.execute(select(contact_points.c.borrower_id, contact_points.c.channel,
                                     contact_points.c.status)).all()
    assert [tuple(p) for p in points] == [("B2", "sms", "invalid")]
    again = served.client.post("/api/v1/receipts/sms", content=form, headers=FORM)
    assert again.json()["changed"] is False


def test_a_receipt_for_no_message_of_ours_is_404(served: Served) -> None:
    unknown = served.client.post("/api/v1/receipts/sms", headers=GATEWAY,
                                 json={"message_id": "gw-404", "status": "delivered"})
    assert "gw-404" in problem(unknown, 404)["detail"]
    sms_id = served.message("B1", "sms")["provider_id"]
    wrong_channel = served.client.post("/api/v1/receipts/email", headers=GATEWAY,
                                       json={"message_id": sms_id, "status": "delivered"})
    problem(wrong_channel, 404)


@pytest.mark.parametrize(("content", "headers", "status", "says"), [
    ("not json", GATEWAY, 400, "JSON object"),
    ('{"message_id": "gw-0", "status": "lost"}', GATEWAY, 400, "delivered, failed or undeliverable"),
    ('{"status": "delivered"}', GATEWAY, 400, "message_id"),
    ("MessageStatus=delivered", FORM, 400, "MessageSid"),
    ("MessageSid=gw-0&MessageStatus=failed&ErrorCode=abc", FORM, 400, "ErrorCode"),
    ("message_id=gw-0", {**GATEWAY, "Content-Type": "text/plain"}, 415, "application/json"),
])
def test_a_malformed_receipt_is_refused_saying_why(served: Served, content: str,
                                                   headers: dict[str, str], status: int,
                                                   says: str) -> None:
    answer = served.client.post("/api/v1/receipts/sms", content=content, headers=headers)
    assert says in problem(answer, status)["detail"]
    assert served.message("B1", "sms")["status"] == "sent"


def test_an_unknown_channel_is_a_validation_problem(served: Served) -> None:
    answer = served.client.post("/api/v1/receipts/fax", headers=GATEWAY,
                                json={"message_id": "gw-0", "status": "delivered"})
    body = problem(answer, 422)
    assert body["errors"][0]["field"] == "path.channel"


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong-token-0123456789"},
                                     {"Authorization": f"Basic {RECEIPT_TOKEN}"}])
def test_receipts_need_the_receipt_token(served: Served, headers: dict[str, str]) -> None:
    sms = served.message("B1", "sms")
    answer = served.client.post("/api/v1/receipts/sms", headers=headers,
                                json={"message_id": sms["provider_id"], "status": "delivered"})
    assert "FAIRDUE_RECEIPT_TOKEN" in problem(answer, 401)["detail"]
    assert answer.headers["www-authenticate"] == "Bearer"
    assert RECEIPT_TOKEN not in answer.text
    wrong_query = served.client.post("/api/v1/receipts/sms?token=nope", headers=headers,
                                     json={"message_id": sms["provider_id"], "status": "delivered"})
    problem(wrong_query, 401)
    assert served.message("B1", "sms")["status"] == "sent"


def test_without_a_receipt_token_receipts_are_open(served: Served) -> None:
    settings = served.app.settings.model_copy(update={"receipt_token": None})
    with TestClient(create_app(dataclasses.replace(served.app, settings=settings))) as client:
        sms = served.message("B1", "sms")
        answer = client.post("/api/v1/receipts/sms",
                             json={"message_id": sms["provider_id"], "status": "delivered"})
    assert answer.status_code == 200, answer.text


def outcome(served: Served, headers: dict[str, str] = DIALER, **body: Any) -> Response:
    return served.client.post("/api/v1/contacts/outcome", json=body, headers=headers)


def test_a_dialer_records_a_lawful_call_once(served: Served) -> None:
    at = "2026-07-01T10:00:00+08:00"
    first = outcome(served, borrower_id="B1", channel="call", outcome="refused", at=at,
                    note="says the amount is wrong", actor="dialer-3")
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["lawful"] is True and body["rules"] == [] and body["duplicate"] is False
    assert body["case_id"] and body["attempt_id"].startswith("A-")
    again = outcome(served, borrower_id="B1", channel="call", outcome="refused", at=at)
    assert again.status_code == 200
    assert again.json()["duplicate"] is True and again.json()["attempt_id"] == body["attempt_id"]
    with served.app.engine.connect() as conn:
        row = conn.execute(select(contact_attempts.c.recorded_by, contact_attempts.c.disposition)
                           .where(contact_attempts.c.attempt_id == body["attempt_id"])).one()
    assert tuple(row) == ("dialer-3", "refused")


def test_a_call_in_quiet_hours_is_kept_with_the_rule_it_broke(served: Served) -> None:
    answer = outcome(served, borrower_id="B2", channel="call", outcome="no_answer",
                     at="2026-07-01T23:15:00+08:00")
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["lawful"] is False and "CN-01" in body["rules"]
    assert any("22:00" in reason for reason in body["reasons"])


def test_the_outcome_defaults_to_now(served: Served) -> None:
    answer = outcome(served, borrower_id="B1", channel="call", outcome="no_answer")
    assert answer.status_code == 201, answer.text
    with served.app.engine.connect() as conn:
        at = conn.execute(select(contact_attempts.c.at).where(
            contact_attempts.c.attempt_id == answer.json()["attempt_id"])).scalar_one()
    # SQLite gives the stored UTC time back without its zone; PostgreSQL with it.
    assert at.replace(tzinfo=at.tzinfo or UTC) == AT_NINE + timedelta(minutes=10)


@pytest.mark.parametrize(("body", "status", "says"), [
    ({"channel": "call", "outcome": "refused"}, 422, "borrower_id: Field required"),
    ({"borrower_id": "B1", "channel": "call", "outcome": "refused", "at": "2026-07-01T10:00:00"},
     422, "at: Input should have timezone info"),
    ({"borrower_id": "B1", "channel": "call", "outcome": "refused", "party": "neighbour"},
     422, "party:"),
    ({"borrower_id": "B1", "channel": "call", "outcome": "refused", "colour": "red"},
     422, "colour: Extra inputs are not permitted"),
    ({"borrower_id": "B1", "channel": "fax", "outcome": "refused"}, 422, "unknown channel 'fax'"),
    ({"borrower_id": "B1", "channel": "call", "outcome": "shouted"}, 422, "unknown outcome 'shouted'"),
    ({"borrower_id": "B404", "channel": "call", "outcome": "refused"}, 404, "no borrower 'B404'"),
])
def test_a_bad_outcome_is_a_problem_naming_the_field(served: Served, body: dict[str, Any],
                                                      status: int, says: str) -> None:
    assert says in problem(outcome(served, **body), status)["detail"]


def test_an_outcome_body_that_is_not_json_is_400(served: Served) -> None:
    answer = served.client.post("/api/v1/contacts/outcome", content="{borrower",
                                headers={**DIALER, "Content-Type": "application/json"})
    assert "not valid JSON" in problem(answer, 400)["detail"]


def test_outcomes_need_the_api_token(served: Served) -> None:
    body = {"borrower_id": "B1", "channel": "call", "outcome": "refused"}
    for headers in ({}, {"Authorization": "Bearer wrong-token-0123456789"}):
        assert "FAIRDUE_API_TOKEN" in problem(outcome(served, headers, **body), 401)["detail"]
    by_query = served.client.post(f"/api/v1/contacts/outcome?token={API_TOKEN}", json=body)
    problem(by_query, 401)  # a header only: a query string ends up in logs
    settings = served.app.settings.model_copy(update={"api_token": None})
    with TestClient(create_app(dataclasses.replace(served.app, settings=settings))) as client:
        unset = client.post("/api/v1/contacts/outcome", json=body, headers=DIALER)
    assert "no FAIRDUE_API_TOKEN" in problem(unset, 401)["detail"]


def test_the_openapi_document_and_unknown_paths(served: Served) -> None:
    document = served.client.get("/openapi.json").json()
    assert {"/api/v1/receipts/{channel}", "/api/v1/contacts/outcome"} <= document["paths"].keys()
    receipt_body = document["paths"]["/api/v1/receipts/{channel}"]["post"]["requestBody"]
    assert {"application/json", "application/x-www-form-urlencoded"} == receipt_body["content"].keys()
    missing = problem(served.client.get("/api/v1/nothing-here"), 404)
    assert missing["type"] == "about:blank"


def test_a_configuration_error_says_so_without_the_setting() -> None:
    shown = from_fairdue_error(ConfigurationError("sms_url twilio://AC1:s3cret@host is wrong"))
    assert shown.status == 500 and "s3cret" not in shown.detail and "log" in shown.detail


def test_dead_letters_are_listed_with_their_reasons(served: Served) -> None:
    """The back office's source for dead letters: GET /api/v1/contacts?status=dead."""
    gateway = JsonGateway()
    try:
        gateway.failures = [(503, {"error": "down"})] * 10
        app = served.app
        senders = {"sms": sender_for(gateway.url), "email": sender_for(app.settings.email_url),
                   "push": sender_for(app.settings.push_url)}
        with app.engine.begin() as conn:  # send B2's SMS again, to a gateway that is down
            conn.execute(update(contacts).where(contacts.c.borrower_id == "B2",
                                                contacts.c.channel == "sms")
                         .values(status="scheduled", attempts=0))
        Dispatcher(app, senders, templates_from_settings(app.settings), worker="w2",
                   max_attempts=1).run_once(now=AT_NINE + timedelta(minutes=20))
    finally:
        gateway.close()
    dead = served.client.get("/api/v1/contacts", params={"status": "dead"}, headers=DIALER)
    assert dead.status_code == 200, dead.text
    [letter] = dead.json()
    assert letter["borrower_id"] == "B2" and letter["channel"] == "sms"
    assert "gave up after 1 attempts" in letter["last_error"]
    page = served.client.get("/api/v1/contacts", params={"limit": 2}, headers=DIALER).json()
    rest = served.client.get("/api/v1/contacts", params={"after": page[-1]["contact_id"]},
                             headers=DIALER).json()
    assert len(page) == 2 and page[-1]["contact_id"] < rest[0]["contact_id"]
    assert "13900001111" not in dead.text  # no personal data
    problem(served.client.get("/api/v1/contacts", params={"status": "lost"}, headers=DIALER), 422)
    problem(served.client.get("/api/v1/contacts"), 401)
