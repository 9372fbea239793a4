"""Relief and visits asked for by staff over HTTP: repayment plans (a schedule previewed, then
proposed), waivers requested, field visits listed and requested on a case.

What `fairdue plan propose`, `fairdue waiver request` and `fairdue plan list` do on the
command line (cli/commands_plan.py), with the caller as the actor: the rules stay in the
services (services/plans.py, waivers.py, visit_requests.py). This module decides who may
act on which borrower (an agent only on the cases assigned to them, as `may_open_case`
says) and turns JSON into the services' arguments. The case page's forms
(api/pages/staff_relief.py) call the same helpers, so a page and its JSON twin agree.
Deciding is the approvals' (api/approvals.py).
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Annotated, Any, Literal, get_args

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, ConfigDict, Field

from fairdue.api.auth import require_api
from fairdue.api.cases import may_open_borrower, may_open_case
from fairdue.api.deps import AppDep
from fairdue.api.permissions import Principal
from fairdue.api.problems import Problem, problem_responses
from fairdue.bootstrap import App
from fairdue.domain.money import format_minor
from fairdue.domain.plans import CADENCES, Plan
from fairdue.errors import InvalidInput
from fairdue.services.plans import find_plans, plan_detail, propose_plan, schedule_of
from fairdue.services.visit_requests import (
    MAX_REASON,
    MIN_REASON,
    OpenVisitExists,
    RequestedVisit,
    VisitRefused,
    request_visit,
)
from fairdue.services.visits import find_visits
from fairdue.services.waivers import find_waivers, request_waiver

router = APIRouter(tags=["relief"])

ReliefReader = Annotated[Principal, Depends(require_api("relief.read"))]
ReliefProposer = Annotated[Principal, Depends(require_api("relief.propose"))]

Cadence = Literal["monthly", "biweekly", "weekly"]
assert set(get_args(Cadence)) == set(CADENCES), "the cadences are domain/plans.py's"


def _agent_names_borrower(application: App, principal: Principal, borrower_id: str | None,
                          what: str) -> None:
    """An agent reads only their own cases' relief: they must name the borrower, who must
    have an open case assigned to them; supervisors and compliance read any."""
    if principal.role != "agent":
        return
    if borrower_id is None:
        raise InvalidInput(f"name the borrower_id: an agent reads the {what} of their own cases")
    may_open_borrower(application, principal, borrower_id)


# ----- plans ------------------------------------------------------------------------------

class ScheduleItem(BaseModel):
    seq: int
    due_on: date
    amount: str
    paid: str
    status: str


class PlanProposal(BaseModel):
    model_config = ConfigDict(extra="forbid")

    borrower_id: str = Field(min_length=1, max_length=64, examples=["B00000001"])
    installments: int = Field(ge=1, description="how many installments (at most "
                                                "FAIRDUE_PLAN_MAX_INSTALLMENTS)")
    first_on: date = Field(description="the first installment's date: today or later")
    cadence: Cadence = "monthly"
    amounts: list[str] | None = Field(
        default=None, max_length=120, examples=[["400.00", "300.00", "320.50"]],
        description="custom amounts, one per installment, adding up to the amount due")
    freeze_penalty: bool = Field(default=False, description="stop penalty accruing while the "
                                                            "plan is active (default: it continues)")
    income: str | None = Field(default=None, examples=["8000.00"],
                               description="stated monthly income (with expenses: affordability)")
    expenses: str | None = Field(default=None, examples=["5000.00"],
                                 description="stated monthly essential expenses")
    preview: bool = Field(default=False, description="answer the schedule without recording "
                                                     "it, to read it to the borrower first")


class PlanProposalRead(BaseModel):
    plan_id: str
    case_id: str
    borrower_id: str
    status: str
    recorded: bool = Field(description="false for a preview: nothing was written")
    cadence: str
    currency: str
    total: str
    penalty_continues: bool
    max_installment: str | None = Field(
        description="the largest installment the borrower can afford; null: not stated")
    affordable: bool | None = Field(
        description="every installment within max_installment; null: affordability unknown")
    needs_supervisor: bool = Field(
        description="above what the borrower can afford, or unknown: a supervisor approves, "
                    "with a reason")
    schedule: list[ScheduleItem]


def plan_answer(plan: Plan, *, recorded: bool) -> PlanProposalRead:
    """A proposed (or previewed) plan as the caller reads it, with its affordability."""
    cap = plan.max_installment_minor
    return PlanProposalRead(
        plan_id=plan.plan_id, case_id=plan.case_id, borrower_id=plan.borrower_id,
        status=plan.status.value, recorded=recorded, cadence=plan.cadence,
        currency=plan.currency, total=format_minor(plan.total_minor, plan.currency),
        penalty_continues=plan.penalty_continues,
        max_installment=None if cap is None else format_minor(cap, plan.currency),
        affordable=None if cap is None else plan.largest_installment_minor <= cap,
        needs_supervisor=plan.needs_supervisor,
        schedule=[ScheduleItem(**item) for item in schedule_of(plan)])


def do_propose_plan(application: App, principal: Principal, payload: PlanProposal
                    ) -> PlanProposalRead:
    """Preview or propose a plan for the borrower's open case, as the caller."""
    may_open_borrower(application, principal, payload.borrower_id)
    income = (payload.income or "").strip() or None
    expenses = (payload.expenses or "").strip() or None
    if (income is None) != (expenses is None):
        raise InvalidInput("give both the monthly income and the monthly expenses, or neither: "
                           "affordability needs the two")
    plan = propose_plan(application, borrower_id=payload.borrower_id,
                        installments=payload.installments, first_on=payload.first_on,
                        cadence=payload.cadence, amounts=payload.amounts or None,
                        penalty_continues=not payload.freeze_penalty, income=income,
                        expenses=expenses, actor=principal.id, preview=payload.preview)
    return plan_answer(plan, recorded=not payload.preview)


@router.get("/plans", responses=problem_responses(401, 403, 422),
            summary="Repayment plans, by borrower and status, oldest first")
def get_plans(application: AppDep, principal: ReliefReader, borrower_id: str | None = None,
              status: Literal["proposed", "approved", "rejected", "active", "completed",
                              "broken"] | None = None) -> list[dict[str, Any]]:
    _agent_names_borrower(application, principal, borrower_id, "plans")
    with application.engine.connect() as conn:
        return find_plans(conn, borrower_id=borrower_id, status=status)


@router.get("/plans/{plan_id}", responses=problem_responses(401, 403, 404),
            summary="A plan with its schedule: each installment's date, amount, paid, status")
def get_plan(plan_id: str, application: AppDep, principal: ReliefReader) -> dict[str, Any]:
    with application.engine.connect() as conn:
        detail = plan_detail(conn, plan_id)
    _agent_names_borrower(application, principal, detail["borrower_id"], "plans")
    return detail


@router.post("/plans", status_code=201, responses=problem_responses(401, 403, 404, 422),
             summary="Propose a repayment plan (or preview its schedule) for the open case")
def post_plan(payload: PlanProposal, application: AppDep, principal: ReliefProposer,
              response: Response) -> PlanProposalRead:
    """201 with the plan recorded as proposed, for a supervisor (or an agent, within what the
    borrower can afford) to decide; 200 with `recorded: false` for a preview."""
    answer = do_propose_plan(application, principal, payload)
    if not answer.recorded:
        response.status_code = 200
    return answer


# ----- waivers ----------------------------------------------------------------------------

class WaiverRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    borrower_id: str = Field(min_length=1, max_length=64)
    component: Literal["penalty", "fee"]
    amount: str = Field(examples=["30.00"], description="at most what the case owes of it")
    reason: str = Field(min_length=3, max_length=1000, description="why; kept in the audit log")


def do_request_waiver(application: App, principal: Principal, payload: WaiverRequest
                      ) -> dict[str, Any]:
    """Ask for part of the open case's penalty or fees to be waived, as the caller."""
    may_open_borrower(application, principal, payload.borrower_id)
    waiver = request_waiver(application, borrower_id=payload.borrower_id,
                            component=payload.component, amount=payload.amount.strip(),
                            reason=payload.reason, actor=principal.id)
    with application.engine.connect() as conn:
        rows = [r for r in find_waivers(conn, borrower_id=payload.borrower_id)
                if r["waiver_id"] == waiver.waiver_id]
    return rows[0]


@router.get("/waivers", responses=problem_responses(401, 403, 422),
            summary="Waivers, by borrower and status, oldest first")
def get_waivers(application: AppDep, principal: ReliefReader, borrower_id: str | None = None,
                status: Literal["requested", "approved", "rejected"] | None = None
                ) -> list[dict[str, Any]]:
    _agent_names_borrower(application, principal, borrower_id, "waivers")
    with application.engine.connect() as conn:
        return find_waivers(conn, borrower_id=borrower_id, status=status)


@router.post("/waivers", status_code=201, responses=problem_responses(401, 403, 404, 422),
             summary="Request a waiver of penalty or fees on the open case")
def post_waiver(payload: WaiverRequest, application: AppDep, principal: ReliefProposer
                ) -> dict[str, Any]:
    return do_request_waiver(application, principal, payload)


# ----- visits -----------------------------------------------------------------------------

@router.get("/visits", responses=problem_responses(401, 403, 422),
            summary="Field visits (no personal data), newest proposal first")
def get_visits(application: AppDep,
               principal: Annotated[Principal, Depends(require_api("visit.list"))],
               status: Literal["proposed", "approved", "rejected", "slots_offered", "booked",
                               "in_progress", "visited", "cancelled"] | None = None,
               case_id: str | None = None, team: str | None = None) -> list[dict[str, Any]]:
    with application.engine.connect() as conn:
        return find_visits(conn, status=status, case_id=case_id, team=team)


class VisitRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    grounds: Literal["S5", "S6", "S7"] = Field(
        description="S5 large amount unpaid for long; S6 unreachable on every channel; S7 "
                    "repeated broken promises or refusals")
    reason: str = Field(min_length=MIN_REASON, max_length=MAX_REASON,
                        description="why a visit is needed; the supervisor decides on it")


class VisitRequestRead(BaseModel):
    visit_id: str
    case_id: str
    borrower_id: str
    grounds: str
    reason: str
    status: str
    proposed_on: str
    requested_by: str


def do_request_visit(application: App, principal: Principal, case_id: str,
                     payload: VisitRequest) -> RequestedVisit:
    """Ask for a visit on a case the caller may work; a refusal says the rule and why."""
    may_open_case(application, principal, case_id)
    return request_visit(application, case_id=case_id, grounds=payload.grounds,
                         reason=payload.reason, actor=principal.id, role=principal.role)


@router.post("/cases/{case_id}/visit-request", status_code=201,
             responses=problem_responses(401, 403, 404, 409, 422),
             summary="Ask for a field visit on a case, with the grounds and the reason")
def post_visit_request(case_id: str, payload: VisitRequest, application: AppDep,
                       principal: Annotated[Principal, Depends(require_api("visit.request"))]
                       ) -> VisitRequestRead:
    """201: a proposed visit, waiting in the supervisor's approvals. 409 `visit-open` when
    the case has an open visit (its `visit_id`), 409 `visit-refused` when a hold, a stop the
    profile applies to visits, or an active plan forbids one (`rules`, `reasons`)."""
    try:
        found = do_request_visit(application, principal, case_id, payload)
    except OpenVisitExists as exc:
        raise Problem(409, "visit-open", "A visit is already open", str(exc),
                      visit_id=exc.visit_id, visit_status=exc.status) from None
    except VisitRefused as exc:
        raise Problem(409, "visit-refused", "No visit allowed", str(exc),
                      rules=list(exc.rules), reasons=list(exc.reasons)) from None
    return VisitRequestRead(**asdict(found))
