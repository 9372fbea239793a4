"""The borrower's portal (S12-S15): sign in with a code sent by SMS, see what is owed and
why, how to pay, choose how to be contacted, complain or dispute (which pauses collection),
download the contact history, find help, and check that a collector is real."""

from __future__ import annotations

import contextlib
import csv
import io
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from fairdue.adapters.db import strategy_repo as repo
from fairdue.adapters.db.tables import borrowers
from fairdue.api.auth import cookie_principal, set_session_cookie
from fairdue.api.pages import (
    LANG_COOKIE,
    app_of,
    check_csrf,
    check_pre_session_csrf,
    language,
    page_guard,
    pre_session_csrf,
    render,
    set_pre_session_csrf,
)
from fairdue.api.pages.i18n import LANGUAGES
from fairdue.api.permissions import Principal
from fairdue.domain.ledger import business_date
from fairdue.errors import FairdueError, InvalidInput, NotFound
from fairdue.services.borrower_login import CodeRefused, TooManyCodes, request_code, verify_code
from fairdue.services.complaints import file_complaint, find_complaints
from fairdue.services.contacts import lift_restriction, restrict_contact, set_preferences
from fairdue.services.plans import find_plans, propose_plan
from fairdue.services.sessions import open_session
from fairdue.services.verification import verify_collector
from fairdue.services.workbench import contact_history, debt_breakdown

router = APIRouter(prefix="/portal", include_in_schema=False)

Borrower = Annotated[Principal, Depends(page_guard("portal"))]
CHANNELS = ("call", "sms", "email", "push")


@router.get("/login")
def login_form(request: Request) -> Response:
    token = pre_session_csrf(request)
    response = render(request, "portal_login.html", None, csrf=token, phone="", step="phone",
                      error=None, info=None)
    set_pre_session_csrf(response, app_of(request), token)
    return response


@router.post("/login")
def send_code(request: Request, phone: Annotated[str, Form()],
              csrf_token: Annotated[str, Form()] = "") -> Response:
    check_pre_session_csrf(request, csrf_token)
    application = app_of(request)
    lang = language(request)
    try:
        sent = request_code(application, phone, language=lang)
    except TooManyCodes as exc:
        return render(request, "portal_login.html", None, status=429, csrf=csrf_token,
                      phone=phone, step="phone", error=str(exc), info=None)
    except FairdueError as exc:
        return render(request, "portal_login.html", None, status=422, csrf=csrf_token,
                      phone=phone, step="phone", error=str(exc), info=None)
    return render(request, "portal_login.html", None, csrf=csrf_token, phone=phone, step="code",
                  error=None, info=sent.expires_in_minutes)


@router.post("/verify-code")
def check_code(request: Request, phone: Annotated[str, Form()], code: Annotated[str, Form()],
               csrf_token: Annotated[str, Form()] = "") -> Response:
    check_pre_session_csrf(request, csrf_token)
    application = app_of(request)
    try:
        borrower_id = verify_code(application, phone, code)
    except (CodeRefused, FairdueError) as exc:
        return render(request, "portal_login.html", None, status=401, csrf=csrf_token,
                      phone=phone, step="code", error=str(exc), info=None)
    opened = open_session(application, kind="borrower", principal_id=borrower_id,
                          role="borrower", transport="cookie")
    response = RedirectResponse("/portal", status_code=303)
    set_session_cookie(response, application, opened.token)
    if LANG_COOKIE not in request.cookies:
        # Nobody chose a language on this browser yet: the borrower's own, from the books.
        with application.engine.connect() as conn:
            spoken = conn.execute(select(borrowers.c.language).where(
                borrowers.c.borrower_id == borrower_id)).scalar()
        if spoken in LANGUAGES:
            response.set_cookie(LANG_COOKIE, spoken, max_age=365 * 86400, samesite="lax",
                                path="/")
    return response


@router.get("")
def owed(request: Request, principal: Borrower) -> Response:
    application = app_of(request)
    today = business_date(application.clock.now(), application.zone)
    with application.engine.connect() as conn:
        loans = debt_breakdown(conn, principal.id, today)
    settings = application.settings
    return render(request, "portal.html", principal, loans=loans, settings=settings)


def _opted_out(request: Request, borrower_id: str) -> set[str]:
    application = app_of(request)
    today = business_date(application.clock.now(), application.zone)
    with application.engine.connect() as conn:
        found = repo.restrictions_of(conn, [borrower_id], today).get(borrower_id, [])
    return {r.channel for r in found if r.kind == "opt_out" and r.channel}


def _preferences_page(request: Request, principal: Principal, *, saved: bool = False,
                      error: str | None = None, status: int = 200) -> Response:
    with app_of(request).engine.connect() as conn:
        prefs = repo.preferences_of(conn, [principal.id]).get(principal.id)
    return render(request, "portal_preferences.html", principal, status=status,
                  channels=CHANNELS, prefs=prefs, opted_out=_opted_out(request, principal.id),
                  saved=saved, error=error)


@router.get("/preferences")
def preferences(request: Request, principal: Borrower) -> Response:
    return _preferences_page(request, principal)


@router.post("/preferences")
def save_preferences(request: Request, principal: Borrower,
                     preferred: Annotated[list[str] | None, Form()] = None,
                     opt_out: Annotated[list[str] | None, Form()] = None,
                     agreed_from: Annotated[str, Form()] = "", agreed_to: Annotated[str, Form()] = "",
                     csrf_token: Annotated[str, Form()] = "") -> Response:
    check_csrf(principal, csrf_token)
    application = app_of(request)
    chosen = [c for c in preferred or [] if c in CHANNELS]
    stop = {c for c in opt_out or [] if c in CHANNELS}
    start, end = agreed_from.strip(), agreed_to.strip()
    now = application.clock.now()
    try:
        if bool(start) != bool(end):
            raise InvalidInput("give both ends of the time that suits you, or neither")
        set_preferences(application, borrower_id=principal.id, channels=chosen,
                        agreed=(start, end) if start and end else None, actor=principal.id)
        current = _opted_out(request, principal.id)
        for channel in sorted(stop - current):
            restrict_contact(application, borrower_id=principal.id, kind="opt_out",
                             channel=channel, at=now, note="opted out in the portal",
                             actor=principal.id)
        for channel in sorted(current - stop):
            with contextlib.suppress(NotFound):  # lifted meanwhile: nothing to do
                lift_restriction(application, borrower_id=principal.id, kind="opt_out",
                                 channel=channel, at=now, actor=principal.id)
    except FairdueError as exc:
        return _preferences_page(request, principal, error=str(exc), status=422)
    return _preferences_page(request, principal, saved=True)


def _complaints_page(request: Request, principal: Principal, *, filed: str | None = None,
                     error: str | None = None, status: int = 200) -> Response:
    with app_of(request).engine.connect() as conn:
        rows = find_complaints(conn, borrower_id=principal.id)
    return render(request, "portal_complaints.html", principal, status=status, rows=rows,
                  filed=filed, error=error)


@router.get("/complaints")
def complaints(request: Request, principal: Borrower) -> Response:
    return _complaints_page(request, principal)


@router.post("/complaints")
def file(request: Request, principal: Borrower, kind: Annotated[str, Form()],
         text: Annotated[str, Form()] = "", csrf_token: Annotated[str, Form()] = "") -> Response:
    check_csrf(principal, csrf_token)
    try:
        filed = file_complaint(app_of(request), borrower_id=principal.id, kind=kind, text=text)
    except FairdueError as exc:
        return _complaints_page(request, principal, error=str(exc), status=422)
    return _complaints_page(request, principal, filed=filed.complaint_id)


@router.get("/history.csv")
def history(request: Request, principal: Borrower) -> Response:
    with app_of(request).engine.connect() as conn:
        rows = contact_history(conn, principal.id)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=["at", "kind", "channel", "result", "rule", "by",
                                             "reference"], lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({**row, "at": row["at"].isoformat() if row["at"] else ""})
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": 'attachment; filename="my-contact-history.csv"',
        "Cache-Control": "no-store"})


@router.get("/help")
def help_page(request: Request) -> Response:
    return render(request, "portal_help.html", cookie_principal(request, app_of(request)),
                  settings=app_of(request).settings)


@router.get("/verify")
def verify_page(request: Request, badge: str = "") -> Response:
    """The verification form; `?badge=` pre-fills it (the QR link on a credential letter)."""
    token = pre_session_csrf(request)
    response = render(request, "portal_verify.html", cookie_principal(request, app_of(request)),
                      settings=app_of(request).settings, csrf=token, badge=badge[:64],
                      result=None)
    set_pre_session_csrf(response, app_of(request), token)
    return response


@router.post("/verify")
def verify_post(request: Request, badge: Annotated[str, Form()] = "",
                code: Annotated[str, Form()] = "", csrf_token: Annotated[str, Form()] = ""
                ) -> Response:
    check_pre_session_csrf(request, csrf_token)
    application = app_of(request)
    result = verify_collector(application, badge[:64], code[:64], application.clock.now(),
                              source="portal")
    return render(request, "portal_verify.html", cookie_principal(request, application),
                  settings=application.settings, csrf=csrf_token, badge=badge[:64],
                  result=result)


def _plan_page(request: Request, principal: Principal, *, proposed: str | None = None,
               error: str | None = None, status: int = 200) -> Response:
    application = app_of(request)
    with application.engine.connect() as conn:
        mine = find_plans(conn, borrower_id=principal.id)
    today = business_date(application.clock.now(), application.zone)
    return render(request, "portal_plan.html", principal, status=status, plans=mine,
                  proposed=proposed, error=error, today=today)


@router.get("/plan")
def plan_form(request: Request, principal: Borrower) -> Response:
    return _plan_page(request, principal)


@router.post("/plan")
def plan_propose(request: Request, principal: Borrower,
                 installments: Annotated[str, Form()] = "", first_on: Annotated[str, Form()] = "",
                 income: Annotated[str, Form()] = "", expenses: Annotated[str, Form()] = "",
                 csrf_token: Annotated[str, Form()] = "") -> Response:
    """S13: the borrower proposes a plan they can afford; a supervisor decides it."""
    check_csrf(principal, csrf_token)
    try:
        try:
            count, first = int(installments), date.fromisoformat(first_on)
        except ValueError:
            raise InvalidInput("give the number of installments and the first payment date") from None
        plan = propose_plan(app_of(request), borrower_id=principal.id, installments=count,
                            first_on=first, income=income.strip() or None,
                            expenses=expenses.strip() or None, actor=principal.id)
    except FairdueError as exc:
        return _plan_page(request, principal, error=str(exc), status=422)
    return _plan_page(request, principal, proposed=plan.plan_id)
