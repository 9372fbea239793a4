"""`POST /api/v1/verify` and the portal's "verify a collector" page (S12), on a visit booked
through the visits services: the letter's code verifies its collector only, at the time."""

from __future__ import annotations

from datetime import date, datetime

from fastapi.testclient import TestClient
from web_helpers import csrf_in
from webapp import CST, DAY1, Web

from fairdue.services.daily_run import run_days
from fairdue.services.promises import make_promise
from fairdue.services.visits import approve_visit, confirm_slot, find_visits, offer_slots


def _booked_codes(web: Web) -> dict[str, str]:
    """Three broken promises make the default policy propose a visit on 30 July (S7); it is
    approved, offered and confirmed, which issues one letter per collector."""
    for amount in ("100.00", "200.00", "300.00"):
        make_promise(web.app, borrower_id="B1", amount=amount, due_on=DAY1)
    web.clock.set(datetime(2026, 7, 30, 0, 30, tzinfo=CST))
    run_days(web.app, through=date(2026, 7, 30))
    # The crew FA-0001 and FA-0002 (team north) is registered by the fixture (webapp.py).
    with web.app.engine.connect() as conn:
        [visit] = find_visits(conn)
    visit_id = str(visit["visit_id"])
    web.clock.set(datetime(2026, 7, 30, 10, 0, tzinfo=CST))
    approve_visit(web.app, visit_id, actor="sue", note="three broken promises")
    offer_slots(web.app, visit_id, actor="sue", slots=[
        (datetime(2026, 8, 3, 10, 0, tzinfo=CST), datetime(2026, 8, 3, 11, 0, tzinfo=CST))])
    booking = confirm_slot(web.app, visit_id, 1)
    return {c.badge: c.code for c in booking.credentials}


def test_verify_a_collector_through_the_api_and_the_portal(web: Web) -> None:
    codes = _booked_codes(web)
    web.clock.set(datetime(2026, 8, 3, 10, 2, tzinfo=CST))
    anyone = TestClient(web.client.app, base_url="https://testserver")
    ok = anyone.post("/api/v1/verify", json={"badge": "FA-0001", "code": codes["FA-0001"]})
    assert ok.status_code == 200
    body = ok.json()
    assert body["verified"] and body["message"].startswith("verified:")
    assert datetime.fromisoformat(body["valid_from"]) == datetime(2026, 8, 3, 9, 0, tzinfo=CST)
    assert "B1" not in ok.text and "张三" not in ok.text
    wrong = anyone.post("/api/v1/verify", json={"badge": "FA-0001", "code": codes["FA-0002"]})
    assert wrong.json()["verified"] is False and "official hotline" in wrong.json()["message"]
    assert anyone.post("/api/v1/verify", json={"badge": ""}).status_code == 422

    form = anyone.get("/portal/verify?badge=FA-0002")
    assert 'value="FA-0002"' in form.text
    page = anyone.post("/portal/verify", data={"badge": "FA-0002", "code": codes["FA-0002"],
                                               "csrf_token": csrf_in(form.text)})
    assert page.status_code == 200 and "verified: this person is authorised" in page.text
