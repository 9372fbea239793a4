"""`fairdue visit ...`, `fairdue agent ...` and `fairdue verify`: field visits from the
supervisor's approval to the record, the field agents, and the borrower's check."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

import typer

from fairdue.cli.main import DbOption, app, console, err, opened, parse_date, parse_moment

visit_app = typer.Typer(help="Field visits (S5-S14): approve, book, route, record.",
                        no_args_is_help=True)
agent_app = typer.Typer(help="Field agents: badge, team, territory, hours, capacity.",
                        no_args_is_help=True)
app.add_typer(visit_app, name="visit")
app.add_typer(agent_app, name="agent")

Actor = Annotated[str, typer.Option("--actor", help="Who does it (a staff id)")]


def _say(text: str) -> None:
    console.print(text, highlight=False, markup=False)


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


# ----- agents -----------------------------------------------------------------------------

def _city_centre(city: str) -> tuple[float, float] | None:
    from fairdue.portfolio.cities import CITIES

    for known in CITIES:
        if city in (known.name, known.name.removesuffix("市")):
            return known.lat_micro / 1_000_000, known.lon_micro / 1_000_000
    return None


@agent_app.command("add")
def agent_add(
    badge: Annotated[str, typer.Option("--badge", help="Work id printed on the badge, e.g. FA-0001")],
    name: Annotated[str, typer.Option("--name", help="Name printed on the letter")],
    team: Annotated[str, typer.Option("--team", help="Team the agent works in")],
    city: Annotated[list[str], typer.Option("--city", help="A city of the territory (repeat)")],
    home_lat: Annotated[float | None, typer.Option("--home-lat", help="Home base latitude")] = None,
    home_lon: Annotated[float | None, typer.Option("--home-lon", help="Home base longitude")] = None,
    hours: Annotated[str, typer.Option("--hours", help="Working hours, HH:MM-HH:MM")] = "09:00-18:00",
    per_day: Annotated[int, typer.Option("--visits-per-day", help="Most visits a day")] = 6,
    photo: Annotated[str | None, typer.Option(
        "--photo", help="Photo file (kept by path and SHA-256)")] = None,
    actor: Actor = "cli",
    db: DbOption = None,
) -> None:
    """Register a field agent (home base: the given point, else the first city's centre)."""
    from fairdue.domain.field_agents import FieldAgent, parse_hours
    from fairdue.domain.geo import Point
    from fairdue.errors import FairdueError
    from fairdue.services.field_agents import add_agent

    try:
        if home_lat is not None and home_lon is not None:
            home = Point(home_lat, home_lon)
        else:
            centre = _city_centre(city[0]) if city else None
            if centre is None:
                raise FairdueError(f"no known centre for {city[0] if city else 'no city'}; "
                                   "give --home-lat and --home-lon")
            home = Point(*centre)
        start, end = parse_hours(hours, what="--hours")
        agent = FieldAgent(badge, name, team, tuple(city), home, start, end, per_day)
    except FairdueError as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False)
        raise typer.Exit(2) from None
    with opened(db) as application:
        added = add_agent(application, agent, actor=actor, photo=photo)
    _say(f"agent {added.badge} {added.name} team {added.team} in {', '.join(added.cities)}, "
         f"{added.works_from:%H:%M}-{added.works_to:%H:%M}, {added.visits_per_day} visits a day")


@agent_app.command("list")
def agent_list(team: Annotated[str | None, typer.Option("--team")] = None, db: DbOption = None) -> None:
    """Field agents, by badge."""
    from fairdue.services.field_agents import agents_of

    with opened(db) as application, application.engine.connect() as conn:
        agents = agents_of(conn, team=team)
    for a in agents:
        _say(f"{a.badge}  {a.name}  {a.team}  {'|'.join(a.cities)}  "
             f"{a.works_from:%H:%M}-{a.works_to:%H:%M}  {a.visits_per_day}/day"
             f"{'' if a.active else '  inactive'}")
    if not agents:
        err.print("no field agents")


# ----- the visit's life -------------------------------------------------------------------

@visit_app.command("list")
def visit_list(
    status: Annotated[str | None, typer.Option("--status", help="proposed, approved, booked, ...")] = None,
    case: Annotated[str | None, typer.Option("--case")] = None,
    team: Annotated[str | None, typer.Option("--team")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON line per visit")] = False,
    db: DbOption = None,
) -> None:
    """Visits with their grounds, status and appointment (no personal data)."""
    from fairdue.services.visits import find_visits

    with opened(db) as application, application.engine.connect() as conn:
        rows = find_visits(conn, status=status, case_id=case, team=team)
    for r in rows:
        if as_json:
            typer.echo(_json(r))
            continue
        when = f"  {r['slot_start']:%Y-%m-%d %H:%M}Z" if r["slot_start"] else ""
        crew = f"  {r['collectors']}" if r["collectors"] else ""
        _say(f"{r['visit_id']}  {r['status']}  {r['grounds']}  {r['reason']}{when}{crew}")
    if not rows and not as_json:
        err.print("no visits")


@visit_app.command("approve")
def visit_approve(visit: str, reason: Annotated[str, typer.Option("--reason")], actor: Actor = "cli",
                  db: DbOption = None) -> None:
    """A supervisor approves a proposed visit, with the reason (audited)."""
    from fairdue.services.visits import approve_visit

    with opened(db) as application:
        approve_visit(application, visit, actor=actor, note=reason)
    _say(f"visit {visit} approved by {actor}")


@visit_app.command("reject")
def visit_reject(visit: str, reason: Annotated[str, typer.Option("--reason")], actor: Actor = "cli",
                 db: DbOption = None) -> None:
    """A supervisor rejects a proposed visit, with the reason (audited)."""
    from fairdue.services.visits import reject_visit

    with opened(db) as application:
        reject_visit(application, visit, actor=actor, note=reason)
    _say(f"visit {visit} rejected by {actor}")


@visit_app.command("cancel")
def visit_cancel(visit: str, reason: Annotated[str, typer.Option("--reason")], actor: Actor = "cli",
                 db: DbOption = None) -> None:
    """Call a visit off before it begins (the borrower is told if they knew of it)."""
    from fairdue.services.visits import cancel_visit

    with opened(db) as application:
        cancel_visit(application, visit, actor=actor, reason=reason)
    _say(f"visit {visit} cancelled")


def _span(text: str, what: str) -> tuple[datetime, datetime]:
    start, _, end = text.partition("/")
    if not end:
        err.print(f"[bold red]error:[/] {what} {text!r} must be START/END, ISO 8601 with offsets")
        raise typer.Exit(2)
    return parse_moment(start, what), parse_moment(end, what)


@visit_app.command("propose-slots")
def visit_propose_slots(
    visit: str,
    slot: Annotated[list[str] | None, typer.Option(
        "--slot", help="A time to offer, START/END (repeat); default: the configured times")] = None,
    actor: Actor = "cli",
    db: DbOption = None,
) -> None:
    """Offer the borrower appointment times by SMS (S8), inside the lawful hours."""
    from fairdue.services.visits import offer_slots

    spans = [_span(s, "--slot") for s in slot or []]
    with opened(db) as application:
        offered = offer_slots(application, visit, actor=actor, slots=spans or None)
    for number, start, end in offered:
        _say(f"{number}: {start.isoformat()} - {end.isoformat()}")


@visit_app.command("book")
def visit_book(
    visit: str,
    slot: Annotated[int | None, typer.Option("--slot", help="Number of the offered time chosen")] = None,
    at: Annotated[str | None, typer.Option("--at", help="Agreed start (ISO 8601 with offset)")] = None,
    until: Annotated[str | None, typer.Option("--until", help="Agreed end")] = None,
    via: Annotated[str, typer.Option("--via", help="How it was agreed: phone, sms, portal")] = "phone",
    place: Annotated[str | None, typer.Option("--place", help="Another place than the address")] = None,
    lat: Annotated[float | None, typer.Option("--lat")] = None,
    lon: Annotated[float | None, typer.Option("--lon")] = None,
    actor: Actor = "cli",
    db: DbOption = None,
) -> None:
    """Record the appointment the borrower agreed to; issues the collectors' letters."""
    from fairdue.services.visits import book_visit

    starts = parse_moment(at, "--at") if at else None
    ends = parse_moment(until, "--until") if until else None
    with opened(db) as application:
        booking = book_visit(application, visit, actor=actor, via=via, slot_no=slot, starts=starts,
                             ends=ends, place=place, lat=lat, lon=lon)
    _say(f"visit {visit} booked {booking.starts_at.isoformat()} - {booking.ends_at.isoformat()}, "
         f"team {booking.team}: {', '.join(booking.collectors)}")
    for c in booking.credentials:
        _say(f"  credential {c.credential_id}  badge {c.badge}  code {c.code}  "
             f"valid {c.valid_from.isoformat()} - {c.valid_to.isoformat()}")


@visit_app.command("crew")
def visit_crew(
    visit: str,
    reason: Annotated[str, typer.Option("--reason", help="Why the crew changes")],
    badge: Annotated[list[str] | None, typer.Option(
        "--badge", help="A collector of the new crew (repeat); none: chosen as at booking")] = None,
    actor: Actor = "cli",
    db: DbOption = None,
) -> None:
    """Give a booked visit another crew: the old letters stop verifying, new ones are signed."""
    from fairdue.services.visit_crews import change_crew

    with opened(db) as application:
        booking = change_crew(application, visit, actor=actor, reason=reason, badges=badge)
    _say(f"visit {visit}: crew now {', '.join(booking.collectors)} (team {booking.team}); "
         "the previous letters are revoked")
    for c in booking.credentials:
        _say(f"  credential {c.credential_id}  badge {c.badge}  code {c.code}  "
             f"valid {c.valid_from.isoformat()} - {c.valid_to.isoformat()}")


@visit_app.command("letter")
def visit_letter(credential: str, out: Annotated[str, typer.Option("--out", help="HTML file to write")],
                 db: DbOption = None) -> None:
    """Print a collector's letter of authorisation (HTML with QR code and code)."""
    from fairdue.services.verification import write_credential_letter

    with opened(db) as application:
        path = write_credential_letter(application, credential, out)
    _say(f"letter written to {path}")


@visit_app.command("route")
def visit_route(
    team: Annotated[str, typer.Option("--team")],
    day: Annotated[str, typer.Option("--date", help="YYYY-MM-DD, the lender's day")],
    time_limit: Annotated[float, typer.Option("--time-limit", help="Solver seconds")] = 2.0,
    db: DbOption = None,
) -> None:
    """Each crew's visits of the day in order, within the appointments, with distances."""
    from fairdue.services.field_agents import plan_team_routes

    on = parse_date(day, "--date")
    assert on is not None
    with opened(db) as application:
        result = plan_team_routes(application, team, on, time_limit_s=time_limit)
    for route in result.plan.routes:
        _say(f"crew {route.crew}: {len(route.legs)} visits, {route.distance_m / 1000:.1f} km")
        for leg in route.legs:
            _say(f"  {leg.arrive // 60:02d}:{leg.arrive % 60:02d}  {leg.visit_id}  "
                 f"+{leg.distance_m / 1000:.1f} km")
    for visit_id in result.plan.unrouted:
        _say(f"unrouted: {visit_id} (no order fits its window)")
    for visit_id, why in result.skipped.items():
        _say(f"skipped: {visit_id}: {why}")
    _say(f"total distance {result.plan.total_distance_m / 1000:.1f} km")


# ----- the record -------------------------------------------------------------------------

@visit_app.command("check-in")
def visit_check_in(
    visit: str,
    collector: Annotated[list[str], typer.Option("--collector", help="Badge of a collector present")],
    at: Annotated[str, typer.Option("--at")],
    lat: Annotated[float, typer.Option("--lat")],
    lon: Annotated[float, typer.Option("--lon")],
    actor: Actor = "cli",
    db: DbOption = None,
) -> None:
    """The collectors arrived (cn: two or more); a check-in far from the place is flagged."""
    from fairdue.services.visit_records import check_in

    moment = parse_moment(at, "--at")
    with opened(db) as application:
        found = check_in(application, visit, collectors=collector, at=moment, lat=lat, lon=lon,
                         actor=actor)
    distance = "unknown" if found["distance_m"] is None else f"{found['distance_m']} m"
    _say(f"checked in {visit}: {', '.join(found['collectors'])}, {distance} from the place"
         + ("  FLAGGED: far from the appointment's place" if found["flagged"] else ""))


@visit_app.command("check-out")
def visit_check_out(visit: str, at: Annotated[str, typer.Option("--at")],
                    lat: Annotated[float, typer.Option("--lat")],
                    lon: Annotated[float, typer.Option("--lon")],
                    actor: Actor = "cli", db: DbOption = None) -> None:
    """The collectors left."""
    from fairdue.services.visit_records import check_out

    with opened(db) as application:
        check_out(application, visit, at=parse_moment(at, "--at"), lat=lat, lon=lon, actor=actor)
    _say(f"checked out {visit}")


@visit_app.command("record")
def visit_record_command(
    visit: str,
    reaction: Annotated[str, typer.Option(
        "--reaction", help="cooperative, hesitant, upset, hostile, absent")],
    solution: Annotated[str, typer.Option("--solution", help="promise, plan, refusal, not_at_home")],
    follow_up_on: Annotated[str, typer.Option("--follow-up-on", help="YYYY-MM-DD")],
    follow_up_plan: Annotated[str, typer.Option("--follow-up-plan")],
    arrears_reason: Annotated[str, typer.Option("--arrears-reason", help="Why the borrower is behind")] = "",
    notes: Annotated[str, typer.Option("--notes")] = "",
    evidence: Annotated[list[str] | None, typer.Option(
        "--evidence", help="KIND:PATH, kind audio, photo, video or document (repeat)")] = None,
    at: Annotated[str | None, typer.Option("--at", help="When submitted (default now)")] = None,
    actor: Actor = "cli",
    db: DbOption = None,
) -> None:
    """Submit the visit's record (S11) with its evidence (S14); it cannot be edited after."""
    from fairdue.domain.visits import RecordContent
    from fairdue.services.evidence import add_evidence
    from fairdue.services.visit_records import submit_record

    pairs = []
    for item in evidence or []:
        kind, _, path = item.partition(":")
        if not path:
            err.print(f"[bold red]error:[/] --evidence {item!r} must be KIND:PATH")
            raise typer.Exit(2)
        pairs.append((kind, path))
    with opened(db) as application:
        content = RecordContent.from_dict({
            "reaction": reaction, "arrears_reason": arrears_reason, "solution": solution,
            "follow_up_on": follow_up_on, "follow_up_plan": follow_up_plan, "notes": notes})
        for kind, path in pairs:
            sha = add_evidence(application, visit, path, kind=kind, actor=actor)
            _say(f"evidence {kind} {sha}")
        moment = parse_moment(at, "--at") if at else application.clock.now()
        digest = submit_record(application, visit, content, actor=actor, at=moment)
    _say(f"record of {visit} submitted, sha256 {digest}")


@visit_app.command("evidence")
def visit_evidence_command(visit: str, path: str, kind: Annotated[str, typer.Option("--kind")],
                           actor: Actor = "cli", db: DbOption = None) -> None:
    """Add an evidence file to a visit (kept by SHA-256, hash audited)."""
    from fairdue.services.evidence import add_evidence

    with opened(db) as application:
        sha = add_evidence(application, visit, path, kind=kind, actor=actor)
    _say(f"evidence {kind} {sha}")


@visit_app.command("amend")
def visit_amend(
    visit: str,
    change: Annotated[list[str], typer.Option("--set", help="FIELD=VALUE (repeat)")],
    reason: Annotated[str, typer.Option("--reason")],
    actor: Actor = "cli",
    db: DbOption = None,
) -> None:
    """Amend a submitted record (the original is kept; amendments are numbered)."""
    from fairdue.services.visit_records import amend_record

    changes: dict[str, str] = {}
    for item in change:
        name, sep, value = item.partition("=")
        if not sep:
            err.print(f"[bold red]error:[/] --set {item!r} must be FIELD=VALUE")
            raise typer.Exit(2)
        changes[name.strip()] = value
    with opened(db) as application:
        number = amend_record(application, visit, changes, reason=reason, actor=actor,
                              at=application.clock.now())
    _say(f"amendment {number} of {visit} recorded")


@visit_app.command("show")
def visit_show(visit: str, db: DbOption = None) -> None:
    """The visit's record as it stands, with amendments and evidence (JSON)."""
    from fairdue.services.visit_records import visit_record

    with opened(db) as application, application.engine.connect() as conn:
        typer.echo(_json(visit_record(conn, visit)))


@visit_app.command("alerts")
def visit_alerts(status: Annotated[str | None, typer.Option("--status")] = None,
                 db: DbOption = None) -> None:
    """Alerts raised by repeated failed checks of a badge (a fake collector?)."""
    from fairdue.services.verification import find_alerts

    with opened(db) as application, application.engine.connect() as conn:
        alerts = find_alerts(conn, status=status)
    for a in alerts:
        _say(f"{a['alert_id']}  badge {a['badge']}  {a['failures']} failures since "
             f"{a['window_from']:%Y-%m-%d %H:%M}Z  {a['status']}")
    if not alerts:
        err.print("no alerts")


@visit_app.command("verify-evidence")
def visit_verify_evidence(db: DbOption = None) -> None:
    """Re-hash every evidence file and match it to the audit log; exit 1 on tampering."""
    from fairdue.services.evidence import verify_evidence

    with opened(db) as application:
        checked, problems = verify_evidence(application)
    for p in problems:
        _say(f"TAMPERED {p.visit_id} {p.sha256}: {p.problem}")
    if problems:
        raise typer.Exit(1)
    _say(f"evidence ok: {checked} file(s) match their hashes and the audit log")


# ----- the borrower's check ---------------------------------------------------------------

@app.command("verify")
def verify(
    badge: Annotated[str, typer.Option("--badge", help="Badge number on the work ID")],
    code: Annotated[str, typer.Option("--code", help="Verification code on the letter")],
    now: Annotated[str | None, typer.Option("--now", help="Check as of this time")] = None,
    db: DbOption = None,
) -> None:
    """Check a collector: exit 0 when authorised now, 1 when not (S12)."""
    from fairdue.services.verification import verify_collector

    moment = parse_moment(now, "--now") if now else None
    with opened(db) as application:
        result = verify_collector(application, badge, code, moment, source="cli")
    _say(result.message)
    if not result.verified:
        raise typer.Exit(1)


