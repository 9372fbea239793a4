"""`fairdue promise`: take a promise to pay, and list promises and what became of them."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from fairdue.cli.main import DbOption, app, console, err, opened, parse_date

promise_app = typer.Typer(help="Promises to pay: kept or broken by the payments that follow.",
                          no_args_is_help=True)
app.add_typer(promise_app, name="promise")


@promise_app.command("add")
def add(
    borrower: Annotated[str, typer.Option("--borrower", help="Borrower id, e.g. B00000001")],
    amount: Annotated[str, typer.Option("--amount", help="Amount promised, e.g. 500.00")],
    due: Annotated[str, typer.Option("--due", help="Date it is promised by, YYYY-MM-DD")],
    attempt: Annotated[str | None, typer.Option(
        "--attempt", help="The contact it was made on (the id `fairdue contact record` printed)")] = None,
    actor: Annotated[str, typer.Option("--actor", help="Who took it (an agent's id)")] = "cli",
    db: DbOption = None,
) -> None:
    """Take a promise to pay for the borrower's open case."""
    from fairdue.services.promises import make_promise

    due_on = parse_date(due, "--due")
    assert due_on is not None
    with opened(db) as application:
        promise = make_promise(application, borrower_id=borrower, amount=amount, due_on=due_on,
                               attempt_id=attempt, actor=actor)
    console.print(f"promise {promise.promise_id} on case {promise.case_id}: "
                  f"{promise.amount.amount} {promise.amount.currency} by {promise.due_on.isoformat()}",
                  highlight=False)


@promise_app.command("list")
def list_promises(
    borrower: Annotated[str | None, typer.Option("--borrower", help="Only this borrower")] = None,
    status: Annotated[str | None, typer.Option(
        "--status", help="pending, kept, broken or cancelled")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON line per promise")] = False,
    db: DbOption = None,
) -> None:
    """Promises, oldest first, with their status and what was paid toward them."""
    from fairdue.services.promises import find_promises

    with opened(db) as application, application.engine.connect() as conn:
        rows = find_promises(conn, borrower_id=borrower, status=status)
    if as_json:
        for row in rows:
            typer.echo(json.dumps(row, ensure_ascii=False, default=str))
        return
    if not rows:
        err.print("no promises")
        return
    for r in rows:
        settled = f" on {r['settled_on']}" if r["settled_on"] else ""
        console.print(
            f"{r['promise_id']}  {r['borrower_id']}  {r['case_id']}  {r['amount']} {r['currency']} "
            f"by {r['due_on']}  {r['status']}{settled}  paid {r['paid']}  by {r['made_by']}",
            highlight=False, markup=False,
        )
