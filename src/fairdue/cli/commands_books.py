"""Commands on the lender's books: init, generate, import, pay, run-day, export."""

from __future__ import annotations

import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from fairdue.cli.main import (
    DbOption,
    app,
    console,
    err,
    opened,
    parse_date,
    parse_moment,
    progress_bar,
)
from fairdue.errors import FairdueError


@app.command()
def init(db: DbOption = None) -> None:
    """Create or migrate the database, and create the key file if there is none."""
    from fairdue.adapters.crypto import create_key_file
    from fairdue.adapters.db.migrate import upgrade

    with opened(db, check_schema=False) as application:
        before, after = upgrade(application.engine)
        if before == after:
            console.print(f"database {application.db_label} is up to date (revision {after})")
        else:
            console.print(f"database {application.db_label} migrated from {before or 'empty'} to {after}")
        key_path = application.settings.resolved_key_file()
        if key_path.exists():
            console.print(f"key file {key_path} kept")
        else:
            create_key_file(key_path)
            console.print(f"created key file {key_path.resolve()} (keep it safe and backed up: "
                          "without it personal data cannot be read; set FAIRDUE_KEY_FILE to move it)")


@app.command()
def generate(
    out: Annotated[Path, typer.Option("--out", help="Folder for the CSV files")],
    loans: Annotated[int, typer.Option("--loans", min=1, help="How many loans")] = 1000,
    seed: Annotated[int, typer.Option("--seed", help="Same seed, same files")] = 1,
    as_of: Annotated[str | None, typer.Option("--as-of", help="Portfolio date YYYY-MM-DD")] = None,
) -> None:
    """Generate a realistic micro-loan portfolio as CSV files."""
    from fairdue.portfolio.generate import DEFAULT_AS_OF, generate_portfolio

    day = parse_date(as_of, "--as-of") or DEFAULT_AS_OF
    with progress_bar() as bar:
        tasks: dict[str, object] = {}

        def tick(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)  # type: ignore[arg-type]

        try:
            summary = generate_portfolio(out, loans=loans, seed=seed, as_of=day, progress=tick)
        except FairdueError as exc:
            err.print(f"[bold red]error:[/] {exc}")
            raise typer.Exit(2) from None
    console.print(f"wrote {summary.borrowers} borrowers, {summary.loans} loans, "
                  f"{summary.installments} installments, {summary.payments} payments to {out}")


@app.command("import")
def import_(
    directory: Annotated[Path, typer.Argument(help="Folder with borrowers, loans, installments, payments")],
    db: DbOption = None,
    max_errors: Annotated[int, typer.Option(help="How many bad rows to print")] = 50,
) -> None:
    """Import borrowers, loans with schedules and payments (.csv or .parquet)."""
    from fairdue.services.importing import import_portfolio

    with opened(db) as application, progress_bar() as bar:
        tasks: dict[str, object] = {}

        def tick(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(f"importing {stage}", total=total)
            bar.update(tasks[stage], completed=done, total=total)  # type: ignore[arg-type]

        report = import_portfolio(application, directory, progress=tick)
    table = Table("file", "read", "added", "unchanged", "updated", "rejected")
    for name, c in report.counts.items():
        table.add_row(name, str(c.read), str(c.added), str(c.unchanged), str(c.updated), str(c.rejected))
    console.print(table)
    for problem in report.errors[:max_errors]:
        err.print(f"rejected {problem}", highlight=False, markup=False)
    if len(report.errors) > max_errors:
        err.print(f"... and {len(report.errors) - max_errors} more rejected rows")
    if report.errors:
        raise typer.Exit(1)


@app.command()
def pay(
    loan: Annotated[str, typer.Option("--loan", help="Loan id")],
    amount: Annotated[str, typer.Option("--amount", help="Decimal amount, e.g. 150.00")],
    at: Annotated[str | None, typer.Option("--at", help="When paid, ISO 8601 with offset")] = None,
    channel: Annotated[str, typer.Option("--channel")] = "manual",
    payment_id: Annotated[str | None, typer.Option("--id", help="Payment id (default: new)")] = None,
    db: DbOption = None,
) -> None:
    """Post one payment; the borrower's case is cured at once when nothing is overdue."""
    from fairdue.services.payments import PaymentRequest, post_payment

    paid_at = parse_moment(at, "--at") if at else datetime.now(UTC)
    with opened(db) as application:
        result = post_payment(application, PaymentRequest(
            payment_id=payment_id or f"PAY-{uuid.uuid4().hex[:16]}", loan_id=loan, amount=amount,
            paid_at=paid_at, channel=channel,
        ), actor="cli")
    if result.already_posted:
        console.print(f"payment {result.payment_id} was already posted; nothing changed")
        return
    console.print(f"posted {result.payment_id}: {result.amount} {result.currency} to loan "
                  f"{result.loan_id}; DPD now {result.loan_dpd}, amount due {result.loan_amount_due}"
                  + (f", {result.to_credit} kept as credit" if result.to_credit != "0.00" else "")
                  + ("; case cured" if result.case_cured else ""))


@app.command("run-day")
def run_day(
    on: Annotated[
        str | None, typer.Option("--date", help="Business date (default today, lender's zone)")
    ] = None,
    workers: Annotated[int, typer.Option(
        "--workers", min=1,
        help="Processes sharing the run's partitions (PostgreSQL); on SQLite, the writer "
             "and N-1 helpers working out a share of each partition")] = 1,
    db: DbOption = None,
) -> None:
    """The daily run: penalty, DPD, buckets and cases, then the policy's decisions and the
    contacts they plan; catches up missed dates in order."""
    from fairdue.adapters.db.strategy_repo import planned_on
    from fairdue.services.daily_run import run_days

    with opened(db) as application:
        day = parse_date(on, "--date") or application.clock.today(application.zone)
        with progress_bar() as bar:
            tasks: dict[object, object] = {}

            def tick(d: object, done: int, total: int) -> None:
                if d not in tasks:
                    tasks[d] = bar.add_task(f"run {d}", total=total)
                bar.update(tasks[d], completed=done)  # type: ignore[arg-type]

            result = run_days(application, through=day, progress=tick, workers=workers)
        with application.engine.connect() as conn:
            plans = {d.business_date: planned_on(conn, d.business_date)
                     for d in result.days if not d.skipped}
    for d in result.days:
        if d.skipped:
            console.print(f"{d.business_date}: already run; nothing to do")
        else:
            made, by_status = plans[d.business_date]
            contacts = ", ".join(f"{n} {status}" for status, n in sorted(by_status.items()))
            console.print(f"{d.business_date}: {d.loans_touched} loans past due, "
                          f"{d.cases_opened} cases opened, {d.cases_cured} cured; "
                          f"{made} decisions: {contacts or 'no contact'}")


@app.command()
def export(
    what: Annotated[str, typer.Argument(
        help="cases, loans, payments, events, decisions, contacts, promises or plans")],
    fmt: Annotated[str, typer.Option("--format", help="jsonl or csv")] = "jsonl",
    out: Annotated[Path | None, typer.Option("--out", help="File (default standard output)")] = None,
    db: DbOption = None,
) -> None:
    """Export records as JSON lines or CSV; amounts are decimal strings."""
    from fairdue.services.export import write_export

    with opened(db) as application, application.engine.connect() as conn:
        if out is None:
            count = write_export(conn, what, fmt, sys.stdout)
        else:
            with out.open("w", encoding="utf-8", newline="") as handle:
                count = write_export(conn, what, fmt, handle)
    err.print(f"exported {count} {what}")
