"""`POST /api/v1/contacts/outcome`: what `fairdue contact record` does, for dialers and
other integrations (docs/strategy.md, "Recording outcomes and restrictions")."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from fairdue.api.deps import AppDep, require_api_token
from fairdue.api.problems import problem_responses
from fairdue.services.contacts import record_contact

router = APIRouter(tags=["contacts"])


class OutcomeCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    borrower_id: str = Field(min_length=1, examples=["B00000001"])
    channel: str = Field(min_length=1, examples=["call"],
                         description="call, sms, email, push, visit, voicemail_ringless")
    outcome: str = Field(
        min_length=1, examples=["refused"],
        description="conversation, voicemail, no_answer, busy, not_connected, delivered, failed, "
                    "or a disposition: ptp, paid, refused, dispute, hardship, wrong_party, "
                    "third_party")
    at: AwareDatetime | None = Field(
        default=None, examples=["2026-07-01T10:00:00+08:00"],
        description="when, ISO 8601 with an offset; default: now")
    note: str | None = Field(default=None, description="free text, screened for prohibited content")
    party: Literal["debtor", "contact"] = "debtor"
    actor: str = Field(default="api", min_length=1, description="who records it (an agent's id)")


class OutcomeRead(BaseModel):
    attempt_id: str
    case_id: str | None
    lawful: bool
    rules: list[str]
    reasons: list[str]
    duplicate: bool


@router.post(
    "/contacts/outcome",
    status_code=201,
    dependencies=[Depends(require_api_token)],
    responses={200: {"description": "Already recorded (the same attempt sent again)",
                     "model": OutcomeRead},
               **problem_responses(400, 401, 404, 422)},
    summary="Record a contact attempt's outcome",
)
def post_outcome(payload: OutcomeCreate, application: AppDep, response: Response) -> OutcomeRead:
    """Record an attempt made outside fairdue; the guard judges it against the borrower's
    history, and one it would have refused is kept with the rules it broke (`lawful: false`)."""
    result = record_contact(
        application, borrower_id=payload.borrower_id, channel=payload.channel,
        outcome=payload.outcome, at=payload.at or application.clock.now(), note=payload.note,
        party=payload.party, actor=payload.actor)
    if result.duplicate:
        response.status_code = 200
    return OutcomeRead(attempt_id=result.attempt_id, case_id=result.case_id, lawful=result.lawful,
                       rules=list(result.rules), reasons=list(result.reasons),
                       duplicate=result.duplicate)
