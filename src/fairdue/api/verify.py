"""`POST /api/v1/verify`: the borrower's check that a collector at the door is real (S12).

Public on purpose: the person asking is a borrower with a badge and a code in front of
them, not a signed-in user. The answer carries no borrower data and no debt, only yes or
no, the sentence to show, and the window the credential is valid in; every check is
logged and repeated failures raise an alert (services/verification.py).
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from fairdue.api.deps import AppDep
from fairdue.api.problems import problem_responses
from fairdue.services.verification import verify_collector

router = APIRouter(tags=["verification"])


class VerifyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    badge: str = Field(min_length=1, max_length=64, examples=["SH-0042"])
    code: str = Field(min_length=1, max_length=64, description="the code on the collector's "
                                                               "credential letter")


class VerifyAnswer(BaseModel):
    verified: bool
    message: str
    valid_from: datetime | None
    valid_to: datetime | None


@router.post("/verify", responses=problem_responses(422),
             summary="Check a collector's badge and code (public; no borrower data)")
def post_verify(payload: VerifyRequest, application: AppDep) -> VerifyAnswer:
    result = verify_collector(application, payload.badge, payload.code, application.clock.now(),
                              source="api")
    return VerifyAnswer(verified=result.verified, message=result.message,
                        valid_from=result.valid_from, valid_to=result.valid_to)
