"""The borrower chooses, then moves, the time of a field visit on the portal (S8), on a
visit offered through the visits services: only their own visit, only an offered time, and
the letters of a moved time stop verifying."""

from __future__ import annotations

from datetime import date, datetime

from web_helpers import borrower_browser
from webapp import CST, DAY1, Web

from fairdue.services.daily_run import run_days
from fairdue.services.promises import make_promise
from fairdue.services.visits import approve_visit, find_visits, offer_slots


def _offered(web: Web) -> str:
    """Three broken promises make the policy propose a visit (S7); approved, two times offered."""
    for amount in ("100.00", "200.00", "300.00"):
        make_promise(web.app, borrower_id="B1", amount=amount, due_on=DAY1)
    web.clock.set(datetime(2026, 7, 30, 0, 30, tzinfo=CST))
    run_days(web.app, through=date(2026, 7, 30))
    with web.app.engine.connect() as conn:
        [visit] = find_visits(conn)
    visit_id = str(visit["visit_id"])
    web.clock.set(datetime(2026, 7, 30, 10, 0, tzinfo=CST))
    approve_visit(web.app, visit_id, actor="sue", note="three broken promises")
    offer_slots(web.app, visit_id, actor="sue", slots=[
        (datetime(2026, 8, 3, 10, 0, tzinfo=CST), datetime(2026, 8, 3, 11, 0, tzinfo=CST)),
        (datetime(2026, 8, 4, 14, 0, tzinfo=CST), datetime(2026, 8, 4, 15, 0, tzinfo=CST))])
    return visit_id


def _status(web: Web, visit_id: str) -> tuple[str, object]:
    with web.app.engine.connect() as conn:
        [visit] = [v for v in find_visits(conn) if v["visit_id"] == visit_id]
    return str(visit["status"]), visit["slot_start"]


def test_a_borrower_with_no_visit_is_told_so(web: Web) -> None:
    client, _ = borrower_browser(web)
    page = client.get("/portal/visit?lang=en")
    assert page.status_code == 200 and 'id="no-visit"' in page.text


def test_the_borrower_confirms_an_offered_time_then_moves_it(web: Web) -> None:
    visit_id = _offered(web)
    client, csrf = borrower_browser(web)
    page = client.get("/portal/visit?lang=en")
    assert "2026-08-03 10:00–11:00" in page.text and "2026-08-04 14:00–15:00" in page.text

    refused = client.post("/portal/visit", data={"slot": "7", "csrf_token": csrf})
    assert refused.status_code == 422 and "has no offered time 7" in refused.text
    assert _status(web, visit_id)[0] == "slots_offered"          # nothing half-written
    forged = client.post("/portal/visit", data={"slot": "1", "csrf_token": "forged"})
    assert forged.status_code == 403

    chosen = client.post("/portal/visit?lang=en", data={"slot": "1", "csrf_token": csrf})
    assert chosen.status_code == 200 and 'id="visit-confirmed"' in chosen.text
    assert "Your visit is booked for <strong>2026-08-03 10:00–11:00" in chosen.text
    status, first = _status(web, visit_id)
    assert status == "booked"
    assert "2026-08-03 10:00" not in chosen.text.split('id="visit-booked"')[1].split("<form")[1]

    web.clock.set(datetime(2026, 7, 30, 10, 5, tzinfo=CST))
    moved = client.post("/portal/visit?lang=en", data={"slot": "2", "csrf_token": csrf})
    assert moved.status_code == 200 and "booked for <strong>2026-08-04 14:00–15:00" in moved.text
    status, second = _status(web, visit_id)
    assert status == "booked" and second != first
