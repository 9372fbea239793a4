"""`POST /api/v1/contacts/outcome`: what `fairdue contact record` does, for dialers and
other integrations (docs/strategy.md, "Recording outcomes and restrictions")."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from fairdue.api.auth import require_api
from fairdue.api.deps import AppDep
from fairdue.api.permissions import Principal
from fairdue.api.problems import problem_responses
from fairdue.services.contacts import record_contact
from fairdue.services.export import find_contacts

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
    actor: str | None = Field(
        default=None, min_length=1,
        description="who records it (a dialer's id); default `api` for the integration token; "
                    "a signed-in agent always records under their own name")


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
    responses={200: {"description": "Already recorded (the same attempt sent again)",
                     "model": OutcomeRead},
               **problem_responses(400, 401, 403, 404, 422)},
    summary="Record a contact attempt's outcome",
)
def post_outcome(payload: OutcomeCreate, application: AppDep, response: Response,
                 principal: Annotated[Principal, Depends(require_api("outcome.record"))]
                 ) -> OutcomeRead:
    """Record an attempt made outside fairdue; the guard judges it against the borrower's
    history, and one it would have refused is kept with the rules it broke (`lawful: false`)."""
    result = record_contact(
        application, borrower_id=payload.borrower_id, channel=payload.channel,
        outcome=payload.outcome, at=payload.at or application.clock.now(), note=payload.note,
        party=payload.party,
        actor=principal.id if principal.kind == "staff" else (payload.actor or "api"))
    if result.duplicate:
        response.status_code = 200
    return OutcomeRead(attempt_id=result.attempt_id, case_id=result.case_id, lawful=result.lawful,
                       rules=list(result.rules), reasons=list(result.reasons),
                       duplicate=result.duplicate)


class ContactRead(BaseModel):
    contact_id: str
    case_id: str | None
    borrower_id: str
    channel: str
    template: str | None
    language: str
    priority: int
    scheduled_at: str | None
    status: str
    blocked_by: str | None
    blocked_reason: str | None
    reason: str | None
    attempts: int
    last_error: str | None
    provider_id: str | None
    sent_at: str | None
    delivered_at: str | None
    decision_id: str | None
    created_at: str


@router.get(
    "/contacts",
    dependencies=[Depends(require_api("contacts.read"))],
    responses=problem_responses(401, 403, 422),
    summary="Planned contacts: the outbox, the call queue, refusals and dead letters",
)
def get_contacts(
    application: AppDep,
    status: Literal["scheduled", "sending", "sent", "delivered", "failed", "dead", "unknown",
                    "blocked", "cancelled", "queued", "proposed"] | None = None,
    channel: str | None = None,
    borrower_id: str | None = None,
    case_id: str | None = None,
    after: str | None = Query(default=None, description="last contact id of the previous page"),
    limit: int = Query(default=100, ge=1, le=1000),
) -> list[ContactRead]:
    """Contacts filtered by status (`dead` lists the dead letters with their reasons in
    `last_error`), channel, borrower or case, in contact id order, a page at a time."""
    with application.engine.connect() as conn:
        rows = find_contacts(conn, status=status, channel=channel, borrower_id=borrower_id,
                             case_id=case_id, after=after, limit=limit)
    return [ContactRead(**row) for row in rows]
