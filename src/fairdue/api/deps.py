"""What routes are given: the fairdue App, and the check of the gateways' receipt token
(FAIRDUE_API_TOKEN and staff tokens are checked by `fairdue.api.auth`).

The App lives on the FastAPI application's state (set by `create_app`), never in a module
global, so several applications (tests, two databases) can live in one process.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from pydantic import SecretStr

from fairdue.api.problems import Problem
from fairdue.bootstrap import App
from fairdue.settings import Settings


def get_app(request: Request) -> App:
    """The fairdue App the FastAPI application was created with."""
    application: App = request.app.state.fairdue
    return application


AppDep = Annotated[App, Depends(get_app)]

_CHALLENGE = {"WWW-Authenticate": "Bearer"}


def _presented(request: Request, *, query: bool) -> str | None:
    header = request.headers.get("authorization")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
    return request.query_params.get("token") if query else None


def _check(request: Request, secret: SecretStr, setting: str, *, query: bool) -> None:
    presented = _presented(request, query=query)
    how = "Authorization: Bearer <token>" + (" or ?token=<token>" if query else "")
    if presented is None:
        raise Problem(401, "unauthorized", "Token required",
                      f"this endpoint needs the token configured as {setting}; send it as {how}",
                      headers=_CHALLENGE)
    if not hmac.compare_digest(presented.encode(), secret.get_secret_value().encode()):
        raise Problem(401, "unauthorized", "Token refused",
                      f"the token sent is not the one configured as {setting}; check it",
                      headers=_CHALLENGE)


def token_check(pick: Callable[[Settings], SecretStr | None], setting: str, *,
                required: bool, query: bool) -> Callable[[Request, App], None]:
    """A dependency that refuses a request without the token `pick(settings)`.

    When no token is configured the endpoint is open (`required=False`) or refuses every
    request, saying which setting to set (`required=True`).
    """

    def check(request: Request, application: AppDep) -> None:
        secret = pick(application.settings)
        if secret is None:
            if required:
                raise Problem(401, "unauthorized", "API token not configured",
                              f"this server has no {setting}; an operator must set it "
                              "before this endpoint can be used", headers=_CHALLENGE)
            return
        _check(request, secret, setting, query=query)

    return check


#: Gateways' delivery receipts: FAIRDUE_RECEIPT_TOKEN, when set, as a header or ?token=.
require_receipt_token = token_check(lambda s: s.receipt_token, "FAIRDUE_RECEIPT_TOKEN",
                                    required=False, query=True)
