"""`fairdue grace request|approve|reject|list`: a borrower's request for a grace period, as
the portal and the approvals page handle it, from the command line (a borrower who asked on
the phone; a supervisor deciding in a batch script). `fairdue grace grant` grants outright."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from fairdue.cli.commands_plan import (
    ActorOption,
    AtOption,
    JsonOption,
    ReasonOption,
    RoleOption,
    _echo_json,
    grace_app,
)
from fairdue.cli.main import DbOption, console, err, opened, parse_moment


def _said(asked: Any) -> None:
    console.print(f"grace request {asked.request_id} for {asked.borrower_id}: {asked.days} days, "
                  f"{asked.status.value}", highlight=False, markup=False)


@grace_app.command("request")
def request_cmd(
    borrower: Annotated[str, typer.Option("--borrower", help="Borrower id, e.g. B00000001")],
    days: Annotated[int, typer.Option("--days", help="How many days they ask for")],
    reason: ReasonOption = None,
    actor: ActorOption = "cli",
    at: AtOption = None,
    db: DbOption = None,
) -> None:
    """Record a borrower's request for a grace period; a supervisor decides it."""
    from fairdue.services.grace_requests import request_grace

    moment = parse_moment(at, "--at") if at else None
    with opened(db) as application:
        _said(request_grace(application, borrower_id=borrower, days=days, reason=reason,
                            actor=actor, at=moment))


@grace_app.command("approve")
def approve_cmd(
    request_id: Annotated[str, typer.Argument(help="The request's id (GRQ-...)")],
    days: Annotated[int | None, typer.Option(
        "--days", help="Days granted (default: all those asked; never more)")] = None,
    freeze_penalty: Annotated[bool, typer.Option(
        "--freeze-penalty", help="No penalty accrues during the grace period")] = False,
    actor: ActorOption = "cli",
    role: RoleOption = "supervisor",
    reason: ReasonOption = None,
    at: AtOption = None,
    db: DbOption = None,
) -> None:
    """Approve a grace request: the grace is granted at once (a supervisor or above)."""
    from fairdue.services.grace_requests import approve_grace_request

    moment = parse_moment(at, "--at") if at else None
    with opened(db) as application:
        _said(approve_grace_request(application, request_id=request_id, actor=actor, role=role,
                                    reason=reason, days=days, freeze_penalty=freeze_penalty,
                                    at=moment))


@grace_app.command("reject")
def reject_cmd(
    request_id: Annotated[str, typer.Argument(help="The request's id (GRQ-...)")],
    actor: ActorOption = "cli",
    role: RoleOption = "supervisor",
    reason: ReasonOption = None,
    at: AtOption = None,
    db: DbOption = None,
) -> None:
    """Reject a grace request with the reason the borrower will read."""
    from fairdue.services.grace_requests import reject_grace_request

    moment = parse_moment(at, "--at") if at else None
    with opened(db) as application:
        _said(reject_grace_request(application, request_id=request_id, actor=actor, role=role,
                                   reason=reason, at=moment))


@grace_app.command("list")
def list_cmd(
    borrower: Annotated[str | None, typer.Option("--borrower", help="Only this borrower")] = None,
    status: Annotated[str | None, typer.Option(
        "--status", help="requested, approved, rejected or withdrawn")] = None,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Grace requests, oldest first, with the grace each approval granted."""
    from fairdue.services.grace_requests import find_grace_requests

    with opened(db) as application, application.engine.connect() as conn:
        rows = find_grace_requests(conn, borrower_id=borrower, status=status)
    if as_json:
        for row in rows:
            _echo_json(row)
        return
    if not rows:
        err.print("no grace requests")
        return
    for r in rows:
        granted = f"  {r['starts_on']} to {r['ends_on']}" if r["grace_id"] else ""
        console.print(f"{r['request_id']}  {r['borrower_id']}  {r['days']} days  {r['status']}"
                      f"{granted}  by {r['requested_by']}  {r['reason']}",
                      highlight=False, markup=False)
