"""Who is asking, and whether they may: bearer tokens for the API, cookies for pages.

The API takes `Authorization: Bearer <token>`: a staff session token from
`POST /api/v1/auth/login`, or the integration token FAIRDUE_API_TOKEN. It never reads the
session cookie, so a page on another site cannot make a signed-in browser call it. Pages
take the session cookie only, and every form they post carries the session's CSRF token.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from fairdue.api.deps import AppDep
from fairdue.api.permissions import PERMISSIONS, Principal
from fairdue.api.problems import Problem, problem_responses
from fairdue.bootstrap import App
from fairdue.services.sessions import end_session, find_session, open_session
from fairdue.services.staff import SignInRefused, authenticate

COOKIE = "fairdue_session"
_CHALLENGE = {"WWW-Authenticate": "Bearer"}
_HOW = ("send Authorization: Bearer <token>: a staff token from POST /api/v1/auth/login, "
        "or the integration token configured as FAIRDUE_API_TOKEN")

router = APIRouter(tags=["auth"])


def bearer_of(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
    return None


def api_principal(request: Request, application: AppDep) -> Principal | None:
    """The caller of an API route, or None when no bearer token was sent; a token that is
    neither a live session's nor FAIRDUE_API_TOKEN is refused here (401)."""
    token = bearer_of(request)
    if token is None:
        return None
    secret = application.settings.api_token
    if secret is not None and hmac.compare_digest(token.encode(),
                                                  secret.get_secret_value().encode()):
        return Principal("integration", "api", "integration")
    session = find_session(application, token, "bearer")
    if session is None:
        if secret is None:
            detail = ("the token sent is not a live staff session token, and this server has "
                      "no FAIRDUE_API_TOKEN for integrations; sign in again "
                      "(POST /api/v1/auth/login) or have an operator set it")
        else:
            detail = ("the token sent is neither a live staff session token nor the one "
                      "configured as FAIRDUE_API_TOKEN; sign in again or check the token")
        raise Problem(401, "unauthorized", "Token refused", detail, headers=_CHALLENGE)
    return Principal(session.kind, session.principal_id, session.role, session.csrf_token, token)


def require_api(permission: str) -> Callable[..., Principal]:
    """A dependency: the caller, if their role holds `permission`; else 401 or 403."""
    allowed = PERMISSIONS[permission]

    def check(principal: Annotated[Principal | None, Depends(api_principal)]) -> Principal:
        if principal is None:
            raise Problem(401, "unauthorized", "Token required",
                          f"this endpoint needs a token; {_HOW}", headers=_CHALLENGE)
        if principal.role not in allowed:
            raise Problem(403, "forbidden", "Not allowed for your role",
                          f"the role {principal.role!r} may not do this; it needs one of: "
                          f"{', '.join(sorted(allowed))}")
        return principal

    return check


def cookie_principal(request: Request, application: App) -> Principal | None:
    token = request.cookies.get(COOKIE)
    if not token:
        return None
    session = find_session(application, token, "cookie")
    if session is None:
        return None
    return Principal(session.kind, session.principal_id, session.role, session.csrf_token, token)


def set_session_cookie(response: Response, application: App, token: str) -> None:
    response.set_cookie(COOKIE, token, max_age=application.settings.session_hours * 3600,
                        httponly=True, secure=application.settings.cookie_secure,
                        samesite="strict", path="/")


class LoginRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class LoginAnswer(BaseModel):
    username: str
    role: str
    token: str = Field(description="bearer token for the API: Authorization: Bearer <token>")
    token_type: str = "bearer"
    expires_at: str


class Me(BaseModel):
    kind: str
    id: str
    role: str
    permissions: list[str]


@router.post("/auth/login", responses=problem_responses(401, 422),
             summary="Staff sign-in: a session cookie for pages and a bearer token for the API")
def login(payload: LoginRequest, application: AppDep, response: Response) -> LoginAnswer:
    """Check the password (argon2); open a cookie session for the pages and a separate
    bearer session for the API, each with its own expiry and CSRF token."""
    try:
        user = authenticate(application, payload.username, payload.password)
    except SignInRefused as exc:
        raise Problem(401, "unauthorized", "Sign-in refused", str(exc)) from None
    cookie = open_session(application, kind="staff", principal_id=user.username, role=user.role,
                          transport="cookie")
    bearer = open_session(application, kind="staff", principal_id=user.username, role=user.role,
                          transport="bearer")
    set_session_cookie(response, application, cookie.token)
    return LoginAnswer(username=user.username, role=user.role, token=bearer.token,
                       expires_at=bearer.session.expires_at.isoformat())


@router.post("/auth/logout", status_code=204, responses=problem_responses(401),
             summary="End the session of this bearer token")
def logout(application: AppDep,
           principal: Annotated[Principal, Depends(require_api("session"))]) -> Response:
    """Revoke the bearer token; it signs nothing in afterwards."""
    end_session(application, principal.token)
    return Response(status_code=204)


@router.get("/auth/me", responses=problem_responses(401), summary="Who this token belongs to")
def me(principal: Annotated[Principal, Depends(require_api("session"))]) -> Me:
    return Me(kind=principal.kind, id=principal.id, role=principal.role,
              permissions=sorted(p for p, roles in PERMISSIONS.items() if principal.role in roles))
