"""The agent's and supervisor's API: queues, a case, its timeline, "may I call now",
recording an outcome (with a promise), assignment, and the borrower's record."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from fairdue.adapters.db import strategy_repo as repo
from fairdue.api.auth import require_api
from fairdue.api.deps import AppDep
from fairdue.api.permissions import Principal
from fairdue.api.problems import Problem, problem_responses
from fairdue.bootstrap import App
from fairdue.domain.contact_outcomes import DISPOSITIONS
from fairdue.domain.ledger import business_date
from fairdue.domain.money import parse_to_minor
from fairdue.errors import InvalidInput
from fairdue.services.borrowers import show_borrower
from fairdue.services.contacts import record_contact
from fairdue.services.promises import find_promises, make_promise
from fairdue.services.timeline import case_timeline
from fairdue.services.workbench import (
    assign_case,
    assigned_to,
    call_check,
    case_summary,
    debt_breakdown,
    queue,
)

router = APIRouter(tags=["cases"])

OUTCOMES = ("conversation", "voicemail", "no_answer", "busy", "not_connected", *DISPOSITIONS)


def may_open_case(application: App, principal: Principal, case_id: str) -> dict[str, Any]:
    """The case's summary, if this caller may open it: an agent only their assigned cases."""
    with application.engine.connect() as conn:
        summary = case_summary(conn, case_id)
    if principal.role == "agent" and summary["assigned_to"] != principal.id:
        raise Problem(403, "forbidden", "Not your case",
                      f"case {case_id} is not assigned to you; ask a supervisor to assign it")
    return summary


def may_open_borrower(application: App, principal: Principal, borrower_id: str) -> None:
    """An agent may read a borrower only through an open case assigned to them."""
    if principal.role != "agent":
        return
    with application.engine.connect() as conn:
        case_id = repo.open_case_of(conn, borrower_id)
        owner = assigned_to(conn, case_id) if case_id else None
    if owner != principal.id:
        raise Problem(403, "forbidden", "Not your borrower",
                      f"borrower {borrower_id} has no open case assigned to you")


CaseReader = Annotated[Principal, Depends(require_api("case.read"))]
CaseWorker = Annotated[Principal, Depends(require_api("case.work"))]


@router.get("/cases", responses=problem_responses(401, 403, 422),
            summary="My queue: my open cases in the order to work them")
def my_queue(application: AppDep,
             principal: Annotated[Principal, Depends(require_api("queue.mine"))],
             limit: int = Query(default=100, ge=1, le=1000),
             after: int = Query(default=0, ge=0, description="rows to skip")) -> list[dict[str, Any]]:
    with application.engine.connect() as conn:
        return queue(conn, username=principal.id, limit=limit, after=after)


@router.get("/cases/team", responses=problem_responses(401, 403, 422),
            summary="The team's queue: every open case, assigned or not")
def team_queue(application: AppDep,
               principal: Annotated[Principal, Depends(require_api("queue.team"))],
               limit: int = Query(default=100, ge=1, le=1000),
               after: int = Query(default=0, ge=0)) -> list[dict[str, Any]]:
    with application.engine.connect() as conn:
        return queue(conn, limit=limit, after=after)


@router.get("/cases/{case_id}", responses=problem_responses(401, 403, 404),
            summary="A case: status, DPD and bucket, the debt per loan and installment")
def get_case(case_id: str, application: AppDep, principal: CaseReader) -> dict[str, Any]:
    summary = may_open_case(application, principal, case_id)
    today = business_date(application.clock.now(), application.zone)
    with application.engine.connect() as conn:
        summary["loans"] = debt_breakdown(conn, summary["borrower_id"], today)
    summary["borrower"] = show_borrower(application, summary["borrower_id"], actor=principal.id)
    return summary


@router.get("/cases/{case_id}/timeline", responses=problem_responses(401, 403, 404),
            summary="Everything that happened to a case, oldest first")
def get_timeline(case_id: str, application: AppDep, principal: CaseReader) -> dict[str, Any]:
    may_open_case(application, principal, case_id)
    with application.engine.connect() as conn:
        timeline = case_timeline(conn, case_id)
    return {"case_id": timeline.case_id, "borrower_id": timeline.borrower_id,
            "status": timeline.status,
            "entries": [{"at": e.at, "kind": e.kind, "summary": e.summary, "details": e.details}
                        for e in timeline.entries]}


class CallCheckRead(BaseModel):
    allowed: bool
    rules: list[str]
    reasons: list[str]
    next_allowed_at: datetime | None
    local_time: datetime


@router.get("/cases/{case_id}/call-check", responses=problem_responses(401, 403, 404),
            summary="May the borrower be called now? If not, which rule says no and until when")
def get_call_check(case_id: str, application: AppDep, principal: CaseWorker) -> CallCheckRead:
    summary = may_open_case(application, principal, case_id)
    verdict = call_check(application, summary["borrower_id"], application.clock.now())
    return CallCheckRead(allowed=verdict.allowed, rules=list(verdict.rules),
                         reasons=list(verdict.reasons), next_allowed_at=verdict.next_allowed_at,
                         local_time=verdict.local_time)


class CaseOutcome(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channel: Literal["call", "sms", "email", "visit"] = "call"
    outcome: str = Field(description=", ".join(OUTCOMES))
    at: AwareDatetime | None = Field(default=None, description="default: now")
    note: str | None = Field(default=None, max_length=4000)
    promise_amount: str | None = Field(default=None, examples=["500.00"])
    promise_due: date | None = None


class CaseOutcomeRead(BaseModel):
    attempt_id: str
    lawful: bool
    rules: list[str]
    reasons: list[str]
    duplicate: bool
    promise_id: str | None


def record_case_outcome(application: App, principal: Principal, case_id: str,
                        payload: CaseOutcome) -> CaseOutcomeRead:
    """Record what a call achieved on a case, and the promise made in it. The promise is
    checked before anything is written, so a bad promise leaves no half-recorded call."""
    summary = may_open_case(application, principal, case_id)
    if summary["status"] != "open":
        raise InvalidInput(f"case {case_id} is {summary['status']}; record outcomes on open cases")
    if payload.outcome not in OUTCOMES:
        raise InvalidInput(f"unknown outcome {payload.outcome!r}; use one of: {', '.join(OUTCOMES)}")
    wants_promise = payload.promise_amount is not None or payload.promise_due is not None
    if wants_promise:
        if payload.promise_amount is None or payload.promise_due is None:
            raise InvalidInput("a promise needs both an amount and a date")
        if payload.outcome != "ptp":
            raise InvalidInput("a promise is recorded with the outcome ptp (promise to pay)")
        parse_to_minor(payload.promise_amount, summary["currency"], what="promise amount")
        today = business_date(application.clock.now(), application.zone)
        if payload.promise_due < today:
            raise InvalidInput(f"the promise date {payload.promise_due} is in the past")
    recorded = record_contact(application, borrower_id=summary["borrower_id"],
                              channel=payload.channel, outcome=payload.outcome,
                              at=payload.at or application.clock.now(), note=payload.note,
                              actor=principal.id)
    promise_id = None
    if wants_promise and payload.promise_amount is not None and payload.promise_due is not None:
        promise = make_promise(application, borrower_id=summary["borrower_id"],
                               amount=payload.promise_amount, due_on=payload.promise_due,
                               attempt_id=recorded.attempt_id, actor=principal.id)
        promise_id = promise.promise_id
    return CaseOutcomeRead(attempt_id=recorded.attempt_id, lawful=recorded.lawful,
                           rules=list(recorded.rules), reasons=list(recorded.reasons),
                           duplicate=recorded.duplicate, promise_id=promise_id)


@router.post("/cases/{case_id}/outcome", status_code=201,
             responses=problem_responses(401, 403, 404, 422),
             summary="Record a call's outcome on a case (disposition, note, promise)")
def post_case_outcome(case_id: str, payload: CaseOutcome, application: AppDep,
                      principal: CaseWorker) -> CaseOutcomeRead:
    return record_case_outcome(application, principal, case_id, payload)


class Assignment(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=64)


@router.post("/cases/{case_id}/assign", responses=problem_responses(401, 403, 404, 422),
             summary="Give a case to an agent")
def post_assign(case_id: str, payload: Assignment, application: AppDep,
                principal: Annotated[Principal, Depends(require_api("case.assign"))]
                ) -> dict[str, str]:
    assign_case(application, case_id=case_id, username=payload.username, actor=principal.id)
    return {"case_id": case_id, "assigned_to": payload.username}


@router.get("/borrowers/{borrower_id}", responses=problem_responses(401, 403, 404),
            summary="A borrower's record, personal data masked")
def get_borrower(borrower_id: str, application: AppDep, principal: CaseReader) -> dict[str, Any]:
    may_open_borrower(application, principal, borrower_id)
    return show_borrower(application, borrower_id, actor=principal.id)


class UnmaskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=3, max_length=500,
                        description="why; written into the audit log with the read")


@router.post("/borrowers/{borrower_id}/unmask", responses=problem_responses(401, 403, 404, 422),
             summary="A borrower's record in clear (audited, with the reason)")
def post_unmask(borrower_id: str, payload: UnmaskRequest, application: AppDep,
                principal: Annotated[Principal, Depends(require_api("pii.unmask"))]
                ) -> dict[str, Any]:
    return show_borrower(application, borrower_id, unmask=True, actor=principal.id,
                         role=principal.role, reason=payload.reason)


@router.get("/promises", responses=problem_responses(401, 403, 422),
            summary="Promises to pay, by borrower and status")
def get_promises(application: AppDep,
                 principal: Annotated[Principal, Depends(require_api("promise.read"))],
                 borrower_id: str | None = None,
                 status: Literal["pending", "kept", "broken"] | None = None
                 ) -> list[dict[str, Any]]:
    if principal.role == "agent":
        if borrower_id is None:
            raise InvalidInput("name the borrower_id: an agent reads the promises of their "
                               "own cases")
        may_open_borrower(application, principal, borrower_id)
    with application.engine.connect() as conn:
        return find_promises(conn, borrower_id=borrower_id, status=status)


class PromiseCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    borrower_id: str = Field(min_length=1)
    amount: str = Field(examples=["500.00"])
    due_on: date
    attempt_id: str | None = None


@router.post("/promises", status_code=201, responses=problem_responses(401, 403, 404, 422),
             summary="Take a promise to pay for the borrower's open case")
def post_promise(payload: PromiseCreate, application: AppDep,
                 principal: Annotated[Principal, Depends(require_api("promise.make"))]
                 ) -> dict[str, Any]:
    may_open_borrower(application, principal, payload.borrower_id)
    promise = make_promise(application, borrower_id=payload.borrower_id, amount=payload.amount,
                           due_on=payload.due_on, attempt_id=payload.attempt_id,
                           actor=principal.id)
    with application.engine.connect() as conn:
        rows = [r for r in find_promises(conn, borrower_id=payload.borrower_id)
                if r["promise_id"] == promise.promise_id]
    return rows[0]
