"""Commands for operators: audit verification, borrower look-up, and the demo."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from fairdue.cli.main import DbOption, app, audit_app, borrower_app, console, err, opened


@audit_app.command("verify")
def audit_verify(db: DbOption = None) -> None:
    """Check the audit log's hash chain; report the first altered or missing entry."""
    from fairdue.adapters.audit import verify_audit

    with opened(db) as application, application.engine.connect() as conn:
        result = verify_audit(conn)
    if result.ok:
        console.print(f"audit log intact: {result.entries_checked} entries verified")
        return
    err.print(f"[bold red]audit log broken[/] at entry {result.first_bad_seq}: {result.problem}")
    raise typer.Exit(1)


@borrower_app.command("show")
def borrower_show(
    borrower_id: Annotated[str, typer.Argument()],
    unmask: Annotated[bool, typer.Option("--unmask", help="Show personal data in clear (audited)")] = False,
    role: Annotated[str | None, typer.Option("--role", help="Your role, for --unmask")] = None,
    reason: Annotated[str | None, typer.Option("--reason", help="Why, for --unmask")] = None,
    actor: Annotated[str, typer.Option("--actor", help="Who is reading")] = "cli",
    db: DbOption = None,
) -> None:
    """Show a borrower, masked unless --unmask (with a role and a reason, audited)."""
    from fairdue.services.borrowers import show_borrower

    with opened(db) as application:
        record = show_borrower(application, borrower_id, unmask=unmask, actor=actor, role=role,
                               reason=reason)
    console.print_json(json.dumps(record, ensure_ascii=False))


@app.command()
def demo(
    folder: Annotated[str, typer.Option("--dir", help="The demo's own folder (replaced)")] = "fairdue-demo",
    loans: Annotated[int, typer.Option("--loans", min=100)] = 20_000,
    days: Annotated[int, typer.Option("--days", min=1, max=365)] = 90,
    seed: Annotated[int, typer.Option("--seed")] = 2026,
    serve: Annotated[bool, typer.Option(
        "--serve/--no-serve", help="Start the web application on the result at the end")] = True,
    port: Annotated[int, typer.Option("--port", min=0, max=65535)] = 8000,
) -> None:
    """Simulate a generated book through N days (borrowers, agents, the real daily run, guard
    and outbox), write the report, then serve the web application on it with one demo login
    per role; see docs/simulation.md."""
    from pathlib import Path

    from rich.table import Table

    from fairdue.bootstrap import build_app
    from fairdue.cli.commands_report import print_simulation, stage_ticker
    from fairdue.cli.main import progress_bar, settings_for
    from fairdue.portfolio.generate import DEFAULT_AS_OF
    from fairdue.services.demo import prepare, run_demo

    root = Path(folder)
    prepare(root)
    db = f"sqlite:///{root / 'fairdue.db'}"
    application = build_app(settings_for(db), check_schema=False)
    try:
        with progress_bar() as bar:
            result = run_demo(application, root, loans=loans, days=days, seed=seed,
                              end=DEFAULT_AS_OF, progress=stage_ticker(bar))
    finally:
        application.close()
    summary = result.summary
    print_simulation(summary)
    planned = Table("channel", "status", "contacts", title="contacts the policy planned")
    for channel, status, count in summary.contacts_by_status:
        planned.add_row(channel, status, str(count))
    console.print(planned)
    console.print(f"messages sent are files in {root / 'outbox'} (the file sink; see docs/channels.md)")
    if summary.rejected_rows:
        err.print(f"{summary.rejected_rows} rows were rejected on import; see `fairdue import`")
    console.print(f"the report: {result.report}")
    logins = Table("user", "role", "password", title="demo logins (a demo: not for real use)")
    for login in result.logins:
        logins.add_row(login.username, login.role, login.password)
    console.print(logins)
    if not serve:
        console.print(f"explore it: fairdue serve --db {db}  (then http://127.0.0.1:{port}/)")
        return
    import os

    from fairdue.cli.commands_serve import serve as serve_command

    for channel in ("SMS", "EMAIL", "PUSH"):  # sign-in codes land beside the demo's messages
        os.environ.setdefault(f"FAIRDUE_{channel}_URL", f"file://{root / 'outbox'}")
    console.print(f"staff sign in at http://127.0.0.1:{port}/login; borrowers at "
                  f"http://127.0.0.1:{port}/portal/login (their code is a file in {root / 'outbox'})",
                  highlight=False)
    serve_command(host="127.0.0.1", port=port, db=db)
