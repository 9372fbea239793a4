"""Server-rendered pages (Jinja2) for staff and borrowers, in Chinese and English.

A page reads the session cookie only (never a bearer token); a visitor who is not signed in
is sent to the sign-in page, one whose role lacks the page's permission gets a 403 page.
Every form carries a CSRF token: the session's own once signed in, a double-submit cookie
on the two sign-in forms. Pages call the same services as the JSON API; no rule lives here.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from fairdue.api.auth import cookie_principal
from fairdue.api.pages.i18n import DEFAULT, LANGUAGES, t
from fairdue.api.permissions import PERMISSIONS, Principal
from fairdue.bootstrap import App

LANG_COOKIE = "fairdue_lang"
PRE_CSRF_COOKIE = "fairdue_csrf"

_ENV = Environment(loader=PackageLoader("fairdue", "web/templates"),
                   autoescape=select_autoescape(["html"]), undefined=StrictUndefined,
                   trim_blocks=True, lstrip_blocks=True)


class LoginRequired(Exception):
    """A page needs a signed-in visitor: send them to the sign-in page for their kind."""

    def __init__(self, login_path: str, back_to: str) -> None:
        super().__init__(login_path)
        self.login_path = login_path
        self.back_to = back_to


class PageForbidden(Exception):
    """The visitor's role may not open this page (or post this form)."""

    def __init__(self, principal: Principal | None, message_key: str = "forbidden",
                 status: int = 403) -> None:
        super().__init__(message_key)
        self.principal = principal
        self.message_key = message_key
        self.status = status


def app_of(request: Request) -> App:
    application: App = request.app.state.fairdue
    return application


def language(request: Request) -> str:
    wanted = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE) or DEFAULT
    return wanted if wanted in LANGUAGES else DEFAULT


def render(request: Request, template: str, principal: Principal | None = None, *,
           status: int = 200, **context: Any) -> HTMLResponse:
    lang = language(request)
    html = _ENV.get_template(template).render(
        lang=lang, t=lambda key, **v: t(key, lang, **v), principal=principal,
        path=request.url.path, may=lambda p: principal is not None and principal.may(p),
        other_lang="en" if lang == "zh-CN" else "zh-CN", **context)
    response = HTMLResponse(html, status_code=status)
    if request.query_params.get("lang") in LANGUAGES:
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="lax", path="/")
    # Pages show personal data and debts: no caching anywhere, no framing by other sites.
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
        "frame-ancestors 'none'")
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def page_guard(permission: str) -> Callable[[Request], Principal]:
    """A dependency for a page: the signed-in visitor holding `permission`."""
    allowed = PERMISSIONS[permission]
    login = "/portal/login" if allowed == {"borrower"} else "/login"

    def check(request: Request) -> Principal:
        principal = cookie_principal(request, app_of(request))
        if principal is None:
            raise LoginRequired(login, request.url.path)
        if principal.role not in allowed:
            raise PageForbidden(principal)
        return principal

    return check


def check_csrf(principal: Principal, sent: str | None) -> None:
    """A form of a signed-in session must echo the session's CSRF token."""
    if not sent or not hmac.compare_digest(sent.encode(), principal.csrf_token.encode()):
        raise PageForbidden(principal, "csrf")


def pre_session_csrf(request: Request) -> str:
    """The sign-in forms' CSRF value: the visitor's double-submit cookie, or a new one."""
    return request.cookies.get(PRE_CSRF_COOKIE) or secrets.token_urlsafe(32)


def set_pre_session_csrf(response: Response, application: App, value: str) -> None:
    response.set_cookie(PRE_CSRF_COOKIE, value, max_age=3600, httponly=True,
                        secure=application.settings.cookie_secure, samesite="strict", path="/")


def check_pre_session_csrf(request: Request, sent: str | None) -> None:
    cookie = request.cookies.get(PRE_CSRF_COOKIE)
    if not sent or not cookie or not hmac.compare_digest(sent.encode(), cookie.encode()):
        raise PageForbidden(None, "csrf")


def install(api: FastAPI) -> None:
    """Mount the pages, their static files and their error pages on `api`."""
    from fairdue.api.pages import (
        field,
        portal,
        portal_grace,
        portal_visit,
        reports,
        staff,
        staff_relief,
    )

    async def on_login_required(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, LoginRequired)
        return RedirectResponse(f"{exc.login_path}?next={quote(exc.back_to)}", status_code=303)

    async def on_forbidden(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, PageForbidden)
        return render(request, "error.html", exc.principal, status=exc.status,
                      message=t(exc.message_key, language(request)))

    api.add_exception_handler(LoginRequired, on_login_required)
    api.add_exception_handler(PageForbidden, on_forbidden)
    api.mount("/static", StaticFiles(packages=[("fairdue", "web/static")]), name="static")
    api.include_router(staff.router)
    api.include_router(staff_relief.router)
    api.include_router(portal.router)
    api.include_router(portal_visit.router)
    api.include_router(portal_grace.router)
    api.include_router(field.router)
    api.include_router(reports.router)
