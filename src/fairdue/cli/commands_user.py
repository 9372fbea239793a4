"""`fairdue user add`: create a staff account; the password is read from standard input."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from fairdue.cli.main import DbOption, app, console, err, opened

user_app = typer.Typer(help="Staff accounts for the web application.", no_args_is_help=True)
app.add_typer(user_app, name="user")


@user_app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="User name: lower-case letters, digits, . _ -")],
    role: Annotated[str, typer.Option(
        "--role", help="agent, field_agent, supervisor, compliance or admin")],
    badge: Annotated[str | None, typer.Option(
        "--badge", help="field_agent only: the badge registered with `fairdue agent add`")] = None,
    db: DbOption = None,
) -> None:
    """Create a staff user; the password is the first line of standard input (never an
    argument, which would end up in the shell's history and the process list)."""
    from fairdue.services.staff import add_user

    if sys.stdin.isatty():
        import getpass

        password = getpass.getpass("password: ")
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        err.print("[bold red]error:[/] no password on standard input; e.g. "
                  "printf '%s\\n' \"$PASSWORD\" | fairdue user add NAME --role agent")
        raise typer.Exit(2)
    with opened(db) as application:
        user = add_user(application, name, role, password, badge=badge)
    linked = f", badge {user.badge}" if user.badge else ""
    console.print(f"added {user.username} ({user.role}{linked})", highlight=False)
