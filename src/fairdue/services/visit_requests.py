"""A field visit asked for by staff: an agent or a supervisor who worked the case proposes one.

The daily run proposes visits from the policy (S5, S6, S7: `services.visits.sync_candidates`);
an agent sometimes knows what the policy cannot see (the borrower stalls on every call, S7;
the address is the only way left to reach them, S6). `request_visit` makes the very visit
candidate the daily run would: a `proposed` row of the visits table naming its grounds and
reason, which waits in the supervisor's approvals like any proposal and goes on through the
same states (docs/visits.md). The requester and their reason are in the event and the audit
log, so the supervisor and an auditor see who asked and why.

A request is refused, saying which rule and why, when the visit could not lawfully be made:

- at most one open visit per case (`OpenVisitExists`, as the partial unique index says);
- a hold in force (complaint, hardship, grace, do-not-contact: CN-12 / US-14) or a stop the
  profile's guard applies to a visit (a dispute, a cease, an opt-out of visits; under `cn`
  the CN-06 crew of at least two is assumed, as the daily run assumes it);
- an active repayment plan (S13): the plan is the answer a visit would seek, and the daily
  run would cancel the visit at once.

Only the lasting restrictions are judged, at the next lawful time of day in the borrower's
zone: a visit is a proposal, made days later at an agreed time, so today's call count or
the hour of the request says nothing about it (the appointment is checked again when booked).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from fairdue.adapters.db import strategy_repo as repo
from fairdue.adapters.db.tables import borrowers, cases
from fairdue.adapters.db.tables_plans import plans
from fairdue.adapters.db.tables_visits import OPEN_VISIT_STATUSES, visits
from fairdue.bootstrap import App
from fairdue.domain.compliance.engine import zone
from fairdue.domain.compliance.guard import new_ledger
from fairdue.domain.compliance.model import Attempt, Channel, Decision, Party
from fairdue.domain.contact_holds import hold_refusal
from fairdue.domain.contact_schedule import next_allowed, window_for, window_rule
from fairdue.domain.ledger import business_date
from fairdue.domain.plans import PlanStatus
from fairdue.domain.visits import GROUNDS, Visit, VisitProposed
from fairdue.errors import InvalidInput, InvalidTransition, NotFound
from fairdue.services.guard_feed import feed_guard, number_key
from fairdue.services.visit_store import min_collectors

#: The priority the default policy gives each ground's proposal (policies/default.yaml), so a
#: requested visit sorts among the daily run's proposals as theirs would.
PRIORITY = {"S5": 60, "S6": 50, "S7": 40}
#: The rule a refusal for an active repayment plan names (seed S13: a plan on track pauses
#: collection; `close_visits_of_planned_cases` would cancel the visit).
PLAN_RULE = "S13"
MIN_REASON = 10
MAX_REASON = 1000


class OpenVisitExists(InvalidTransition):
    """The case already has an open visit: at most one per case."""

    def __init__(self, case_id: str, visit_id: str, status: str) -> None:
        super().__init__(f"case {case_id} already has visit {visit_id} ({status}); at most one "
                         "visit is open per case: let the supervisor decide it, or cancel it "
                         "first")
        self.visit_id = visit_id
        self.status = status


class VisitRefused(InvalidTransition):
    """A visit to this borrower may not be proposed now: the rules and the reasons why."""

    def __init__(self, case_id: str, rules: tuple[str, ...], reasons: tuple[str, ...]) -> None:
        super().__init__(f"no visit may be proposed for case {case_id} ({', '.join(rules)}): "
                         + " ".join(reasons))
        self.rules = rules
        self.reasons = reasons


@dataclass(frozen=True)
class RequestedVisit:
    visit_id: str
    case_id: str
    borrower_id: str
    grounds: str
    reason: str
    status: str
    proposed_on: str
    requested_by: str


def visit_verdict(app: App, borrower_id: str, at: datetime) -> Decision:
    """May a visit to the borrower be proposed at `at`? The holds, the guard's lasting stops
    for a visit (judged at the next lawful minute, with the profile's crew), nothing else."""
    profile = app.strategy.profile
    with app.engine.connect() as conn:
        tz_name = conn.execute(select(borrowers.c.timezone)
                               .where(borrowers.c.borrower_id == borrower_id)).scalar()
        if tz_name is None:
            raise NotFound(f"no borrower {borrower_id!r}")
        tz = zone(tz_name)
        day = at.astimezone(tz).date()
        in_force = [r for r in repo.restrictions_of(conn, [borrower_id], day).get(borrower_id, [])
                    if r.started_at <= at]
    held = hold_refusal({r.kind for r in in_force}, profile)
    if held is not None:
        return held
    when = next_allowed(at, (tz,), window_for(profile.parameters))
    if when is None:
        return Decision(False, (window_rule(profile.parameters),),
                        ("There is no lawful time of day for a visit in the borrower's zone.",))
    guard = new_ledger(profile)
    feed_guard(guard, borrower_id, tz, in_force, (), None, day)
    verdict: Decision = guard.judge_planned(Attempt(
        at=when, channel=Channel.VISIT, debtor=borrower_id, party=Party.DEBTOR,
        to=number_key(borrower_id, Channel.VISIT.value), collectors=min_collectors(app)))
    return verdict


def request_visit(app: App, *, case_id: str, grounds: str, reason: str, actor: str,
                  role: str) -> RequestedVisit:
    """Propose a field visit on an open case, for the supervisor to decide; refused with the
    rule and why when the visit could not lawfully be made, 409 when one is open already."""
    ground = grounds.strip().upper()
    if ground not in GROUNDS:
        raise InvalidInput(f"name the grounds for a visit: {', '.join(GROUNDS)} (S5 large and "
                           "long, S6 unreachable, S7 repeated refusals or broken promises), "
                           f"not {grounds!r}")
    text = " ".join(reason.split())
    if len(text) < MIN_REASON:
        raise InvalidInput(f"say why a visit is needed, in at least {MIN_REASON} characters: the "
                           "supervisor decides on it")
    if len(text) > MAX_REASON:
        raise InvalidInput(f"the reason is {len(text)} characters long; keep it under "
                           f"{MAX_REASON}")
    now = app.clock.now()
    with app.engine.connect() as conn:
        case = conn.execute(select(cases.c.case_id, cases.c.borrower_id, cases.c.status)
                            .where(cases.c.case_id == case_id)).first()
    if case is None:
        raise NotFound(f"no case {case_id!r}; your queue lists your cases")
    if case.status != "open":
        raise InvalidTransition(f"case {case_id} is {case.status}; a visit is proposed only for "
                                "an open case")
    verdict = visit_verdict(app, case.borrower_id, now)
    if not verdict.allowed:
        raise VisitRefused(case_id, verdict.rules, verdict.reasons)
    on = business_date(now, app.zone)
    with app.uow(actor) as uow:
        conn = uow.connection
        uow.write_lock()
        # Not the daily run's `V-<case>-<date>`, which a proposal the run makes later that
        # day (this one decided by then) must still be free to take; numbered, since a
        # request rejected may be followed by another the same day.
        prefix = f"V-{case_id}-{on:%Y%m%d}-R"
        earlier = conn.execute(select(func.count()).select_from(visits).where(
            visits.c.case_id == case_id,
            visits.c.visit_id.startswith(prefix, autoescape=True))).scalar_one()
        visit = Visit(f"{prefix}{earlier + 1}", case_id, ground,
                      f"{ground} requested by {actor}: {text}")
        open_visit = conn.execute(select(visits.c.visit_id, visits.c.status).where(
            visits.c.case_id == case_id, visits.c.status.in_(OPEN_VISIT_STATUSES))).first()
        if open_visit is not None:
            raise OpenVisitExists(case_id, open_visit.visit_id, open_visit.status)
        active = conn.execute(select(plans.c.plan_id).where(
            plans.c.case_id == case_id, plans.c.status == PlanStatus.ACTIVE.value)).scalar()
        if active is not None:
            raise VisitRefused(case_id, (PLAN_RULE,), (
                f"Repayment plan {active} is active: the plan is what a visit would seek, and "
                "an active plan calls any visit off.",))
        try:
            conn.execute(visits.insert().values(
                visit_id=visit.visit_id, case_id=case_id, borrower_id=case.borrower_id,
                contact_id=None, grounds=ground, reason=visit.reason, priority=PRIORITY[ground],
                status=visit.status.value, proposed_on=on, created_at=repo.as_utc(now),
                updated_at=repo.as_utc(now)))
        except IntegrityError:  # another request won the race for the case's one open visit
            raise OpenVisitExists(case_id, "(proposed a moment ago)", "proposed") from None
        uow.record([VisitProposed(visit.visit_id, case_id, ground, visit.reason, on)])
        uow.audit("VisitRequested", visit.visit_id, {
            "case_id": case_id, "grounds": ground, "reason": text, "requested_by": actor,
            "role": role})
        uow.commit()
    return RequestedVisit(visit.visit_id, case_id, case.borrower_id, ground, visit.reason,
                          visit.status.value, on.isoformat(), actor)
