"""The staff pages: sign-in, the agent's workbench and case page, the supervisor's team
queue, and the compliance officer's views."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup, escape

from fairdue.adapters.audit import verify_audit
from fairdue.api.approvals import KINDS as APPROVAL_KINDS
from fairdue.api.approvals import decide, pending
from fairdue.api.auth import COOKIE, cookie_principal, set_session_cookie
from fairdue.api.cases import OUTCOMES, CaseOutcome, record_case_outcome
from fairdue.api.pages import (
    PageForbidden,
    app_of,
    check_csrf,
    check_pre_session_csrf,
    language,
    page_guard,
    pre_session_csrf,
    render,
    set_pre_session_csrf,
)
from fairdue.api.pages.i18n import t
from fairdue.api.permissions import Principal
from fairdue.api.problems import Problem
from fairdue.api.reports import report_window
from fairdue.bootstrap import App
from fairdue.domain.ledger import business_date
from fairdue.errors import FairdueError, InvalidInput, NotFound
from fairdue.services.borrowers import show_borrower
from fairdue.services.complaints import answer_complaint, find_complaints
from fairdue.services.reports import fairness_findings
from fairdue.services.sessions import end_session, open_session
from fairdue.services.staff import SignInRefused, authenticate, staff_usernames
from fairdue.services.timeline import case_timeline
from fairdue.services.visits import find_visits
from fairdue.services.workbench import (
    assign_case,
    audit_entries,
    call_check,
    case_summary,
    debt_breakdown,
    policy_versions,
    queue,
    recent_refusals,
    refusals_by_rule,
)

router = APIRouter(include_in_schema=False)

#: Where each role lands after signing in.
HOME: dict[str, str] = {"agent": "/work", "supervisor": "/supervise", "compliance": "/compliance",
                        "admin": "/home", "field_agent": "/field"}


def _safe_next(target: str | None, fallback: str) -> str:
    """Only a path on this site (never `//evil.example`)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return fallback


@router.get("/")
def landing(request: Request) -> Response:
    return render(request, "landing.html", cookie_principal(request, app_of(request)))


@router.get("/login")
def login_form(request: Request, next: str | None = None) -> Response:
    token = pre_session_csrf(request)
    response = render(request, "login.html", None, csrf=token, next=next or "", error=None)
    set_pre_session_csrf(response, app_of(request), token)
    return response


@router.post("/login")
def login_post(request: Request, username: Annotated[str, Form()],
               password: Annotated[str, Form()], csrf_token: Annotated[str, Form()] = "",
               next: Annotated[str, Form()] = "") -> Response:
    check_pre_session_csrf(request, csrf_token)
    application = app_of(request)
    try:
        user = authenticate(application, username.strip(), password)
    except SignInRefused as exc:
        return render(request, "login.html", None, status=401, csrf=csrf_token, next=next,
                      error=str(exc))
    opened = open_session(application, kind="staff", principal_id=user.username, role=user.role,
                          transport="cookie")
    response = RedirectResponse(_safe_next(next, HOME[user.role]), status_code=303)
    set_session_cookie(response, application, opened.token)
    return response


@router.post("/logout")
def logout(request: Request, principal: Annotated[Principal, Depends(page_guard("session"))],
           csrf_token: Annotated[str, Form()] = "") -> Response:
    check_csrf(principal, csrf_token)
    end_session(app_of(request), principal.token)
    target = "/portal/login" if principal.kind == "borrower" else "/login"
    response = RedirectResponse(target, status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


@router.get("/home")
def home(request: Request, principal: Annotated[Principal, Depends(page_guard("session"))]
         ) -> Response:
    if principal.kind == "borrower":
        return RedirectResponse("/portal", status_code=303)
    return render(request, "home.html", principal)


@router.get("/work")
def workbench(request: Request, principal: Annotated[Principal, Depends(page_guard("queue.mine"))]
              ) -> Response:
    with app_of(request).engine.connect() as conn:
        rows = queue(conn, username=principal.id)
    return render(request, "queue.html", principal, rows=rows, title_key="my_queue",
                  team=False)


def _case_context(request: Request, principal: Principal, case_id: str, **extra: Any
                  ) -> dict[str, Any]:
    application = app_of(request)
    with application.engine.connect() as conn:
        try:
            summary = case_summary(conn, case_id)
        except NotFound:
            raise PageForbidden(principal, "not_found", status=404) from None
        if principal.role == "agent" and summary["assigned_to"] != principal.id:
            raise PageForbidden(principal)
        now = application.clock.now()
        today = business_date(now, application.zone)
        loans = debt_breakdown(conn, summary["borrower_id"], today)
        timeline = case_timeline(conn, case_id)
        # On this connection: one fewer taken from the pool (and pinged) per page view.
        verdict = call_check(application, summary["borrower_id"], now, conn=conn)
    borrower = extra.pop("borrower", None) or show_borrower(
        application, summary["borrower_id"], actor=principal.id)
    return {"case": summary, "loans": loans, "timeline": timeline.entries, "borrower": borrower,
            "verdict": verdict, "outcomes": OUTCOMES, "message": None, "error": None,
            "today": today, **extra}


@router.get("/work/cases/{case_id}")
def case_page(request: Request, case_id: str,
              principal: Annotated[Principal, Depends(page_guard("case.read"))]) -> Response:
    return render(request, "case.html", principal, **_case_context(request, principal, case_id))


@router.post("/work/cases/{case_id}/outcome")
def case_outcome(request: Request, case_id: str,
                 principal: Annotated[Principal, Depends(page_guard("case.work"))],
                 outcome: Annotated[str, Form()], csrf_token: Annotated[str, Form()] = "",
                 channel: Annotated[str, Form()] = "call", note: Annotated[str, Form()] = "",
                 promise_amount: Annotated[str, Form()] = "",
                 promise_due: Annotated[str, Form()] = "") -> Response:
    check_csrf(principal, csrf_token)
    application = app_of(request)
    message = error = None
    status = 200
    try:
        due = date.fromisoformat(promise_due) if promise_due.strip() else None
        payload = CaseOutcome(channel=channel, outcome=outcome,  # type: ignore[arg-type]
                              note=note.strip() or None,
                              promise_amount=promise_amount.strip() or None, promise_due=due)
        result = record_case_outcome(application, principal, case_id, payload)
        message = {"lawful": result.lawful, "rules": result.rules, "reasons": result.reasons,
                   "promise_id": result.promise_id}
    except (FairdueError, ValueError) as exc:
        error, status = str(exc), 422
    except Problem as exc:
        raise PageForbidden(principal, status=exc.status) from None
    context = _case_context(request, principal, case_id)
    context.update(message=message, error=error)
    return render(request, "case.html", principal, status=status, **context)


@router.post("/work/cases/{case_id}/unmask")
def case_unmask(request: Request, case_id: str,
                principal: Annotated[Principal, Depends(page_guard("pii.unmask"))],
                reason: Annotated[str, Form()] = "", csrf_token: Annotated[str, Form()] = ""
                ) -> Response:
    check_csrf(principal, csrf_token)
    application = app_of(request)
    with application.engine.connect() as conn:
        try:
            borrower_id = case_summary(conn, case_id)["borrower_id"]
        except NotFound:
            raise PageForbidden(principal, "not_found", status=404) from None
    try:
        clear = show_borrower(application, borrower_id, unmask=True, actor=principal.id,
                              role=principal.role, reason=reason)
    except FairdueError as exc:
        context = _case_context(request, principal, case_id)
        context["error"] = str(exc)
        return render(request, "case.html", principal, status=422, **context)
    return render(request, "case.html", principal,
                  **_case_context(request, principal, case_id, borrower=clear))


class AgentOptions:
    """The `<option>`s of the team queue's "assign to" list, the row's agent selected.

    Every row of the team queue (200) offers every agent (40 in the load test): written by
    the template, that was 8,000 options through Jinja per page, half of the page's time
    (19 ms of 40). Here the list is escaped once per request and each distinct selection
    (one per agent, at most) made once; a row costs a dictionary look-up."""

    def __init__(self, agents: list[str]) -> None:
        self.agents = agents
        names = [str(escape(a)) for a in agents]
        self._plain = [f'<option value="{n}">{n}</option>' for n in names]
        self._chosen = [f'<option value="{n}" selected>{n}</option>' for n in names]
        self._made: dict[str | None, Markup] = {}

    def __call__(self, selected: str | None) -> Markup:
        made = self._made.get(selected)
        if made is None:
            made = Markup("".join(self._chosen[n] if a == selected else self._plain[n]
                                  for n, a in enumerate(self.agents)))
            self._made[selected] = made
        return made


@router.get("/supervise")
def supervise(request: Request, principal: Annotated[Principal, Depends(page_guard("queue.team"))]
              ) -> Response:
    with app_of(request).engine.connect() as conn:
        rows = queue(conn)
        agents = staff_usernames(conn, "agent")
    return render(request, "queue.html", principal, rows=rows, title_key="team_queue", team=True,
                  agent_options=AgentOptions(agents))


@router.post("/supervise/assign")
def supervise_assign(request: Request,
                     principal: Annotated[Principal, Depends(page_guard("case.assign"))],
                     case_id: Annotated[str, Form()], username: Annotated[str, Form()],
                     csrf_token: Annotated[str, Form()] = "") -> Response:
    check_csrf(principal, csrf_token)
    try:
        assign_case(app_of(request), case_id=case_id, username=username, actor=principal.id)
    except FairdueError as exc:
        return render(request, "error.html", principal, status=422, message=str(exc))
    return RedirectResponse("/supervise", status_code=303)


@router.get("/compliance")
def compliance_home(request: Request,
                    principal: Annotated[Principal, Depends(page_guard("compliance.read"))]
                    ) -> Response:
    application = app_of(request)
    with application.engine.connect() as conn:
        by_rule = refusals_by_rule(conn)
        latest = recent_refusals(conn)
    return render(request, "compliance.html", principal, by_rule=by_rule, latest=latest,
                  fairness=fairness_section(application))


def fairness_section(application: App) -> dict[str, Any] | None:
    """The S18 findings of the reports page's default window, flagged ones first, for the
    compliance page: the officer sees a disparity where they work, without opening the
    report. None before any daily run has completed (nothing to judge yet)."""
    try:
        start, end = report_window(application, None, None)
    except InvalidInput:
        return None
    with application.engine.connect() as conn:
        findings = fairness_findings(conn, application.settings, start=start, end=end)
    findings.sort(key=lambda f: not f.verdict.flagged)  # stable: the report's order otherwise
    return {"start": start, "end": end, "findings": findings,
            "flagged": [f for f in findings if f.verdict.flagged]}


@router.get("/compliance/complaints")
def complaints_page(request: Request,
                    principal: Annotated[Principal, Depends(page_guard("complaint.read"))]
                    ) -> Response:
    with app_of(request).engine.connect() as conn:
        rows = find_complaints(conn)
    return render(request, "complaints.html", principal, rows=rows, error=None)


@router.post("/compliance/complaints/{complaint_id}/answer")
def complaint_answer(request: Request, complaint_id: str,
                     principal: Annotated[Principal, Depends(page_guard("complaint.answer"))],
                     answer: Annotated[str, Form()] = "", resume: Annotated[str, Form()] = "",
                     csrf_token: Annotated[str, Form()] = "") -> Response:
    check_csrf(principal, csrf_token)
    application = app_of(request)
    try:
        answer_complaint(application, complaint_id=complaint_id, answer=answer,
                         actor=principal.id, resume=bool(resume))
    except FairdueError as exc:
        with application.engine.connect() as conn:
            rows = find_complaints(conn)
        return render(request, "complaints.html", principal, status=422, rows=rows,
                      error=str(exc))
    return RedirectResponse("/compliance/complaints", status_code=303)


@router.get("/compliance/audit")
def audit_page(request: Request, principal: Annotated[Principal, Depends(page_guard("audit.read"))]
               ) -> Response:
    with app_of(request).engine.connect() as conn:
        verification = verify_audit(conn)
        entries = audit_entries(conn, limit=200)
    return render(request, "audit.html", principal, verification=verification, entries=entries)


@router.get("/compliance/policies")
def policies_page(request: Request,
                  principal: Annotated[Principal, Depends(page_guard("policy.read"))]) -> Response:
    with app_of(request).engine.connect() as conn:
        versions = policy_versions(conn)
    return render(request, "policies.html", principal, versions=versions)


def approvals_context(application: App, *, error: str | None = None,
                      done: str | None = None) -> dict[str, Any]:
    """What the approvals page shows: items waiting for a decision, and approved visits
    waiting for appointment times to be offered (api/pages/field.py offers them)."""
    with application.engine.connect() as conn:
        to_schedule = find_visits(conn, status="approved")
        booked = find_visits(conn, status="booked")
    return {"pending": pending(application), "to_schedule": to_schedule, "booked": booked,
            "error": error,
            "done": done}


@router.get("/supervise/approvals")
def approvals_page(request: Request,
                   principal: Annotated[Principal, Depends(page_guard("approvals"))],
                   offered: str | None = None) -> Response:
    done = f"{offered}: {t('slots_offered_done', language(request))}" if offered else None
    return render(request, "approvals.html", principal,
                  **approvals_context(app_of(request), done=done))


@router.post("/supervise/approvals/{kind}/{item_id}")
def approvals_decide(request: Request, kind: str, item_id: str,
                     principal: Annotated[Principal, Depends(page_guard("approvals"))],
                     decision: Annotated[str, Form()] = "", reason: Annotated[str, Form()] = "",
                     days: Annotated[str, Form()] = "", freeze_penalty: Annotated[str, Form()] = "",
                     csrf_token: Annotated[str, Form()] = "") -> Response:
    check_csrf(principal, csrf_token)
    application = app_of(request)
    error = done = None
    if kind not in APPROVAL_KINDS or decision not in ("approve", "reject"):
        error = "choose approve or reject for a plan, a waiver, a grace request or a visit"
    elif days.strip() and not days.strip().isdigit():
        error = f"days must be a whole number of days, not {days.strip()!r}"
    else:
        try:
            status = decide(application, principal, kind, item_id, decision, reason,
                            days=int(days) if days.strip() else None,
                            freeze_penalty=bool(freeze_penalty))
            done = f"{kind} {item_id}: {status}"
        except FairdueError as exc:
            error = str(exc)
    return render(request, "approvals.html", principal, status=422 if error else 200,
                  **approvals_context(application, error=error, done=done))
