"""Errors as problem details (RFC 9457): `application/problem+json` with a message a person
can act on.

Every answer that is not a success has `type`, `title`, `status`, `detail` and `instance`
(the request's path). fairdue's own errors map to statuses by kind; a request that does not
match its schema is a 422 naming each field (400 when the body is not even JSON); an error
of configuration or of the server says only that, so no setting or secret leaves the
process: the operator finds the reason in the server's log.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from fairdue.errors import (
    ConfigurationError,
    CryptoError,
    DatabaseBehind,
    FairdueError,
    InvalidInput,
    InvalidTransition,
    LedgerError,
    NotFound,
)

MEDIA_TYPE = "application/problem+json"
_TYPE_PREFIX = "urn:fairdue:problem:"

log = logging.getLogger("fairdue.api")


class Problem(Exception):
    """An answer to send as problem details: raise it from a route or a dependency."""

    def __init__(self, status: int, kind: str, title: str, detail: str, *,
                 headers: Mapping[str, str] | None = None, **extensions: Any) -> None:
        super().__init__(detail)
        self.status = status
        self.kind = kind
        self.title = title
        self.detail = detail
        self.headers = dict(headers or {})
        self.extensions = extensions


def problem_response(request: Request, problem: Problem) -> JSONResponse:
    body = {
        "type": problem.kind if problem.kind == "about:blank" else _TYPE_PREFIX + problem.kind,
        "title": problem.title,
        "status": problem.status,
        "detail": problem.detail,
        "instance": request.url.path,
        **problem.extensions,
    }
    return JSONResponse(body, status_code=problem.status, media_type=MEDIA_TYPE,
                        headers=problem.headers or None)


_INTERNAL_DETAIL = ("the server failed to answer; try again later, and if it persists "
                    "tell an operator the time and the address you called")


#: fairdue's errors whose message is safe and useful to show: status, kind, title.
#: Order matters: the first class the error is an instance of wins.
_SHOWN: tuple[tuple[type[FairdueError], int, str, str], ...] = (
    (NotFound, 404, "not-found", "Not found"),
    (InvalidInput, 422, "invalid-input", "Invalid input"),
    (LedgerError, 409, "conflict", "Conflict with the books"),
    (InvalidTransition, 409, "conflict", "Not allowed in the current state"),
    (DatabaseBehind, 503, "database-behind", "Database schema behind"),
)


def from_fairdue_error(exc: FairdueError) -> Problem:
    for cls, status, kind, title in _SHOWN:
        if isinstance(exc, cls):
            return Problem(status, kind, title, str(exc))
    if isinstance(exc, ConfigurationError | CryptoError):
        log.error("configuration error while answering a request: %s", exc)
        return Problem(500, "configuration", "Server misconfigured",
                       "the server's settings are wrong or incomplete; an operator will find "
                       "the reason in the server's log")
    log.error("unexpected fairdue error while answering a request: %s", exc)
    return Problem(500, "internal", "Internal error", _INTERNAL_DETAIL)


def _location(loc: Sequence[Any]) -> str:
    return ".".join(str(part) for part in loc if part != "body") or "body"


def from_validation_error(exc: RequestValidationError) -> Problem:
    errors = [{"field": _location(err["loc"]), "message": err["msg"]} for err in exc.errors()]
    if any(err["type"] == "json_invalid" for err in exc.errors()):
        return Problem(400, "malformed-body", "Malformed body",
                       "the request body is not valid JSON; send a JSON object "
                       "with Content-Type: application/json", errors=errors)
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
    return Problem(422, "validation", "Invalid request", f"fix these fields: {detail}",
                   errors=errors)


def install(app: FastAPI) -> None:
    """Answer every error of `app` with problem details."""

    async def on_problem(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, Problem)
        return problem_response(request, exc)

    async def on_fairdue(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, FairdueError)
        return problem_response(request, from_fairdue_error(exc))

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return problem_response(request, from_validation_error(exc))

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        problem = Problem(exc.status_code, "about:blank", _phrase(exc.status_code),
                          str(exc.detail), headers=exc.headers)
        return problem_response(request, problem)

    async def on_anything(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error answering %s %s", request.method, request.url.path)
        return problem_response(request, Problem(500, "internal", "Internal error", _INTERNAL_DETAIL))

    app.add_exception_handler(Problem, on_problem)
    app.add_exception_handler(FairdueError, on_fairdue)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_anything)


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


#: The problem document in the OpenAPI description, for the responses routes declare.
PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "title", "status", "detail", "instance"],
    "properties": {
        "type": {"type": "string", "example": "urn:fairdue:problem:not-found"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string", "description": "what was wrong and what to do"},
        "instance": {"type": "string", "description": "the path that was called"},
        "errors": {"type": "array", "description": "validation problems only",
                   "items": {"type": "object", "properties": {
                       "field": {"type": "string"}, "message": {"type": "string"}}}},
    },
}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route: each status documented as problem details."""
    return {
        status: {"description": _phrase(status),
                 "content": {MEDIA_TYPE: {"schema": PROBLEM_SCHEMA}}}
        for status in statuses
    }
