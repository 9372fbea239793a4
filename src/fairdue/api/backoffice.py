"""The back office's API: complaints and disputes, refusals by rule, the audit log and its
verification, policy versions, and exports."""

from __future__ import annotations

import io
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field

from fairdue.adapters.audit import verify_audit
from fairdue.api.auth import require_api
from fairdue.api.cases import may_open_borrower
from fairdue.api.deps import AppDep
from fairdue.api.permissions import Principal
from fairdue.api.problems import problem_responses
from fairdue.services.complaints import answer_complaint, file_complaint, find_complaints
from fairdue.services.export import EXPORTS, write_export
from fairdue.services.workbench import audit_entries, policy_versions, recent_refusals, refusals_by_rule

router = APIRouter(tags=["back office"])


@router.get("/complaints", responses=problem_responses(401, 403, 422),
            summary="Complaints and disputes, newest first")
def get_complaints(application: AppDep,
                   principal: Annotated[Principal, Depends(require_api("complaint.read"))],
                   status: Literal["open", "answered"] | None = None,
                   borrower_id: str | None = None,
                   limit: int = Query(default=200, ge=1, le=1000)) -> list[dict[str, Any]]:
    with application.engine.connect() as conn:
        return find_complaints(conn, status=status, borrower_id=borrower_id, limit=limit)


class ComplaintFiling(BaseModel):
    model_config = ConfigDict(extra="forbid")

    borrower_id: str = Field(min_length=1, max_length=40)
    kind: Literal["complaint", "dispute"]
    text: str = Field(min_length=1, max_length=4000,
                      description="what the borrower said, in their words")


@router.post("/complaints", status_code=201, responses=problem_responses(401, 403, 404, 422),
             summary="Record a complaint or dispute the borrower made by phone or letter "
                     "(collection pauses at once)")
def post_complaint(payload: ComplaintFiling, application: AppDep,
                   principal: Annotated[Principal, Depends(require_api("complaint.record"))]
                   ) -> dict[str, Any]:
    """Whoever hears a complaint records it, so that collection pauses the same minute as
    when the borrower files it on the portal; an agent only for a borrower of their cases."""
    may_open_borrower(application, principal, payload.borrower_id)
    filed = file_complaint(application, borrower_id=payload.borrower_id, kind=payload.kind,
                           text=payload.text, actor=principal.id)
    return {"complaint_id": filed.complaint_id, "case_id": filed.case_id,
            "restriction_id": filed.restriction_id, "status": "open"}


class ComplaintAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    answer: str = Field(min_length=1, max_length=4000)
    resume: bool = Field(default=True,
                         description="lift the pause on collection the filing put in force")


@router.post("/complaints/{complaint_id}/answer", responses=problem_responses(401, 403, 404, 409, 422),
             summary="Answer a complaint or dispute (and resume collection)")
def post_answer(complaint_id: str, payload: ComplaintAnswer, application: AppDep,
                principal: Annotated[Principal, Depends(require_api("complaint.answer"))]
                ) -> dict[str, Any]:
    return answer_complaint(application, complaint_id=complaint_id, answer=payload.answer,
                            actor=principal.id, resume=payload.resume)


@router.get("/compliance/refusals", responses=problem_responses(401, 403),
            summary="Contacts the guard refused, counted per rule, and the latest ones")
def get_refusals(application: AppDep,
                 principal: Annotated[Principal, Depends(require_api("compliance.read"))]
                 ) -> dict[str, Any]:
    with application.engine.connect() as conn:
        return {"by_rule": refusals_by_rule(conn), "latest": recent_refusals(conn)}


@router.get("/audit", responses=problem_responses(401, 403, 422),
            summary="The newest audit entries")
def get_audit(application: AppDep,
              principal: Annotated[Principal, Depends(require_api("audit.read"))],
              limit: int = Query(default=100, ge=1, le=1000),
              before: int | None = Query(default=None, description="entries before this seq")
              ) -> list[dict[str, Any]]:
    with application.engine.connect() as conn:
        return audit_entries(conn, limit=limit, before=before)


@router.get("/audit/verify", responses=problem_responses(401, 403),
            summary="Walk the audit hash chain; the first altered or missing entry")
def get_audit_verify(application: AppDep,
                     principal: Annotated[Principal, Depends(require_api("audit.read"))]
                     ) -> dict[str, Any]:
    with application.engine.connect() as conn:
        result = verify_audit(conn)
    return {"ok": result.ok, "entries_checked": result.entries_checked,
            "first_bad_seq": result.first_bad_seq, "problem": result.problem}


@router.get("/policies", responses=problem_responses(401, 403),
            summary="Policy versions that made decisions, with their differences")
def get_policies(application: AppDep,
                 principal: Annotated[Principal, Depends(require_api("policy.read"))]
                 ) -> list[dict[str, Any]]:
    with application.engine.connect() as conn:
        return policy_versions(conn)


@router.get("/exports/{what}", response_class=PlainTextResponse,
            responses=problem_responses(401, 403, 422),
            summary="An export as `fairdue export` writes it (jsonl or csv), no personal data")
def get_export(what: str, application: AppDep,
               principal: Annotated[Principal, Depends(require_api("export.read"))],
               format: Literal["jsonl", "csv"] = "jsonl") -> PlainTextResponse:
    out = io.StringIO()
    with application.engine.connect() as conn:
        write_export(conn, what, format, out)
    media = "text/csv" if format == "csv" else "application/x-ndjson"
    return PlainTextResponse(out.getvalue(), media_type=f"{media}; charset=utf-8",
                             headers={"Content-Disposition": f'attachment; filename="{what}.{format}"'})


__all__ = ["EXPORTS", "router"]
