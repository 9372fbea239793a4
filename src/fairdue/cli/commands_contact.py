"""`fairdue contact`: record what an attempt achieved; restrict, lift and shape contact."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import typer

from fairdue.cli.main import DbOption, app, console, err, opened, parse_date, parse_moment

if TYPE_CHECKING:
    from fairdue.bootstrap import App

contact_app = typer.Typer(
    help="Contacts: record outcomes made outside fairdue, restrictions and preferences.",
    no_args_is_help=True,
)
app.add_typer(contact_app, name="contact")

BorrowerOption = Annotated[str, typer.Option("--borrower", help="Borrower id, e.g. B00000001")]
ActorOption = Annotated[str, typer.Option("--actor", help="Who records it (an agent's id)")]


def _moment(at: str | None, application: App) -> datetime:
    return parse_moment(at, "--at") if at is not None else application.clock.now()


@contact_app.command("record")
def record(
    borrower: BorrowerOption,
    channel: Annotated[str, typer.Option(
        "--channel", help="call, sms, email, push, visit, voicemail_ringless")],
    outcome: Annotated[str, typer.Option(
        "--outcome",
        help="conversation, voicemail, no_answer, busy, not_connected, delivered, failed, "
             "or a disposition: ptp, paid, refused, dispute, hardship, wrong_party, third_party",
    )],
    at: Annotated[str | None, typer.Option("--at", help="When, ISO 8601 with offset (default now)")] = None,
    note: Annotated[str | None, typer.Option(
        "--note", help="Free text, screened for prohibited content")] = None,
    party: Annotated[str, typer.Option("--party", help="debtor or contact (a third party)")] = "debtor",
    actor: ActorOption = "cli",
    db: DbOption = None,
) -> None:
    """Record an attempt made outside fairdue; the borrower's facts change at once.
    Exit 0 when lawful, 1 when the guard finds it broke a rule (it is kept as evidence)."""
    from fairdue.services.contacts import record_contact

    with opened(db) as application:
        moment = _moment(at, application)
        result = record_contact(application, borrower_id=borrower, channel=channel,
                                outcome=outcome, at=moment, note=note, party=party,
                                actor=actor)
    case = f" on case {result.case_id}" if result.case_id else " (no open case)"
    if result.duplicate:
        console.print(f"already recorded: {result.attempt_id}{case}")
    else:
        console.print(f"recorded {result.attempt_id}{case}")
    if not result.lawful:
        err.print(f"[bold red]this attempt broke[/] {', '.join(result.rules)}: "
                  + " ".join(result.reasons), highlight=False)
        raise typer.Exit(1)


@contact_app.command("restrict")
def restrict(
    borrower: BorrowerOption,
    kind: Annotated[str, typer.Option(
        "--kind", help="cease, dispute, opt_out, complaint, hardship, grace, do_not_contact")],
    channel: Annotated[str | None, typer.Option(
        "--channel", help="Only this channel (opt_out needs one)")] = None,
    until: Annotated[str | None, typer.Option("--until", help="Last day it holds, YYYY-MM-DD")] = None,
    at: Annotated[str | None, typer.Option("--at", help="From when, ISO 8601 (default now)")] = None,
    note: Annotated[str | None, typer.Option("--note")] = None,
    actor: ActorOption = "cli",
    db: DbOption = None,
) -> None:
    """Put a restriction on contact in force until it is lifted (or until --until)."""
    from fairdue.services.contacts import restrict_contact

    until_on = parse_date(until, "--until")
    with opened(db) as application:
        restriction_id = restrict_contact(
            application, borrower_id=borrower, kind=kind, channel=channel,
            at=_moment(at, application), until_on=until_on, note=note, actor=actor,
        )
    console.print(f"{kind} in force for {borrower}: {restriction_id}")


@contact_app.command("lift")
def lift(
    borrower: BorrowerOption,
    kind: Annotated[str, typer.Option("--kind", help="The kind of restriction to lift")],
    channel: Annotated[str | None, typer.Option("--channel")] = None,
    at: Annotated[str | None, typer.Option("--at", help="From when, ISO 8601 (default now)")] = None,
    actor: ActorOption = "cli",
    db: DbOption = None,
) -> None:
    """Lift a restriction: contact resumes as the policy and the profile allow."""
    from fairdue.services.contacts import lift_restriction

    with opened(db) as application:
        count = lift_restriction(application, borrower_id=borrower, kind=kind, channel=channel,
                                 at=_moment(at, application), actor=actor)
    console.print(f"lifted {count} {kind} restriction(s) for {borrower}")


@contact_app.command("prefer")
def prefer(
    borrower: BorrowerOption,
    channels: Annotated[str | None, typer.Option(
        "--channels", help="Preferred channels, e.g. sms,email")] = None,
    agreed: Annotated[str | None, typer.Option(
        "--agreed", help="A time the borrower agreed to be contacted at, HH:MM-HH:MM")] = None,
    actor: ActorOption = "cli",
    db: DbOption = None,
) -> None:
    """Record the borrower's contact preferences."""
    from fairdue.services.contacts import set_preferences

    window: tuple[str, str] | None = None
    if agreed is not None:
        parts = agreed.split("-")
        if len(parts) != 2:
            err.print(f"[bold red]error:[/] --agreed {agreed!r} must be HH:MM-HH:MM")
            raise typer.Exit(2)
        window = (parts[0], parts[1])
    with opened(db) as application:
        set_preferences(application, borrower_id=borrower,
                        channels=channels.split(",") if channels else None, agreed=window,
                        actor=actor)
    console.print(f"preferences saved for {borrower}")


case_app = typer.Typer(help="Cases: what happened to one, in order.", no_args_is_help=True)
app.add_typer(case_app, name="case")


@case_app.command("timeline")
def case_timeline_command(
    case_id: Annotated[str, typer.Argument(help="Case id, e.g. C-B00000001-20260701")],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON line per entry")] = False,
    db: DbOption = None,
) -> None:
    """Every event, decision, contact, attempt, payment and restriction of a case, oldest
    first (no personal data)."""
    import json

    from fairdue.services.timeline import case_timeline

    with opened(db) as application, application.engine.connect() as conn:
        timeline = case_timeline(conn, case_id)
    if as_json:
        for entry in timeline.entries:
            typer.echo(json.dumps({"at": entry.at.isoformat(), "kind": entry.kind,
                                   "summary": entry.summary, **entry.details},
                                  ensure_ascii=False, default=str))
        return
    console.print(f"case {timeline.case_id} of {timeline.borrower_id}: {timeline.status}")
    for entry in timeline.entries:
        console.print(f"{entry.at:%Y-%m-%d %H:%M} UTC  {entry.kind:<11} {entry.summary}",
                      highlight=False, markup=False)
