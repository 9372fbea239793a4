"""Approvals: repayment plans, waivers, grace requests and field visits waiting for a decision, and the
decision itself (with its reason). Who may approve how much is the services' rule
(domain/approvals.py); this module only routes a decision to the service that owns it."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from fairdue.api.auth import require_api
from fairdue.api.deps import AppDep
from fairdue.api.permissions import Principal
from fairdue.api.problems import problem_responses
from fairdue.bootstrap import App
from fairdue.services.grace_requests import (
    approve_grace_request,
    find_grace_requests,
    reject_grace_request,
)
from fairdue.services.plans import approve_plan, find_plans, reject_plan
from fairdue.services.visits import approve_visit, find_visits, reject_visit
from fairdue.services.waivers import approve_waiver, find_waivers, reject_waiver

router = APIRouter(tags=["approvals"])

KINDS = ("plan", "waiver", "grace", "visit")


def pending(application: App) -> dict[str, list[dict[str, Any]]]:
    """What waits for a decision, oldest first (visits: newest proposal first)."""
    with application.engine.connect() as conn:
        return {"plans": find_plans(conn, status="proposed"),
                "waivers": find_waivers(conn, status="requested"),
                "grace": find_grace_requests(conn, status="requested"),
                "visits": find_visits(conn, status="proposed")}


def decide(application: App, principal: Principal, kind: str, item_id: str, decision: str,
           reason: str | None, *, days: int | None = None, freeze_penalty: bool = False) -> str:
    """Approve or reject one item; returns its new status. The service refuses what the
    role may not decide (a waiver over the role's limit) and a reason that is missing.
    `days` and `freeze_penalty`: a grace request's approval only."""
    approve = decision == "approve"
    note = (reason or "").strip() or None
    if kind == "grace":
        asked = (approve_grace_request(application, request_id=item_id, actor=principal.id,
                                       role=principal.role, reason=note, days=days,
                                       freeze_penalty=freeze_penalty) if approve else
                 reject_grace_request(application, request_id=item_id, actor=principal.id,
                                      role=principal.role, reason=note))
        return str(asked.status.value)
    if kind == "plan":
        plan = (approve_plan if approve else reject_plan)(
            application, plan_id=item_id, actor=principal.id, role=principal.role, reason=note)
        return str(plan.status.value)
    if kind == "waiver":
        waiver = (approve_waiver if approve else reject_waiver)(
            application, waiver_id=item_id, actor=principal.id, role=principal.role, reason=note)
        return str(waiver.status.value)
    visit = (approve_visit if approve else reject_visit)(
        application, item_id, actor=principal.id, note=note or "")
    return str(visit.status.value)


Approver = Annotated[Principal, Depends(require_api("approvals"))]


@router.get("/approvals", responses=problem_responses(401, 403),
            summary="Plans, waivers, grace requests and visits waiting for a decision")
def get_approvals(application: AppDep, principal: Approver) -> dict[str, list[dict[str, Any]]]:
    return pending(application)


class Decision(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Literal["approve", "reject"]
    reason: str | None = Field(default=None, max_length=1000,
                               description="why; required to reject, and for every visit")
    days: int | None = Field(default=None, ge=1,
                             description="grace requests: days granted, at most those asked")
    freeze_penalty: bool = Field(default=False,
                                 description="grace requests: no penalty during the grace")


@router.post("/approvals/{kind}/{item_id}", responses=problem_responses(401, 403, 404, 409, 422),
             summary="Approve or reject a plan, a waiver, a grace request or a visit, with the "
                     "reason")
def post_decision(kind: Literal["plan", "waiver", "grace", "visit"], item_id: str,
                  payload: Decision, application: AppDep, principal: Approver) -> dict[str, str]:
    status = decide(application, principal, kind, item_id, payload.decision, payload.reason,
                    days=payload.days, freeze_penalty=payload.freeze_penalty)
    return {"kind": kind, "id": item_id, "status": status}
