"""The `fairdue` command: parse, call one service, print; no business rule lives here."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from fairdue.cli.compliance import app as compliance_app
from fairdue.cli.policy import app as policy_app
from fairdue.errors import FairdueError

if TYPE_CHECKING:  # the database and settings layers load only for commands that use them
    from fairdue.bootstrap import App
    from fairdue.settings import Settings

app = typer.Typer(
    help="fairdue: fair, lawful collection of overdue consumer micro-loans.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
audit_app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)
borrower_app = typer.Typer(help="Borrowers (personal data masked unless asked for).",
                           no_args_is_help=True)
app.add_typer(audit_app, name="audit")
app.add_typer(borrower_app, name="borrower")
app.add_typer(compliance_app, name="compliance")
app.add_typer(policy_app, name="policy")

# Soft wrap: a long line is one line, whatever the width, so a script (or a test) reading
# the output never finds a sentence cut in two; the terminal wraps it for a person.
console = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

DbOption = Annotated[
    str | None,
    typer.Option("--db", help="Database URL (default FAIRDUE_DATABASE_URL or sqlite:///fairdue.db)"),
]


def settings_for(db: str | None) -> Settings:
    from fairdue.settings import load_settings

    return load_settings(dict(os.environ), database_url=db)


@contextmanager
def opened(db: str | None, *, check_schema: bool = True) -> Iterator[App]:
    """The wired application for one command; any fairdue error ends it with exit code 2."""
    from fairdue.bootstrap import build_app

    application: App | None = None
    try:
        application = build_app(settings_for(db), check_schema=check_schema)
        yield application
    except FairdueError as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False)
        raise typer.Exit(2) from None
    finally:
        if application is not None:
            application.close()


def progress_bar() -> Progress:
    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=err, transient=False, disable=not err.is_terminal and os.environ.get("CI") == "true",
    )


def parse_date(value: str | None, what: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        err.print(f"[bold red]error:[/] {what} {value!r} is not a date YYYY-MM-DD")
        raise typer.Exit(2) from None


def parse_moment(value: str, what: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        err.print(f"[bold red]error:[/] {what} {value!r} must be ISO 8601 with an offset, "
                  "e.g. 2026-07-01T10:00:00+08:00")
        raise typer.Exit(2)
    return moment


# Commands live in their own modules; importing them registers them on `app`.
from fairdue.cli import (  # noqa: E402,F401
    commands_books,
    commands_contact,
    commands_grace,
    commands_ops,
    commands_plan,
    commands_promise,
    commands_report,
    commands_serve,
    commands_templates,
    commands_user,
    commands_visit,
    commands_worker,
)

if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
