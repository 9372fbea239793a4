"""The case page's relief forms: a plan previewed (schedule and affordability) then proposed,
a waiver requested, a visit requested (and refused with the rule and why), each with the
session's CSRF token, only on a case the visitor may work, and in the visitor's language."""

from __future__ import annotations

from web_helpers import staff_browser
from webapp import Web

from fairdue.services.complaints import file_complaint
from fairdue.services.plans import find_plans
from fairdue.services.visits import find_visits
from fairdue.services.waivers import find_waivers

PLAN = {"installments": "3", "first_on": "2026-07-10", "cadence": "monthly",
        "income": "8000.00", "expenses": "5000.00"}


def test_an_agent_previews_a_plan_then_proposes_it(web: Web) -> None:
    case_id = web.case("B1")
    ann, csrf = staff_browser(web, "ann")
    page = ann.get(f"/work/cases/{case_id}?lang=en").text
    assert 'id="plan-form"' in page and 'id="waiver-form"' in page
    assert 'id="visit-request-form"' in page
    preview = ann.post(f"/work/cases/{case_id}/plan?lang=en",
                       data={**PLAN, "step": "preview", "csrf_token": csrf})
    assert preview.status_code == 200, preview.text
    assert "Preview, not recorded" in preview.text
    assert "Affordable: no installment above 1500.00 CNY." in preview.text
    assert "2026-08-10" in preview.text and "173.42" in preview.text and "520.25 CNY" in preview.text
    assert 'id="plan-propose-form"' in preview.text
    with web.app.engine.connect() as conn:
        assert find_plans(conn, borrower_id="B1") == []
    proposed = ann.post(f"/work/cases/{case_id}/plan?lang=en",
                        data={**PLAN, "step": "propose", "csrf_token": csrf})
    assert proposed.status_code == 200 and 'id="plan-done"' in proposed.text
    with web.app.engine.connect() as conn:
        [plan] = find_plans(conn, borrower_id="B1")
    assert plan["status"] == "proposed" and plan["proposed_by"] == "ann"
    assert plan["plan_id"] in proposed.text and 'id="plan-propose-form"' not in proposed.text


def test_a_plan_the_borrower_cannot_afford_and_a_bad_form_say_so_in_chinese(web: Web) -> None:
    case_id = web.case("B1")
    ann, csrf = staff_browser(web, "ann")
    over = ann.post(f"/work/cases/{case_id}/plan",
                    data={**PLAN, "income": "3000.00", "expenses": "2900.00", "csrf_token": csrf})
    assert "超出借款人的负担能力：每期最多 50.00 CNY。" in over.text
    assert "需要主管审批并说明理由。" in over.text
    bad = ann.post(f"/work/cases/{case_id}/plan",
                   data={**PLAN, "first_on": "soon", "csrf_token": csrf})
    assert bad.status_code == 422 and "请填写第一期还款日" in bad.text
    assert 'value="8000.00"' in bad.text  # what was typed is kept
    past = ann.post(f"/work/cases/{case_id}/plan?lang=en",
                    data={**PLAN, "first_on": "2026-06-01", "step": "propose", "csrf_token": csrf})
    assert past.status_code == 422 and "Not done:" in past.text and "before today" in past.text
    with web.app.engine.connect() as conn:
        assert find_plans(conn, borrower_id="B1") == []


def test_a_waiver_is_requested_from_the_case_page(web: Web) -> None:
    case_id = web.case("B1")
    ann, csrf = staff_browser(web, "ann")
    short = ann.post(f"/work/cases/{case_id}/waiver?lang=en",
                     data={"component": "penalty", "amount": "0.25", "reason": "",
                           "csrf_token": csrf})
    assert short.status_code == 422 and "Check these fields: Reason" in short.text
    done = ann.post(f"/work/cases/{case_id}/waiver?lang=en",
                    data={"component": "penalty", "amount": "0.25",
                          "reason": "first late payment", "csrf_token": csrf})
    assert done.status_code == 200 and 'id="waiver-done"' in done.text
    with web.app.engine.connect() as conn:
        [waiver] = find_waivers(conn, borrower_id="B1")
    assert waiver["requested_by"] == "ann" and waiver["waiver_id"] in done.text


def test_a_visit_is_requested_then_refused_while_one_is_open(web: Web) -> None:
    case_id = web.case("B1")
    ann, csrf = staff_browser(web, "ann")
    form = {"grounds": "S7", "reason": "stalls on every call", "csrf_token": csrf}
    done = ann.post(f"/work/cases/{case_id}/visit-request?lang=en", data=form)
    assert done.status_code == 200 and 'id="visit-done"' in done.text
    with web.app.engine.connect() as conn:
        [visit] = find_visits(conn, case_id=case_id)
    assert visit["status"] == "proposed" and visit["visit_id"] in done.text
    twice = ann.post(f"/work/cases/{case_id}/visit-request?lang=zh-CN", data=form)
    assert twice.status_code == 409 and "该案件已有进行中的外访" in twice.text
    sue, _ = staff_browser(web, "sue")
    assert visit["visit_id"] in sue.get("/supervise/approvals").text


def test_a_visit_during_a_complaint_is_refused_with_the_rule(web: Web) -> None:
    case_id = web.case("B1")
    file_complaint(web.app, borrower_id="B1", kind="complaint", text="Too many calls")
    ann, csrf = staff_browser(web, "ann")
    refused = ann.post(f"/work/cases/{case_id}/visit-request?lang=en",
                       data={"grounds": "S6", "reason": "nobody answers any more",
                             "csrf_token": csrf})
    assert refused.status_code == 409
    assert "A visit may not be requested now (CN-12)" in refused.text
    assert "complaint is looked into" in refused.text
    with web.app.engine.connect() as conn:
        assert find_visits(conn, case_id=case_id) == []


def test_the_forms_need_the_csrf_token_and_a_case_the_visitor_works(web: Web) -> None:
    case_id = web.case("B1")
    ann, _ = staff_browser(web, "ann")
    for path, data in (("plan", PLAN), ("waiver", {"component": "fee"}),
                       ("visit-request", {"grounds": "S7"})):
        forged = ann.post(f"/work/cases/{case_id}/{path}", data={**data, "csrf_token": "x"})
        assert forged.status_code == 403 and "表单已过期" in forged.text
    bob, bob_csrf = staff_browser(web, "bob")
    assert 'id="plan-form"' not in bob.get(f"/work/cases/{case_id}").text  # 403 page
    refused = bob.post(f"/work/cases/{case_id}/plan", data={**PLAN, "csrf_token": bob_csrf})
    assert refused.status_code == 403
    cora, cora_csrf = staff_browser(web, "cora")
    assert 'id="plan-form"' not in cora.get(f"/work/cases/{case_id}").text
    assert cora.post(f"/work/cases/{case_id}/visit-request",
                     data={"grounds": "S7", "csrf_token": cora_csrf}).status_code == 403
    sue, sue_csrf = staff_browser(web, "sue")
    missing = sue.post("/work/cases/C-none/visit-request",
                       data={"grounds": "S7", "reason": "stalls on every call",
                             "csrf_token": sue_csrf})
    assert missing.status_code == 404
    with web.app.engine.connect() as conn:
        assert find_plans(conn) == [] and find_visits(conn) == []
