"""The case page's relief forms: propose a repayment plan (its schedule and the affordability
verdict shown first, then proposed), request a waiver, request a field visit.

Each form posts here and the case page is shown again with the outcome in its "relief and
visits" section (templates/_case_relief.html): what was proposed, or what was wrong, in the
visitor's language, with the rule and why when a visit may not be made. The forms call the
JSON API's helpers (api/relief.py), so the page and the API cannot disagree on who may do
what: an agent only on the cases assigned to them, supervisors on any.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from pydantic import ValidationError

from fairdue.api.cases import may_open_case
from fairdue.api.pages import PageForbidden, app_of, check_csrf, language, page_guard, render
from fairdue.api.pages.i18n import t
from fairdue.api.pages.staff import _case_context
from fairdue.api.permissions import Principal
from fairdue.api.problems import Problem
from fairdue.api.relief import (
    PlanProposal,
    VisitRequest,
    WaiverRequest,
    do_propose_plan,
    do_request_visit,
    do_request_waiver,
)
from fairdue.errors import FairdueError, NotFound
from fairdue.services.visit_requests import OpenVisitExists, VisitRefused

router = APIRouter(include_in_schema=False)

Proposer = Annotated[Principal, Depends(page_guard("relief.propose"))]
VisitRequester = Annotated[Principal, Depends(page_guard("visit.request"))]


#: The words of each form field, to name the fields a form must fix in the visitor's language.
_FIELD_WORDS = {"installments": "installments_count", "first_on": "first_payment",
                "cadence": "cadence", "income": "monthly_income", "expenses": "monthly_expenses",
                "component": "relief_component", "amount": "relief_amount", "reason": "reason",
                "grounds": "visit_grounds", "amounts": "relief_field"}


class FormError(Exception):
    """A value typed in a form that is not one (a date, a number): the page's own words."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _borrower_of(request: Request, principal: Principal, case_id: str) -> str:
    """The case's borrower, if this visitor may work the case (403 or 404 page otherwise)."""
    try:
        return str(may_open_case(app_of(request), principal, case_id)["borrower_id"])
    except NotFound:
        raise PageForbidden(principal, "not_found", status=404) from None
    except Problem as exc:
        raise PageForbidden(principal, status=exc.status) from None


def _case_page(request: Request, principal: Principal, case_id: str, *, status: int = 200,
               **relief: Any) -> Response:
    """The case page again, its relief section showing `relief` (done, preview, error...)."""
    context = _case_context(request, principal, case_id)
    context["relief"] = relief
    return render(request, "case.html", principal, status=status, **context)


def _failure(request: Request, exc: Exception) -> tuple[int, dict[str, Any]]:
    """The status and the relief section's error for what a service or a form refused."""
    lang = language(request)
    if isinstance(exc, FormError):
        return 422, {"error": t(exc.key, lang)}
    if isinstance(exc, ValidationError):
        fields = ", ".join(t(_FIELD_WORDS.get(str(e["loc"][-1]), "relief_field"), lang)
                           for e in exc.errors() if e["loc"])
        return 422, {"error": t("relief_fix_fields", lang, fields=fields)}
    if isinstance(exc, VisitRefused):
        return 409, {"error": t("visit_refused", lang), "rules": list(exc.rules),
                     "reasons": list(exc.reasons)}
    if isinstance(exc, OpenVisitExists):
        return 409, {"error": t("visit_already_open", lang, visit=exc.visit_id,
                                status=exc.status)}
    return 422, {"error": t("relief_refused", lang), "detail": str(exc)}


def _number(text: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise FormError("relief_bad_installments") from None


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise FormError("relief_bad_date") from None


@router.post("/work/cases/{case_id}/plan")
def case_plan(request: Request, case_id: str, principal: Proposer,
              installments: Annotated[str, Form()] = "", first_on: Annotated[str, Form()] = "",
              cadence: Annotated[str, Form()] = "monthly", income: Annotated[str, Form()] = "",
              expenses: Annotated[str, Form()] = "",
              freeze_penalty: Annotated[str, Form()] = "",
              step: Annotated[str, Form()] = "preview",
              csrf_token: Annotated[str, Form()] = "") -> Response:
    """`step=preview` shows the schedule and whether the borrower can afford it, recording
    nothing; `step=propose` (the button under the preview) records it for a decision."""
    check_csrf(principal, csrf_token)
    borrower_id = _borrower_of(request, principal, case_id)
    typed = {"installments": installments, "first_on": first_on, "cadence": cadence,
             "income": income, "expenses": expenses, "freeze_penalty": freeze_penalty}
    try:
        payload = PlanProposal(
            borrower_id=borrower_id, installments=_number(installments), first_on=_day(first_on),
            cadence=cadence,  # type: ignore[arg-type]
            income=income.strip() or None, expenses=expenses.strip() or None,
            freeze_penalty=bool(freeze_penalty), preview=step != "propose")
        plan = do_propose_plan(app_of(request), principal, payload)
    except (FairdueError, FormError, ValidationError) as exc:
        status, shown = _failure(request, exc)
        return _case_page(request, principal, case_id, status=status, form="plan",
                          typed=typed, **shown)
    return _case_page(request, principal, case_id, form="plan", typed=typed, plan=plan)


@router.post("/work/cases/{case_id}/waiver")
def case_waiver(request: Request, case_id: str, principal: Proposer,
                component: Annotated[str, Form()] = "", amount: Annotated[str, Form()] = "",
                reason: Annotated[str, Form()] = "",
                csrf_token: Annotated[str, Form()] = "") -> Response:
    check_csrf(principal, csrf_token)
    borrower_id = _borrower_of(request, principal, case_id)
    typed = {"component": component, "amount": amount, "reason": reason}
    try:
        payload = WaiverRequest(borrower_id=borrower_id,
                                component=component,  # type: ignore[arg-type]
                                amount=amount.strip(), reason=reason.strip())
        waiver = do_request_waiver(app_of(request), principal, payload)
    except (FairdueError, ValidationError) as exc:
        status, shown = _failure(request, exc)
        return _case_page(request, principal, case_id, status=status, form="waiver",
                          typed=typed, **shown)
    return _case_page(request, principal, case_id, form="waiver", waiver=waiver)


@router.post("/work/cases/{case_id}/visit-request")
def case_visit_request(request: Request, case_id: str, principal: VisitRequester,
                       grounds: Annotated[str, Form()] = "", reason: Annotated[str, Form()] = "",
                       csrf_token: Annotated[str, Form()] = "") -> Response:
    check_csrf(principal, csrf_token)
    _borrower_of(request, principal, case_id)
    typed = {"grounds": grounds, "reason": reason}
    try:
        payload = VisitRequest(grounds=grounds.strip().upper(),  # type: ignore[arg-type]
                               reason=reason.strip())
        visit = do_request_visit(app_of(request), principal, case_id, payload)
    except (FairdueError, ValidationError) as exc:
        status, shown = _failure(request, exc)
        return _case_page(request, principal, case_id, status=status, form="visit",
                          typed=typed, **shown)
    return _case_page(request, principal, case_id, form="visit", visit=visit)
