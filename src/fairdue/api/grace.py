"""The grace API: a borrower's grace periods and requests, an agent recording a borrower's
request (asked on the phone), and a supervisor granting one outright. Requests are decided
in the approvals (`POST /api/v1/approvals/grace/{request_id}`)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from fairdue.api.auth import require_api
from fairdue.api.cases import may_open_borrower
from fairdue.api.deps import AppDep
from fairdue.api.permissions import Principal
from fairdue.api.problems import problem_responses
from fairdue.services.grace import find_graces, grant_grace
from fairdue.services.grace_requests import find_grace_requests, request_grace

router = APIRouter(tags=["grace"])


class GraceRead(BaseModel):
    grace_id: str
    borrower_id: str
    case_id: str | None
    starts_on: date
    ends_on: date
    freeze_penalty: bool
    reason: str
    granted_by: str
    granted_at: datetime


class GraceRequestRead(BaseModel):
    request_id: str
    borrower_id: str
    case_id: str | None
    days: int
    reason: str
    status: str
    requested_by: str
    requested_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    decision_reason: str | None
    grace_id: str | None
    starts_on: date | None
    ends_on: date | None
    freeze_penalty: bool | None


class GraceOfBorrower(BaseModel):
    grace_periods: list[GraceRead]
    requests: list[GraceRequestRead]


@router.get("/grace", responses=problem_responses(401, 403, 422),
            summary="A borrower's grace periods and grace requests, oldest first")
def get_grace(borrower_id: str, application: AppDep,
              principal: Annotated[Principal, Depends(require_api("case.read"))]
              ) -> GraceOfBorrower:
    may_open_borrower(application, principal, borrower_id)
    with application.engine.connect() as conn:
        graces = find_graces(conn, borrower_id=borrower_id)
        asked = find_grace_requests(conn, borrower_id=borrower_id)
    return GraceOfBorrower(grace_periods=[GraceRead(**g) for g in graces],
                           requests=[GraceRequestRead(**r) for r in asked])


class GraceAsk(BaseModel):
    model_config = ConfigDict(extra="forbid")

    borrower_id: str = Field(min_length=1, max_length=40)
    days: int = Field(ge=1, description="business days of grace asked for, today the first")
    reason: str = Field(min_length=1, max_length=1000,
                        description="what the borrower said happened")


@router.post("/grace/requests", status_code=201,
             responses=problem_responses(401, 403, 404, 409, 422),
             summary="Record a borrower's request for a grace period (a supervisor decides)")
def post_grace_request(payload: GraceAsk, application: AppDep,
                       principal: Annotated[Principal, Depends(require_api("grace.request"))]
                       ) -> GraceRequestRead:
    may_open_borrower(application, principal, payload.borrower_id)
    asked = request_grace(application, borrower_id=payload.borrower_id, days=payload.days,
                          reason=payload.reason, actor=principal.id)
    with application.engine.connect() as conn:
        [row] = find_grace_requests(conn, request_id=asked.request_id)
    return GraceRequestRead(**row)


class GraceGrant(GraceAsk):
    freeze_penalty: bool = Field(default=False,
                                 description="no penalty accrues during the grace period")


@router.post("/grace", status_code=201, responses=problem_responses(401, 403, 404, 422),
             summary="Grant a grace period outright: collection contact paused for its days")
def post_grace(payload: GraceGrant, application: AppDep,
               principal: Annotated[Principal, Depends(require_api("grace.grant"))]
               ) -> dict[str, Any]:
    grace = grant_grace(application, borrower_id=payload.borrower_id, days=payload.days,
                        reason=payload.reason, freeze_penalty=payload.freeze_penalty,
                        actor=principal.id)
    return {"grace_id": grace.grace_id, "borrower_id": grace.borrower_id,
            "case_id": grace.case_id, "starts_on": grace.starts_on, "ends_on": grace.ends_on,
            "freeze_penalty": grace.freeze_penalty}
