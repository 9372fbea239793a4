"""The field agent's pages and API, and the supervisor's part of a visit, on SQLite and
PostgreSQL: a supervisor approves B1's visit and offers times; the borrower picks one; on
the day fay (FA-0001, linked to her account) sees her crew's route with the place, checks
in with a typed position, uploads a photo, checks out, has a record with prohibited wording
refused in the form (what she typed kept), submits it, and amends it. Another crew's agent
is refused; the supervisor sees the visit without the place."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner
from web_helpers import csrf_in, staff_browser
from webapp import CST, PASSWORD, Web, propose_visit

from fairdue.adapters.db.tables import audit_log
from fairdue.adapters.db.tables_visits import visit_credentials, visit_evidence
from fairdue.domain.field_agents import FieldAgent
from fairdue.domain.geo import Point
from fairdue.errors import InvalidInput
from fairdue.services.evidence import stored_path
from fairdue.services.field_agents import add_agent
from fairdue.services.staff import add_user
from fairdue.services.verification import verify_collector
from fairdue.services.visit_crews import change_crew
from fairdue.services.visits import confirm_slot

PLACE = "北京市朝阳区建国路1号"
PHOTO = b"\x89PNG\r\n\x1a\n" + b"the door of the flat, no one else in the picture" * 20


def _booked_visit(web: Web) -> str:
    """Approved and offered through the supervisor's page, picked by the borrower for
    3 July 10:00; the clock then stands at 09:30 that day."""
    visit_id = propose_visit(web.app, web.clock)
    web.clock.set(datetime(2026, 7, 2, 10, 0, tzinfo=CST))
    sue, csrf = staff_browser(web, "sue")
    page = sue.get("/supervise/approvals?lang=en")
    assert visit_id in page.text
    decided = sue.post(f"/supervise/approvals/visit/{visit_id}",
                       data={"decision": "approve", "reason": "three broken promises",
                             "csrf_token": csrf})
    assert decided.status_code == 200 and f"visit {visit_id}: approved" in decided.text
    assert "Offer the borrower times" in sue.get("/supervise/approvals?lang=en").text
    late = sue.post(f"/supervise/visits/{visit_id}/slots",
                    data={"starts": "2026-07-03T21:30", "csrf_token": csrf})
    assert late.status_code == 422 and "lawful hours" in late.text     # CN-01, in the page
    offered = sue.post(f"/supervise/visits/{visit_id}/slots",
                       data={"starts": ["2026-07-03T10:00", "2026-07-03T14:00"],
                             "csrf_token": csrf}, follow_redirects=False)
    assert offered.status_code == 303
    assert "by SMS" in sue.get(offered.headers["location"] + "&lang=en").text
    booking = confirm_slot(web.app, visit_id, 1)
    assert booking.collectors == ("FA-0001", "FA-0002")
    web.clock.set(datetime(2026, 7, 3, 9, 30, tzinfo=CST))
    return visit_id


def _form(client: TestClient, path: str, csrf: str, **fields: Any) -> Any:
    return client.post(path, data={**fields, "csrf_token": csrf})


def test_a_field_agent_works_a_visit_through_the_pages(web: Web) -> None:
    visit_id = _booked_visit(web)
    fay, csrf = staff_browser(web, "fay")
    day = fay.get("/field?lang=en")
    assert day.status_code == 200
    assert re.search(r"Total distance of the route: \d+\.\d km", day.text)
    assert visit_id in day.text and PLACE in day.text and "10:00–11:00" in day.text
    assert re.search(r'class="arrive">1\d:\d\d', day.text)
    with web.app.engine.connect() as conn:
        reads = conn.execute(select(func.count()).select_from(audit_log).where(
            audit_log.c.action == "VisitPlaceRead", audit_log.c.subject == visit_id)).scalar()
    assert reads == 1                                       # the place read in clear, audited

    page = f"/field/visits/{visit_id}"
    bad = _form(fay, f"{page}/check-in?lang=en", csrf, collectors=["FA-0001", "FA-0002"],
                latitude="north", longitude="116.4")
    assert bad.status_code == 422 and "decimal latitude and longitude" in bad.text
    alone = _form(fay, f"{page}/check-in?lang=en", csrf, collectors=["FA-0001"],
                  latitude="39.9", longitude="116.4")
    assert alone.status_code == 422 and "at least 2 collectors" in alone.text   # CN-06
    web.clock.set(datetime(2026, 7, 3, 10, 5, tzinfo=CST))
    arrived = _form(fay, f"{page}/check-in?lang=en", csrf, collectors=["FA-0001", "FA-0002"],
                    latitude="39.9005", longitude="116.4")
    assert arrived.status_code == 200 and "Checked in, 5" in arrived.text
    assert 'id="visit-status">in_progress' in arrived.text

    sent = fay.post(f"{page}/evidence?lang=en", data={"csrf_token": csrf, "kind": ""},
                    files={"file": ("door photo.png", PHOTO, "image/png")})
    assert sent.status_code == 200 and "Evidence kept:" in sent.text
    with web.app.engine.connect() as conn:
        kept = conn.execute(select(visit_evidence)).mappings().one()
    assert kept["kind"] == "photo" and kept["file_name"] == "door_photo.png"
    assert stored_path(web.app.settings.resolved_evidence_dir(), kept["sha256"]).read_bytes() == PHOTO

    web.clock.set(datetime(2026, 7, 3, 10, 50, tzinfo=CST))
    left = _form(fay, f"{page}/check-out?lang=en", csrf, latitude="39.9005", longitude="116.4")
    assert left.status_code == 200 and "Checked out." in left.text and 'id="record-form"' in left.text
    record = {"reaction": "upset", "arrears_reason": "lost his job in June",
              "solution": "refusal", "follow_up_on": "2026-07-10",
              "follow_up_plan": "call again on the 10th",
              "notes": "told him we will call the police"}
    refused = _form(fay, f"{page}/record?lang=en", csrf, **record)
    assert refused.status_code == 422 and "prohibited wording" in refused.text
    assert "lost his job in June" in refused.text and 'value="upset" selected' in refused.text
    record.update(reaction="cooperative", solution="plan", notes="he will ask for a 3-month plan")
    saved = _form(fay, f"{page}/record?lang=en", csrf, **record)
    assert saved.status_code == 200 and "submitted and sealed" in saved.text
    assert 'id="visit-status">visited' in saved.text
    again = _form(fay, f"{page}/record?lang=en", csrf, **record)
    assert again.status_code == 409                             # frozen once submitted

    no_reason = _form(fay, f"{page}/amend?lang=en", csrf, follow_up_on="2026-07-12", reason=" ")
    assert no_reason.status_code == 422 and "say why" in no_reason.text
    amended = _form(fay, f"{page}/amend?lang=en", csrf, follow_up_on="2026-07-12",
                    reason="the borrower asked for the 12th")
    assert amended.status_code == 200 and "Amendment 1 added." in amended.text
    assert 'class="rec-follow_up_on">2026-07-12' in amended.text

    # The supervisor reads the visit and its record, without the place.
    sue, _ = staff_browser(web, "sue")
    seen = sue.get(f"{page}?lang=en")
    assert seen.status_code == 200 and PLACE not in seen.text and "2026-07-12" in seen.text
    assert 'id="amend-form"' not in seen.text


def test_the_visit_api_and_another_crews_agent(web: Web) -> None:
    visit_id = _booked_visit(web)
    add_agent(web.app, FieldAgent("FA-0003", "赵六", "north", ("北京",), Point(39.9, 116.3)),
              actor="admin")
    add_user(web.app, "finn", "field_agent", PASSWORD, badge="FA-0003")
    fay, finn = web.bearer("fay"), web.bearer("finn")
    base = f"/api/v1/visits/{visit_id}"

    mine = web.client.get("/api/v1/visits/mine", headers=fay).json()
    assert mine["badge"] == "FA-0001" and mine["day"] == "2026-07-03"
    assert [(s["order"], s["visit_id"], s["place"]) for s in mine["stops"]] == [(1, visit_id, PLACE)]
    assert mine["total_distance_m"] > 0
    assert web.client.get("/api/v1/visits/mine", headers=finn).json()["stops"] == []
    refused = web.client.get(base, headers=finn)
    assert refused.status_code == 403 and "not booked for your badge FA-0003" in refused.json()["detail"]
    assert refused.headers["content-type"] == "application/problem+json"
    assert web.client.post(f"{base}/check-in", headers=finn,
                           json={"latitude": 39.9, "longitude": 116.4}).status_code == 403

    web.clock.set(datetime(2026, 7, 3, 10, 5, tzinfo=CST))
    far = web.client.post(f"{base}/check-in", headers=fay,
                          json={"collectors": ["fa-0002"], "latitude": 39.95, "longitude": 116.4})
    assert far.status_code == 200 and far.json()["flagged"] is True   # 5.5 km from the place
    photo = web.client.post(f"{base}/evidence", headers=fay, data={"kind": "selfie"},
                            files={"file": ("a.png", PHOTO, "image/png")})
    assert photo.status_code == 422 and "not one of audio, photo" in photo.json()["detail"]
    audio = web.client.post(f"{base}/evidence", headers=fay,
                            files={"file": ("talk.m4a", b"recorded talk", "audio/mp4")})
    assert audio.status_code == 200 and len(audio.json()["sha256"]) == 64
    early = web.client.post(f"{base}/record", headers=fay, json={
        "reaction": "cooperative", "arrears_reason": "ill", "solution": "promise",
        "follow_up_on": "2026-07-05", "follow_up_plan": "pay on the 5th"})
    assert early.status_code == 422 and "check out before" in early.json()["detail"]
    web.clock.set(datetime(2026, 7, 3, 10, 45, tzinfo=CST))
    assert web.client.post(f"{base}/check-out", headers=fay,
                           json={"latitude": 39.9, "longitude": 116.4}).status_code == 200
    done = web.client.post(f"{base}/record", headers=fay, json={
        "reaction": "cooperative", "arrears_reason": "ill", "solution": "promise",
        "follow_up_on": "2026-07-05", "follow_up_plan": "pay on the 5th"})
    assert done.status_code == 200 and len(done.json()["record_sha256"]) == 64
    wrong_field = web.client.post(f"{base}/amend", headers=fay,
                                  json={"changes": {"amount": "5"}, "reason": "typo"})
    assert wrong_field.status_code == 422 and "cannot amend amount" in wrong_field.json()["detail"]
    rude = web.client.post(f"{base}/amend", headers=fay,
                           json={"changes": {"notes": "we will call the police"}, "reason": "x"})
    assert rude.status_code == 422 and "prohibited wording" in rude.json()["detail"]
    amended = web.client.post(f"{base}/amend", headers=fay,
                              json={"changes": {"follow_up_on": "2026-07-06"}, "reason": "moved"})
    assert amended.json() == {"visit_id": visit_id, "amendment_no": 1}
    shown = web.client.get(base, headers=web.bearer("sue")).json()
    assert shown["status"] == "visited" and shown["place"] is None
    assert shown["record"]["current"]["follow_up_on"] == "2026-07-06"
    assert [e["kind"] for e in shown["record"]["evidence"]] == ["audio"]
    assert web.client.post(f"{base}/slots", headers=web.bearer("sue"), json={}).status_code == 409


def test_a_field_agent_account_names_a_registered_free_badge(web: Web) -> None:
    with pytest.raises(InvalidInput, match="only a field_agent account carries a badge"):
        add_user(web.app, "zoe", "agent", PASSWORD, badge="FA-0002")
    with pytest.raises(InvalidInput, match="FA-0099 is not registered"):
        add_user(web.app, "zoe", "field_agent", PASSWORD, badge="FA-0099")
    with pytest.raises(InvalidInput, match="already belongs to user 'fay'"):
        add_user(web.app, "zoe", "field_agent", PASSWORD, badge="fa-0001")
    unlinked = add_user(web.app, "zed", "field_agent", PASSWORD)
    assert unlinked.badge is None
    client, _ = staff_browser(web, "zed")
    page = client.get("/field?lang=en")
    assert page.status_code == 409 and "not linked to a badge" in page.text


def test_user_add_links_the_badge_from_the_command_line(web: Web) -> None:
    from fairdue.cli.main import app as cli

    env = {"FAIRDUE_DATABASE_URL": str(web.app.settings.database_url),
           "FAIRDUE_KEY_FILE": str(web.folder / "web.key")}
    runner = CliRunner()
    added = runner.invoke(cli, ["user", "add", "gus", "--role", "field_agent", "--badge", "fa-0002"],
                          input=f"{PASSWORD}\n", env=env)
    assert added.exit_code == 0, added.output
    assert "added gus (field_agent, badge FA-0002)" in added.output
    client, _ = staff_browser(web, "gus")
    assert "王强" not in client.get("/field").text and "李明" in client.get("/field").text
    taken = runner.invoke(cli, ["user", "add", "hal", "--role", "field_agent", "--badge", "FA-0002"],
                          input=f"{PASSWORD}\n", env=env)
    assert taken.exit_code == 2 and "already belongs" in taken.output
    login = csrf_in(TestClient(web.client.app, base_url="https://testserver").get("/login").text)
    assert login


def test_a_supervisor_gives_a_booked_visit_another_crew(web: Web) -> None:
    visit_id = _booked_visit(web)
    for badge, name in (("FA-0003", "赵六"), ("FA-0004", "孙七")):
        add_agent(web.app, FieldAgent(badge, name, "north", ("北京",), Point(39.9, 116.3)),
                  actor="admin")
    sue, csrf = staff_browser(web, "sue")
    page = sue.get("/supervise/approvals?lang=en")
    assert "Booked visits" in page.text and "FA-0001, FA-0002" in page.text
    nobody = sue.post(f"/supervise/visits/{visit_id}/crew",
                      data={"badges": "FA-0003", "reason": "FA-0001 is ill", "csrf_token": csrf})
    assert nobody.status_code == 422 and "at least 2 collectors" in nobody.text  # CN-06
    changed = sue.post(f"/supervise/visits/{visit_id}/crew?lang=en",
                       data={"badges": "FA-0003 FA-0004", "reason": "FA-0001 is ill",
                             "csrf_token": csrf})
    assert changed.status_code == 200 and "FA-0003, FA-0004" in changed.text
    with web.app.engine.connect() as conn:
        letters = conn.execute(select(visit_credentials.c.badge,
                                      visit_credentials.c.revoked_at.is_(None))
                               .where(visit_credentials.c.visit_id == visit_id)).all()
    assert sorted((b, bool(live)) for b, live in letters) == [
        ("FA-0001", False), ("FA-0002", False), ("FA-0003", True), ("FA-0004", True)]
    # Without badges: chosen as at booking from everyone but the present crew (back to 1+2),
    # and each new letter verifies for the borrower at the door.
    again = change_crew(web.app, visit_id, actor="sue", reason="FA-0003 called in sick")
    assert again.collectors == ("FA-0001", "FA-0002")
    at_door = datetime(2026, 7, 3, 10, 5, tzinfo=CST)
    for credential in again.credentials:
        assert verify_collector(web.app, credential.badge, credential.code, at_door).verified
    same = web.client.post(f"/api/v1/visits/{visit_id}/crew", headers=web.bearer("sue"),
                           json={"badges": ["FA-0002", "FA-0001"], "reason": "x"})
    assert same.status_code == 422 and "already the crew" in same.json()["detail"]
    assert web.client.post(f"/api/v1/visits/{visit_id}/crew", headers=web.bearer("fay"),
                           json={"reason": "x"}).status_code == 403
