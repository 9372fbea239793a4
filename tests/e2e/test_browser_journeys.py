"""The main journeys in a real headless Chromium (Playwright, Debian's chromium; no browser
is downloaded): an agent works a case from the queue to a promise; a borrower signs in with
the code sent by SMS (read from the file outbox), proposes a plan and files a complaint; a
supervisor approves a plan with a reason; a supervisor approves a visit and offers times; a
field agent sees the day's route, checks in where the browser locates them, uploads a photo,
checks out and submits the visit record.

Each page visited is saved as a screenshot in the folder FAIRDUE_SCREENSHOTS names, else in
pytest's temporary folder; the folder is printed at the end. Without Chromium these tests
skip, saying why, except under CI=true, where they fail.
"""

from __future__ import annotations

import os
import shutil
import socket
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "web"))

from webapp import (
    CST,
    MORNING,
    PASSWORD,
    PHONE_B1,
    MovingClock,
    build_web_app,
    outbox_codes,
    propose_visit,
)

from fairdue.bootstrap import App

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")


def _chromium() -> str:
    for candidate in (os.environ.get("FAIRDUE_CHROMIUM"), *CHROMIUM_CANDIDATES):
        if candidate and Path(candidate).is_file():
            return candidate
    found = shutil.which("chromium")
    if found:
        return found
    reason = ("no Chromium found (looked at FAIRDUE_CHROMIUM, " + ", ".join(CHROMIUM_CANDIDATES)
              + "); install Debian's: apt-get install -y chromium")
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


@dataclass
class Served:
    app: App
    base: str
    folder: Path
    shots: Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config
           ) -> Iterator[Served]:
    """One server for the module: the web application on uvicorn, in a thread, on SQLite."""
    import uvicorn

    from fairdue.api import create_app

    folder = tmp_path_factory.mktemp("browser")
    shots = Path(os.environ.get("FAIRDUE_SCREENSHOTS") or folder / "screenshots")
    shots.mkdir(parents=True, exist_ok=True)
    application = build_web_app(f"sqlite:///{folder / 'web.db'}", folder, MovingClock(MORNING))
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(application), host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start within 20 s"
        time.sleep(0.05)
    try:
        yield Served(application, f"http://localhost:{port}", folder, shots)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        application.close()
        capture = pytestconfig.pluginmanager.getplugin("capturemanager")
        if capture is not None:
            with capture.global_and_fixture_disabled():
                print(f"\nbrowser screenshots: {shots}")


@pytest.fixture(scope="module")
def browser(served: Served) -> Iterator[object]:
    executable = _chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, headless=True,
                                              args=["--no-sandbox"])
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    # A phone-sized window: the pages must work on one.
    context = browser.new_context(viewport={"width": 390, "height": 844})  # type: ignore[attr-defined]
    try:
        yield context.new_page()
    finally:
        context.close()


def _shot(page: object, served: Served, name: str) -> None:
    page.screenshot(path=str(served.shots / f"{name}.png"), full_page=True)  # type: ignore[attr-defined]


def test_an_agent_works_a_case_from_queue_to_promise(served: Served, page: object) -> None:
    from playwright.sync_api import expect

    p = page
    p.goto(f"{served.base}/login?lang=en")  # type: ignore[attr-defined]
    _shot(p, served, "agent-01-login")
    p.fill("input[name=username]", "ann")  # type: ignore[attr-defined]
    p.fill("input[name=password]", PASSWORD)  # type: ignore[attr-defined]
    p.click("button[type=submit]")  # type: ignore[attr-defined]
    expect(p.get_by_role("heading", name="My queue")).to_be_visible()  # type: ignore[attr-defined]
    _shot(p, served, "agent-02-queue")
    p.click("table.queue a")  # type: ignore[attr-defined]
    expect(p.locator("#pii-phone")).to_have_text("138****1234")  # type: ignore[attr-defined]
    expect(p.locator("#call-now")).to_contain_text("A call is allowed now.")  # type: ignore[attr-defined]
    _shot(p, served, "agent-03-case")
    p.select_option("#outcome", "ptp")  # type: ignore[attr-defined]
    p.fill("textarea[name=note]", "Will pay on Friday after payday")  # type: ignore[attr-defined]
    p.fill("input[name=promise_amount]", "520.25")  # type: ignore[attr-defined]
    p.fill("input[name=promise_due]", "2026-07-03")  # type: ignore[attr-defined]
    p.click("#outcome-form button[type=submit]")  # type: ignore[attr-defined]
    expect(p.locator("#promise-taken")).to_contain_text("Promise recorded")  # type: ignore[attr-defined]
    expect(p.locator("ol.timeline")).to_contain_text("conversation (ptp)")  # type: ignore[attr-defined]
    _shot(p, served, "agent-04-promise")


def test_a_borrower_signs_in_proposes_a_plan_and_complains(served: Served, page: object
                                                               ) -> None:
    from playwright.sync_api import expect

    p = page
    p.goto(f"{served.base}/portal/login?lang=en")  # type: ignore[attr-defined]
    _shot(p, served, "borrower-01-phone")
    p.fill("input[name=phone]", PHONE_B1)  # type: ignore[attr-defined]
    p.click("button[type=submit]")  # type: ignore[attr-defined]
    expect(p.locator("input[name=code]")).to_be_visible()  # type: ignore[attr-defined]
    _shot(p, served, "borrower-02-code")
    body = outbox_codes(served.folder)[-1]["body"]
    code = next(word for word in body.replace(".", " ").split() if word.isdigit() and len(word) == 6)
    p.fill("input[name=code]", code)  # type: ignore[attr-defined]
    p.click("button[type=submit]")  # type: ignore[attr-defined]
    expect(p.get_by_role("heading", name="What I owe, and why")).to_be_visible()  # type: ignore[attr-defined]
    expect(p.locator("main")).to_contain_text("520.25")  # type: ignore[attr-defined]
    _shot(p, served, "borrower-03-owed")
    p.goto(f"{served.base}/portal/plan")  # type: ignore[attr-defined]
    p.fill("input[name=installments]", "3")  # type: ignore[attr-defined]
    p.fill("input[name=first_on]", "2026-07-10")  # type: ignore[attr-defined]
    p.click("form.stack button[type=submit]")  # type: ignore[attr-defined]
    expect(p.locator("#plan-proposed")).to_contain_text("we will answer soon")  # type: ignore[attr-defined]
    _shot(p, served, "borrower-04-plan")
    p.goto(f"{served.base}/portal/complaints")  # type: ignore[attr-defined]
    p.fill("textarea[name=text]", "The caller phoned me three times in one evening.")  # type: ignore[attr-defined]
    p.click("form.stack button[type=submit]")  # type: ignore[attr-defined]
    expect(p.locator("#complaint-filed")).to_contain_text("Collection contact is paused")  # type: ignore[attr-defined]
    _shot(p, served, "borrower-05-complaint")
    p.goto(f"{served.base}/portal/help")  # type: ignore[attr-defined]
    expect(p.locator("main")).to_contain_text("12348")  # type: ignore[attr-defined]
    _shot(p, served, "borrower-06-help")


def test_a_supervisor_approves_a_plan_with_a_reason(served: Served, page: object) -> None:
    from datetime import date

    from playwright.sync_api import expect

    from fairdue.services.plans import propose_plan

    plan = propose_plan(served.app, borrower_id="B2", installments=2, first_on=date(2026, 7, 10),
                        actor="B2")
    p = page
    p.goto(f"{served.base}/login?lang=en")  # type: ignore[attr-defined]
    p.fill("input[name=username]", "sue")  # type: ignore[attr-defined]
    p.fill("input[name=password]", PASSWORD)  # type: ignore[attr-defined]
    p.click("button[type=submit]")  # type: ignore[attr-defined]
    expect(p.get_by_role("heading", name="Team queue")).to_be_visible()  # type: ignore[attr-defined]
    _shot(p, served, "supervisor-01-team-queue")
    p.click("nav >> text=Approvals")  # type: ignore[attr-defined]
    section = p.locator("section.panel", has_text=plan.plan_id)  # type: ignore[attr-defined]
    expect(section).to_be_visible()
    _shot(p, served, "supervisor-02-approvals")
    section.locator("input[name=reason]").fill("affordable on her stated income")
    section.locator("button[value=approve]").click()
    expect(p.locator("#decided")).to_contain_text(f"plan {plan.plan_id}: active")  # type: ignore[attr-defined]
    _shot(p, served, "supervisor-03-approved")


def _clock(served: Served) -> MovingClock:
    clock = served.app.clock
    assert isinstance(clock, MovingClock)
    return clock


def _sign_in(p: object, served: Served, user: str) -> None:
    p.goto(f"{served.base}/login?lang=en")  # type: ignore[attr-defined]
    p.fill("input[name=username]", user)  # type: ignore[attr-defined]
    p.fill("input[name=password]", PASSWORD)  # type: ignore[attr-defined]
    p.click("button[type=submit]")  # type: ignore[attr-defined]


def _visit_of_b1(served: Served) -> str:
    """B1's visit: proposed by the run of 2 July unless an earlier journey made it."""
    from webapp import case_of

    from fairdue.services.visits import find_visits

    with served.app.engine.connect() as conn:
        found = find_visits(conn, case_id=case_of(served.app, "B1"))
    return str(found[0]["visit_id"]) if found else propose_visit(served.app, _clock(served))


def test_a_supervisor_approves_a_visit(served: Served, page: object) -> None:
    from datetime import datetime

    from playwright.sync_api import expect

    visit_id = _visit_of_b1(served)
    _clock(served).set(datetime(2026, 7, 2, 10, 0, tzinfo=CST))
    p = page
    _sign_in(p, served, "sue")
    p.click("nav >> text=Approvals")  # type: ignore[attr-defined]
    section = p.locator("section.panel", has_text=visit_id).first  # type: ignore[attr-defined]
    expect(section).to_be_visible()
    _shot(p, served, "supervisor-visit-01-proposed")
    section.locator("input[name=reason]").fill("three broken promises, phone not answered")
    section.locator("button[value=approve]").click()
    expect(p.locator("#decided")).to_contain_text(f"visit {visit_id}: approved")  # type: ignore[attr-defined]
    _shot(p, served, "supervisor-visit-02-approved")
    offer = p.locator("section.schedule", has_text=visit_id)  # type: ignore[attr-defined]
    offer.locator("input[name=starts]").first.fill("2026-07-03T10:00")
    offer.locator("input[name=starts]").nth(1).fill("2026-07-03T14:00")
    offer.locator("button[type=submit]").click()
    expect(p.locator("#decided")).to_contain_text("offered to the borrower by SMS")  # type: ignore[attr-defined]
    _shot(p, served, "supervisor-visit-03-times-offered")


def test_a_field_agent_checks_in_and_records_a_visit(served: Served, browser: object) -> None:
    from datetime import datetime

    from playwright.sync_api import expect

    from fairdue.services.visits import approve_visit, confirm_slot, find_visits, offer_slots

    visit_id = _visit_of_b1(served)
    clock = _clock(served)
    with served.app.engine.connect() as conn:
        status = next(v["status"] for v in find_visits(conn) if v["visit_id"] == visit_id)
    if status == "proposed":      # run alone: the supervisor's part, through the services
        clock.set(datetime(2026, 7, 2, 10, 0, tzinfo=CST))
        approve_visit(served.app, visit_id, actor="sue", note="three broken promises")
        offer_slots(served.app, visit_id, actor="sue", slots=[
            (datetime(2026, 7, 3, 10, 0, tzinfo=CST), datetime(2026, 7, 3, 11, 0, tzinfo=CST))])
    confirm_slot(served.app, visit_id, 1)          # the borrower picks the first time
    clock.set(datetime(2026, 7, 3, 9, 30, tzinfo=CST))
    photo = served.folder / "door.png"
    photo.write_bytes(b"\x89PNG\r\n\x1a\n" + b"the building's door" * 50)
    # A phone that lets the page locate it, standing 55 m from the agreed place.
    context = browser.new_context(  # type: ignore[attr-defined]
        viewport={"width": 390, "height": 844}, permissions=["geolocation"],
        geolocation={"latitude": 39.9005, "longitude": 116.4})
    try:
        p = context.new_page()
        _sign_in(p, served, "fay")
        expect(p.get_by_role("heading", name="Today's route")).to_be_visible()
        expect(p.locator("#route-total")).to_contain_text("Total distance of the route")
        expect(p.locator("li.stop .place")).to_have_text("北京市朝阳区建国路1号")
        _shot(p, served, "field-01-route")
        p.click(f"a[href='/field/visits/{visit_id}']")
        expect(p.locator("#check-in-form .geo-lat")).to_have_value("39.900500")
        _shot(p, served, "field-02-visit")
        clock.set(datetime(2026, 7, 3, 10, 5, tzinfo=CST))
        p.click("#check-in-form button[type=submit]")
        expect(p.locator("#visit-done")).to_contain_text("Checked in, 5")
        expect(p.locator("#visit-status")).to_have_text("in_progress")
        p.set_input_files("#evidence-form input[type=file]", str(photo))
        p.click("#evidence-form button[type=submit]")
        expect(p.locator("#visit-done")).to_contain_text("Evidence kept:")
        expect(p.locator("#evidence-list")).to_contain_text("photo · door.png")
        _shot(p, served, "field-03-checked-in-with-evidence")
        clock.set(datetime(2026, 7, 3, 10, 50, tzinfo=CST))
        expect(p.locator("#check-out-form .geo-lon")).to_have_value("116.400000")
        p.click("#check-out-form button[type=submit]")
        expect(p.locator("#visit-done")).to_contain_text("Checked out.")
        p.select_option("#reaction", "cooperative")
        p.fill("#record-form textarea[name=arrears_reason]", "lost his job in June")
        p.select_option("#solution", "plan")
        p.fill("#record-form input[name=follow_up_on]", "2026-07-10")
        p.fill("#record-form textarea[name=follow_up_plan]", "propose a 3-month plan on the 10th")
        p.fill("#record-form textarea[name=notes]", "we will call the police")
        p.click("#record-form button[type=submit]")
        expect(p.locator("#visit-error")).to_contain_text("prohibited wording")
        _shot(p, served, "field-04-wording-refused")
        p.fill("#record-form textarea[name=notes]", "calm conversation at the door")
        p.click("#record-form button[type=submit]")
        expect(p.locator("#visit-done")).to_contain_text("submitted and sealed")
        expect(p.locator("#visit-status")).to_have_text("visited")
        _shot(p, served, "field-05-recorded")
    finally:
        context.close()


def test_an_agent_proposes_a_plan_from_the_case_page(served: Served, page: object) -> None:
    """The borrower agreed on the phone: the agent reads the schedule and whether they can
    afford it, then proposes it; it waits in the supervisor's approvals."""
    from datetime import timedelta

    from playwright.sync_api import expect
    from webapp import case_of

    from fairdue.domain.ledger import business_date
    from fairdue.services.plans import find_plans, reject_plan

    app = served.app
    with app.engine.connect() as conn:  # the borrower's own proposal (an earlier journey)
        earlier = find_plans(conn, borrower_id="B1", status="proposed")
    for plan in earlier:
        reject_plan(app, plan_id=plan["plan_id"], actor="sue", role="supervisor",
                    reason="agreeing another one with the agent")
    first = business_date(app.clock.now(), app.zone) + timedelta(days=7)
    p = page
    _sign_in(p, served, "ann")
    p.goto(f"{served.base}/work/cases/{case_of(app, 'B1')}")  # type: ignore[attr-defined]
    p.fill("#plan-installments", "3")  # type: ignore[attr-defined]
    p.fill("#plan-first-on", first.isoformat())  # type: ignore[attr-defined]
    p.fill("#plan-form input[name=income]", "8000.00")  # type: ignore[attr-defined]
    p.fill("#plan-form input[name=expenses]", "5000.00")  # type: ignore[attr-defined]
    p.click("#plan-form button[type=submit]")  # type: ignore[attr-defined]
    expect(p.locator("#plan-preview")).to_contain_text("not recorded")  # type: ignore[attr-defined]
    expect(p.locator("#plan-affordability")).to_contain_text("Affordable")  # type: ignore[attr-defined]
    expect(p.locator("#plan-schedule tbody tr")).to_have_count(4)  # type: ignore[attr-defined]
    _shot(p, served, "agent-plan-01-preview")
    p.click("#plan-propose-form button[type=submit]")  # type: ignore[attr-defined]
    expect(p.locator("#plan-done")).to_contain_text("waits for a decision")  # type: ignore[attr-defined]
    _shot(p, served, "agent-plan-02-proposed")
    with app.engine.connect() as conn:
        [plan] = find_plans(conn, borrower_id="B1", status="proposed")
    assert plan["proposed_by"] == "ann" and plan["installments"] == 3
