"""`fairdue plan`, `fairdue grace`, `fairdue waiver`: relief agreed with a borrower.

Who acts is named by `--actor` (their id, as `fairdue promise add` takes it) and `--role`
(agent, supervisor, manager, admin, ...): the role decides what they may approve.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from fairdue.cli.main import DbOption, app, console, err, opened, parse_date, parse_moment

plan_app = typer.Typer(help="Repayment plans (分期): propose, approve or reject, follow.",
                       no_args_is_help=True)
grace_app = typer.Typer(help="Grace periods (宽限期): collection contact paused for some days.",
                        no_args_is_help=True)
waiver_app = typer.Typer(help="Waivers (减免) of penalty or fees, approved within each role's limit.",
                         no_args_is_help=True)
app.add_typer(plan_app, name="plan")
app.add_typer(grace_app, name="grace")
app.add_typer(waiver_app, name="waiver")

ActorOption = Annotated[str, typer.Option("--actor", help="Who acts (a staff member's id)")]
RoleOption = Annotated[str, typer.Option(
    "--role", help="Their role: agent, field_agent, supervisor, manager, admin or compliance")]
ReasonOption = Annotated[str | None, typer.Option("--reason", help="Why; kept in the audit log")]
AtOption = Annotated[str | None, typer.Option(
    "--at", help="When, ISO 8601 with an offset (default now)")]
JsonOption = Annotated[bool, typer.Option("--json", help="JSON lines instead of text")]


def _echo_json(row: dict[str, Any]) -> None:
    typer.echo(json.dumps(row, ensure_ascii=False, default=str))


def _print_schedule(schedule: list[dict[str, Any]], currency: str) -> None:
    console.print("  seq  due on      amount      paid        status", highlight=False)
    for item in schedule:
        console.print(f"  {item['seq']:>3}  {item['due_on']!s:<10}  {item['amount']:>10}  "
                      f"{item['paid']:>10}  {item['status']}", highlight=False, markup=False)
    total = sum((_decimal(i["amount"]) for i in schedule), start=_decimal("0"))
    console.print(f"  total {total} {currency}", highlight=False)


def _decimal(text: str) -> Any:
    from decimal import Decimal

    return Decimal(text)


@plan_app.command("propose")
def propose(
    borrower: Annotated[str, typer.Option("--borrower", help="Borrower id, e.g. B00000001")],
    installments: Annotated[int, typer.Option("--installments", help="How many installments")],
    first: Annotated[str, typer.Option("--first", help="First installment's date, YYYY-MM-DD")],
    cadence: Annotated[str, typer.Option("--cadence", help="monthly, biweekly or weekly")] = "monthly",
    amounts: Annotated[str | None, typer.Option(
        "--amounts", help="Custom amounts, comma-separated, adding up to the amount due")] = None,
    freeze_penalty: Annotated[bool, typer.Option(
        "--freeze-penalty/--penalty-continues",
        help="Stop penalty accruing while the plan is active (default: it continues)")] = False,
    income: Annotated[str | None, typer.Option("--income", help="Stated monthly income")] = None,
    expenses: Annotated[str | None, typer.Option("--expenses", help="Stated monthly expenses")] = None,
    preview: Annotated[bool, typer.Option(
        "--preview", help="Show the schedule to the borrower without recording it")] = False,
    actor: ActorOption = "cli",
    at: AtOption = None,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Draw up a plan over the open case's amount due and show its schedule."""
    from fairdue.services.plans import propose_plan, schedule_of

    first_on = parse_date(first, "--first")
    assert first_on is not None
    moment = parse_moment(at, "--at") if at else None
    custom = [a.strip() for a in amounts.split(",") if a.strip()] if amounts else None
    with opened(db) as application:
        plan = propose_plan(application, borrower_id=borrower, installments=installments,
                            first_on=first_on, cadence=cadence, amounts=custom,
                            penalty_continues=not freeze_penalty, income=income,
                            expenses=expenses, actor=actor, at=moment, preview=preview)
    schedule = schedule_of(plan)
    if as_json:
        _echo_json({"plan_id": plan.plan_id, "case_id": plan.case_id, "status": plan.status.value,
                    "recorded": not preview, "needs_supervisor": plan.needs_supervisor,
                    "schedule": schedule})
        return
    what = "preview of plan (not recorded)" if preview else "plan"
    console.print(f"{what} {plan.plan_id} on case {plan.case_id}: {len(schedule)} {plan.cadence} "
                  f"installments, penalty {'continues' if plan.penalty_continues else 'frozen'}",
                  highlight=False, markup=False)
    _print_schedule(schedule, plan.currency)
    if plan.needs_supervisor:
        why = ("affordability unknown (no --income/--expenses)" if plan.max_installment_minor is None
               else "an installment is above what the borrower can afford")
        console.print(f"  needs a supervisor's approval with a reason: {why}", highlight=False,
                      markup=False)


def _decided(plan: Any, verb: str) -> None:
    console.print(f"plan {plan.plan_id} {verb} by {plan.decided_by} ({plan.decided_role}); "
                  f"status {plan.status.value}", highlight=False, markup=False)


@plan_app.command("approve")
def approve(
    plan_id: Annotated[str, typer.Argument(help="The plan's id (PLN-...)")],
    actor: ActorOption = "cli",
    role: RoleOption = "agent",
    reason: ReasonOption = None,
    at: AtOption = None,
    db: DbOption = None,
) -> None:
    """Approve a proposed plan; it becomes active and payments from now count toward it."""
    from fairdue.services.plans import approve_plan

    moment = parse_moment(at, "--at") if at else None
    with opened(db) as application:
        plan = approve_plan(application, plan_id=plan_id, actor=actor, role=role, reason=reason,
                            at=moment)
    _decided(plan, "approved")


@plan_app.command("reject")
def reject(
    plan_id: Annotated[str, typer.Argument(help="The plan's id (PLN-...)")],
    actor: ActorOption = "cli",
    role: RoleOption = "agent",
    reason: ReasonOption = None,
    at: AtOption = None,
    db: DbOption = None,
) -> None:
    """Reject a proposed plan, with the reason."""
    from fairdue.services.plans import reject_plan

    moment = parse_moment(at, "--at") if at else None
    with opened(db) as application:
        plan = reject_plan(application, plan_id=plan_id, actor=actor, role=role, reason=reason,
                           at=moment)
    _decided(plan, "rejected")


@plan_app.command("list")
def list_plans(
    borrower: Annotated[str | None, typer.Option("--borrower", help="Only this borrower")] = None,
    status: Annotated[str | None, typer.Option(
        "--status", help="proposed, approved, rejected, active, completed or broken")] = None,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Plans, oldest first, with their status and what was paid toward them."""
    from fairdue.services.plans import find_plans

    with opened(db) as application, application.engine.connect() as conn:
        rows = find_plans(conn, borrower_id=borrower, status=status)
    if as_json:
        for row in rows:
            _echo_json(row)
        return
    if not rows:
        err.print("no plans")
        return
    for r in rows:
        console.print(f"{r['plan_id']}  {r['borrower_id']}  {r['case_id']}  {r['status']}  "
                      f"{r['installments']}x {r['cadence']}  total {r['total']} {r['currency']}  "
                      f"paid {r['paid']}  by {r['proposed_by']}", highlight=False, markup=False)


@plan_app.command("show")
def show(
    plan_id: Annotated[str, typer.Argument(help="The plan's id (PLN-...)")],
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """One plan and its schedule: each installment's date, amount, paid and status."""
    from fairdue.services.plans import plan_detail

    with opened(db) as application, application.engine.connect() as conn:
        detail = plan_detail(conn, plan_id)
    if as_json:
        _echo_json(detail)
        return
    decided = (f"; decided by {detail['decided_by']} ({detail['decided_role']}): "
               f"{detail['decision_reason'] or '-'}" if detail["decided_by"] else "")
    console.print(f"plan {detail['plan_id']} on case {detail['case_id']} ({detail['borrower_id']}): "
                  f"{detail['status']}, total {detail['total']} {detail['currency']}, paid "
                  f"{detail['paid']}{decided}", highlight=False, markup=False)
    _print_schedule(detail["schedule"], detail["currency"])


@grace_app.command("grant")
def grant(
    borrower: Annotated[str, typer.Option("--borrower", help="Borrower id, e.g. B00000001")],
    days: Annotated[int, typer.Option("--days", help="How many days, today the first")],
    reason: ReasonOption = None,
    freeze_penalty: Annotated[bool, typer.Option(
        "--freeze-penalty", help="No penalty accrues during the grace period")] = False,
    actor: ActorOption = "cli",
    at: AtOption = None,
    db: DbOption = None,
) -> None:
    """Pause collection contact for some days, and optionally freeze penalty."""
    from fairdue.services.grace import grant_grace

    moment = parse_moment(at, "--at") if at else None
    with opened(db) as application:
        grace = grant_grace(application, borrower_id=borrower, days=days, reason=reason,
                            freeze_penalty=freeze_penalty, actor=actor, at=moment)
    frozen = ", penalty frozen" if grace.freeze_penalty else ""
    console.print(f"grace {grace.grace_id} for {grace.borrower_id}: no collection contact "
                  f"{grace.starts_on} to {grace.ends_on}{frozen}", highlight=False, markup=False)


@waiver_app.command("request")
def request(
    borrower: Annotated[str, typer.Option("--borrower", help="Borrower id, e.g. B00000001")],
    component: Annotated[str, typer.Option("--component", help="penalty or fee")],
    amount: Annotated[str, typer.Option("--amount", help="Amount to waive, e.g. 30.00")],
    reason: ReasonOption = None,
    actor: ActorOption = "cli",
    at: AtOption = None,
    db: DbOption = None,
) -> None:
    """Ask for part of the open case's penalty or fees to be waived."""
    from fairdue.services.waivers import request_waiver

    moment = parse_moment(at, "--at") if at else None
    with opened(db) as application:
        waiver = request_waiver(application, borrower_id=borrower, component=component,
                                amount=amount, reason=reason, actor=actor, at=moment)
    console.print(f"waiver {waiver.waiver_id} on case {waiver.case_id}: {waiver.amount.amount} "
                  f"{waiver.amount.currency} of {waiver.component.value}, requested",
                  highlight=False, markup=False)


def _waiver_decided(waiver: Any) -> None:
    console.print(f"waiver {waiver.waiver_id} {waiver.status.value} by {waiver.decided_by} "
                  f"({waiver.decided_role}): {waiver.amount.amount} {waiver.amount.currency} of "
                  f"{waiver.component.value}", highlight=False, markup=False)


@waiver_app.command("approve")
def approve_waiver_cmd(
    waiver_id: Annotated[str, typer.Argument(help="The waiver's id (WVR-...)")],
    actor: ActorOption = "cli",
    role: RoleOption = "agent",
    reason: ReasonOption = None,
    at: AtOption = None,
    db: DbOption = None,
) -> None:
    """Approve a waiver within your role's limit; what the borrower owes falls at once."""
    from fairdue.services.waivers import approve_waiver

    moment = parse_moment(at, "--at") if at else None
    with opened(db) as application:
        waiver = approve_waiver(application, waiver_id=waiver_id, actor=actor, role=role,
                                reason=reason, at=moment)
    _waiver_decided(waiver)


@waiver_app.command("reject")
def reject_waiver_cmd(
    waiver_id: Annotated[str, typer.Argument(help="The waiver's id (WVR-...)")],
    actor: ActorOption = "cli",
    role: RoleOption = "agent",
    reason: ReasonOption = None,
    at: AtOption = None,
    db: DbOption = None,
) -> None:
    """Reject a requested waiver, with the reason."""
    from fairdue.services.waivers import reject_waiver

    moment = parse_moment(at, "--at") if at else None
    with opened(db) as application:
        waiver = reject_waiver(application, waiver_id=waiver_id, actor=actor, role=role,
                               reason=reason, at=moment)
    _waiver_decided(waiver)


@waiver_app.command("list")
def list_waivers(
    borrower: Annotated[str | None, typer.Option("--borrower", help="Only this borrower")] = None,
    status: Annotated[str | None, typer.Option(
        "--status", help="requested, approved or rejected")] = None,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Waivers, oldest first, with who decided them and why."""
    from fairdue.services.waivers import find_waivers

    with opened(db) as application, application.engine.connect() as conn:
        rows = find_waivers(conn, borrower_id=borrower, status=status)
    if as_json:
        for row in rows:
            _echo_json(row)
        return
    if not rows:
        err.print("no waivers")
        return
    for r in rows:
        decided = (f"  {r['decided_by']} ({r['decided_role']}): {r['decision_reason']}"
                   if r["decided_by"] else "")
        console.print(f"{r['waiver_id']}  {r['borrower_id']}  {r['case_id']}  {r['component']} "
                      f"{r['amount']} {r['currency']}  {r['status']}  asked by {r['requested_by']}: "
                      f"{r['reason']}{decided}", highlight=False, markup=False)
