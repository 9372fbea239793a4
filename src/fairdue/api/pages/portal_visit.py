"""The borrower confirms or moves the time of a field visit (S8): the visit comes only at a
time they chose, from the times fairdue offered within the lawful hours."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from fairdue.api.pages import app_of, check_csrf, page_guard, render
from fairdue.api.permissions import Principal
from fairdue.errors import FairdueError
from fairdue.services.visits import borrower_visit, confirm_slot

router = APIRouter(prefix="/portal", include_in_schema=False)

Borrower = Annotated[Principal, Depends(page_guard("portal"))]


def _page(request: Request, principal: Principal, *, confirmed: bool = False,
          error: str | None = None, status: int = 200) -> Response:
    application = app_of(request)
    with application.engine.connect() as conn:
        visit = borrower_visit(conn, principal.id)
    # The times the borrower may still pick: every one offered but the one booked.
    choices = [] if visit is None else [
        (n, starts, ends) for n, starts, ends in visit.offered
        if visit.booked is None or starts != visit.booked[0]]
    return render(request, "portal_visit.html", principal, status=status, visit=visit,
                  choices=choices, confirmed=confirmed, error=error, settings=application.settings)


@router.get("/visit")
def visit_page(request: Request, principal: Borrower) -> Response:
    return _page(request, principal)


@router.post("/visit")
def visit_choose(request: Request, principal: Borrower, slot: Annotated[str, Form()] = "",
                 csrf_token: Annotated[str, Form()] = "") -> Response:
    """Confirm an offered time, or move a booked visit to another offered time."""
    check_csrf(principal, csrf_token)
    application = app_of(request)
    with application.engine.connect() as conn:
        visit = borrower_visit(conn, principal.id)   # only the signed-in borrower's own visit
    try:
        if visit is None:
            raise FairdueError("there is no visit with times to choose from")
        if not slot.isdigit():
            raise FairdueError("choose one of the times offered")
        confirm_slot(application, visit.visit_id, int(slot))
    except FairdueError as exc:
        return _page(request, principal, error=str(exc), status=422)
    return _page(request, principal, confirmed=True)
