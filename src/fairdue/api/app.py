"""The FastAPI application factory: the fairdue App in, the HTTP application out."""

from __future__ import annotations

from fastapi import FastAPI

import fairdue
from fairdue.api import (
    approvals,
    auth,
    backoffice,
    cases,
    contacts,
    grace,
    pages,
    problems,
    receipts,
    relief,
    reports,
    verify,
    visits,
)
from fairdue.bootstrap import App

API_PREFIX = "/api/v1"


def create_app(app: App) -> FastAPI:
    """The HTTP API on `app` (docs/api.md); nothing global, so each call is independent."""
    api = FastAPI(
        title="fairdue",
        version=fairdue.__version__,
        description="Fair, lawful collection of overdue consumer micro-loans. "
                    "Errors are problem details (RFC 9457, application/problem+json).",
        openapi_url="/openapi.json",
    )
    api.state.fairdue = app
    problems.install(api)
    api.include_router(receipts.router, prefix=API_PREFIX)
    api.include_router(contacts.router, prefix=API_PREFIX)
    api.include_router(auth.router, prefix=API_PREFIX)
    api.include_router(cases.router, prefix=API_PREFIX)
    api.include_router(backoffice.router, prefix=API_PREFIX)
    api.include_router(verify.router, prefix=API_PREFIX)
    api.include_router(approvals.router, prefix=API_PREFIX)
    api.include_router(visits.router, prefix=API_PREFIX)
    api.include_router(reports.router, prefix=API_PREFIX)
    api.include_router(grace.router, prefix=API_PREFIX)
    api.include_router(relief.router, prefix=API_PREFIX)
    pages.install(api)
    return api
