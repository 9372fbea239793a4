"""The field agent's pages: today's route and appointments, check-in and check-out, the
visit record with its evidence and amendments; and the supervisor's offer of appointment
times for an approved visit.

Every form posts back to its page, which is shown again with the outcome or with what was
wrong (the values typed are kept); the rules are the visit services', reached through the
helpers of api/visits.py that the JSON API uses too.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from fairdue.api.pages import PageForbidden, app_of, check_csrf, language, page_guard, render
from fairdue.api.pages.i18n import t
from fairdue.api.pages.staff import approvals_context
from fairdue.api.permissions import Principal
from fairdue.api.visits import (
    NotYourVisit,
    do_amend,
    do_check_in,
    do_check_out,
    do_evidence,
    do_offer,
    do_record,
    field_day,
    visit_view,
)
from fairdue.domain.visits import RECORD_FIELDS, Reaction, Solution
from fairdue.errors import FairdueError, InvalidInput, NotFound
from fairdue.services.evidence import KINDS as EVIDENCE_KINDS
from fairdue.services.visit_crews import change_crew

router = APIRouter(include_in_schema=False)

FieldAgent = Annotated[Principal, Depends(page_guard("visit.field"))]


@router.get("/field")
def field_home(request: Request, principal: FieldAgent) -> Response:
    try:
        day = field_day(app_of(request), principal)
    except NotYourVisit as exc:
        return render(request, "error.html", principal, status=409, message=str(exc))
    return render(request, "field_day.html", principal, day=day)


def _visit_page(request: Request, principal: Principal, visit_id: str, *, status: int = 200,
                error: str | None = None, done: str | None = None,
                typed: dict[str, str] | None = None) -> Response:
    """The visit page with the outcome of the last form (or its error and typed values)."""
    try:
        visit = visit_view(app_of(request), principal, visit_id)
    except NotFound:
        raise PageForbidden(principal, "not_found", status=404) from None
    except NotYourVisit:
        raise PageForbidden(principal) from None
    record = visit["record"] or {}
    return render(request, "field_visit.html", principal, status=status, visit=visit,
                  record=record, error=error, done=done, typed=typed or {},
                  reactions=[r.value for r in Reaction], solutions=[s.value for s in Solution],
                  evidence_kinds=EVIDENCE_KINDS, field_names=RECORD_FIELDS,
                  checked_in=bool(record.get("checked_in_at")),
                  checked_out=bool(record.get("checked_out_at")),
                  submitted=bool(record.get("submitted_at")))


@router.get("/field/visits/{visit_id}")
def visit_page(request: Request, visit_id: str,
               principal: Annotated[Principal, Depends(page_guard("visit.read"))]) -> Response:
    return _visit_page(request, principal, visit_id)


def _outcome(request: Request, principal: Principal, visit_id: str, action: Any,
             done: Any, typed: dict[str, str] | None = None) -> Response:
    """Run `action()`; show the page with `done(result)`, or with the error (422 for a
    value refused, 409 for a visit not in a state to take it)."""
    try:
        result = action()
    except NotYourVisit:
        raise PageForbidden(principal) from None
    except NotFound:
        raise PageForbidden(principal, "not_found", status=404) from None
    except InvalidInput as exc:
        return _visit_page(request, principal, visit_id, status=422, error=str(exc), typed=typed)
    except FairdueError as exc:
        return _visit_page(request, principal, visit_id, status=409, error=str(exc), typed=typed)
    return _visit_page(request, principal, visit_id, done=done(result))


@router.post("/field/visits/{visit_id}/check-in")
def visit_check_in(request: Request, visit_id: str, principal: FieldAgent,
                   latitude: Annotated[str, Form()] = "", longitude: Annotated[str, Form()] = "",
                   collectors: Annotated[list[str] | None, Form()] = None,
                   csrf_token: Annotated[str, Form()] = "") -> Response:
    check_csrf(principal, csrf_token)
    lang = language(request)

    def said(found: dict[str, Any]) -> str:
        key = "checked_in_flagged" if found["flagged"] else "checked_in"
        return t(key, lang, m=found["distance_m"] if found["distance_m"] is not None else "?")

    return _outcome(request, principal, visit_id,
                    lambda: do_check_in(app_of(request), principal, visit_id, collectors or [],
                                        latitude, longitude),
                    said, {"latitude": latitude, "longitude": longitude})


@router.post("/field/visits/{visit_id}/check-out")
def visit_check_out(request: Request, visit_id: str, principal: FieldAgent,
                    latitude: Annotated[str, Form()] = "", longitude: Annotated[str, Form()] = "",
                    csrf_token: Annotated[str, Form()] = "") -> Response:
    check_csrf(principal, csrf_token)
    return _outcome(request, principal, visit_id,
                    lambda: do_check_out(app_of(request), principal, visit_id, latitude, longitude),
                    lambda _: t("checked_out", language(request)),
                    {"latitude": latitude, "longitude": longitude})


@router.post("/field/visits/{visit_id}/record")
def visit_submit_record(request: Request, visit_id: str, principal: FieldAgent,
                        reaction: Annotated[str, Form()] = "",
                        arrears_reason: Annotated[str, Form()] = "",
                        solution: Annotated[str, Form()] = "",
                        follow_up_on: Annotated[str, Form()] = "",
                        follow_up_plan: Annotated[str, Form()] = "",
                        notes: Annotated[str, Form()] = "",
                        csrf_token: Annotated[str, Form()] = "") -> Response:
    check_csrf(principal, csrf_token)
    typed = {"reaction": reaction, "arrears_reason": arrears_reason, "solution": solution,
             "follow_up_on": follow_up_on, "follow_up_plan": follow_up_plan, "notes": notes}
    return _outcome(request, principal, visit_id,
                    lambda: do_record(app_of(request), principal, visit_id, typed),
                    lambda _: t("record_saved", language(request)), typed)


@router.post("/field/visits/{visit_id}/evidence")
async def visit_evidence(request: Request, visit_id: str, principal: FieldAgent,
                         file: Annotated[UploadFile | None, File()] = None,
                         kind: Annotated[str, Form()] = "",
                         csrf_token: Annotated[str, Form()] = "") -> Response:
    check_csrf(principal, csrf_token)
    try:
        if file is None or not file.filename:
            raise InvalidInput("choose a file to upload (a photo, a recording or a document)")
        sha = await do_evidence(app_of(request), principal, visit_id, file, kind or None)
    except NotYourVisit:
        raise PageForbidden(principal) from None
    except NotFound:
        raise PageForbidden(principal, "not_found", status=404) from None
    except InvalidInput as exc:
        return _visit_page(request, principal, visit_id, status=422, error=str(exc))
    except FairdueError as exc:
        return _visit_page(request, principal, visit_id, status=409, error=str(exc))
    return _visit_page(request, principal, visit_id,
                       done=f"{t('evidence_saved', language(request))} {sha}")


@router.post("/field/visits/{visit_id}/amend")
def visit_amend(request: Request, visit_id: str, principal: FieldAgent,
                reaction: Annotated[str, Form()] = "",
                arrears_reason: Annotated[str, Form()] = "",
                solution: Annotated[str, Form()] = "",
                follow_up_on: Annotated[str, Form()] = "",
                follow_up_plan: Annotated[str, Form()] = "",
                notes: Annotated[str, Form()] = "",
                reason: Annotated[str, Form()] = "",
                csrf_token: Annotated[str, Form()] = "") -> Response:
    check_csrf(principal, csrf_token)
    changes = {"reaction": reaction, "arrears_reason": arrears_reason, "solution": solution,
               "follow_up_on": follow_up_on, "follow_up_plan": follow_up_plan, "notes": notes}
    return _outcome(request, principal, visit_id,
                    lambda: do_amend(app_of(request), principal, visit_id, changes, reason),
                    lambda n: t("amended", language(request), n=n),
                    {f"amend_{k}": v for k, v in changes.items()} | {"amend_reason": reason})


def _local(text: str, request: Request) -> datetime:
    """A `datetime-local` field's value, read in the lender's zone."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(f"{text!r} is not a date and time; pick one, e.g. "
                           "2026-08-03T10:00") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=app_of(request).zone)


@router.post("/supervise/visits/{visit_id}/slots")
def offer_visit_slots(request: Request, visit_id: str,
                      principal: Annotated[Principal, Depends(page_guard("visit.schedule"))],
                      starts: Annotated[list[str] | None, Form()] = None,
                      csrf_token: Annotated[str, Form()] = "") -> Response:
    """Offer the borrower times (each the configured appointment length), or the configured
    ones when none is given; back to the approvals page with the outcome."""
    check_csrf(principal, csrf_token)
    application = app_of(request)
    length = application.settings.visit_slot_minutes
    error = done = None
    try:
        chosen = [_local(s, request) for s in (starts or []) if s.strip()]
        offered = do_offer(application, principal, visit_id,
                           [(s, s + timedelta(minutes=length)) for s in chosen])
        done = f"{visit_id}: {t('slots_offered', language(request), n=len(offered))}"
    except NotYourVisit:
        raise PageForbidden(principal) from None
    except NotFound:
        raise PageForbidden(principal, "not_found", status=404) from None
    except FairdueError as exc:
        error = str(exc)
    if error is None:
        return RedirectResponse(f"/supervise/approvals?offered={visit_id}", status_code=303)
    return render(request, "approvals.html", principal, status=422,
                  **approvals_context(application, error=error, done=done))


@router.post("/supervise/visits/{visit_id}/crew")
def change_visit_crew(request: Request, visit_id: str,
                      principal: Annotated[Principal, Depends(page_guard("visit.schedule"))],
                      reason: Annotated[str, Form()] = "", badges: Annotated[str, Form()] = "",
                      csrf_token: Annotated[str, Form()] = "") -> Response:
    """Give a booked visit another crew (badges typed, or chosen as at booking); back to
    the approvals page with the outcome."""
    check_csrf(principal, csrf_token)
    application = app_of(request)
    wanted = [b for b in badges.replace(",", " ").split() if b]
    error = done = None
    try:
        booking = change_crew(application, visit_id, actor=principal.id, reason=reason,
                              badges=wanted or None)
        done = f"{visit_id}: {t('crew_changed', language(request))} {', '.join(booking.collectors)}"
    except NotFound:
        raise PageForbidden(principal, "not_found", status=404) from None
    except FairdueError as exc:
        error = str(exc)
    return render(request, "approvals.html", principal, status=422 if error else 200,
                  **approvals_context(application, error=error, done=done))
