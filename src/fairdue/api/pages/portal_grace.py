"""The borrower asks for a grace period (S13: "ask for time"), sees the answer, and may take
back a request still waiting. A supervisor decides (the approvals page); asking pauses
nothing by itself, and the page says so, so that nobody stops paying on an unanswered ask."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from fairdue.api.pages import app_of, check_csrf, page_guard, render
from fairdue.api.permissions import Principal
from fairdue.errors import FairdueError, InvalidInput
from fairdue.services.grace_requests import (
    find_grace_requests,
    request_grace,
    withdraw_grace_request,
)

router = APIRouter(prefix="/portal", include_in_schema=False)

Borrower = Annotated[Principal, Depends(page_guard("portal"))]


def _page(request: Request, principal: Principal, *, done: str | None = None,
          error: str | None = None, status: int = 200) -> Response:
    application = app_of(request)
    with application.engine.connect() as conn:
        mine = find_grace_requests(conn, borrower_id=principal.id)
    return render(request, "portal_grace.html", principal, status=status,
                  requests=list(reversed(mine)), most_days=application.settings.grace_max_days,
                  waiting=any(r["status"] == "requested" for r in mine), done=done, error=error)


@router.get("/grace")
def grace_page(request: Request, principal: Borrower) -> Response:
    return _page(request, principal)


@router.post("/grace")
def grace_ask(request: Request, principal: Borrower, days: Annotated[str, Form()] = "",
              reason: Annotated[str, Form()] = "",
              csrf_token: Annotated[str, Form()] = "") -> Response:
    check_csrf(principal, csrf_token)
    try:
        if not days.strip().isdigit():
            raise InvalidInput("say how many days you need, as a whole number")
        asked = request_grace(app_of(request), borrower_id=principal.id, days=int(days),
                              reason=reason, actor=principal.id)
    except FairdueError as exc:
        return _page(request, principal, error=str(exc), status=422)
    return _page(request, principal, done=asked.request_id)


@router.post("/grace/{request_id}/withdraw")
def grace_withdraw(request: Request, request_id: str, principal: Borrower,
                   csrf_token: Annotated[str, Form()] = "") -> Response:
    check_csrf(principal, csrf_token)
    try:
        withdraw_grace_request(app_of(request), request_id=request_id, borrower_id=principal.id)
    except FairdueError as exc:
        return _page(request, principal, error=str(exc), status=422)
    return _page(request, principal)
