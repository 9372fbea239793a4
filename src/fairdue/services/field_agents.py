"""Field agents: adding them, who is free on a day, and each team's routes for a day.

Routes: the team's booked visits on a local day, each fixed to its crew (the collectors
booked for it, who hold its letters of authorisation), ordered by the routing adapter
(OR-Tools, time windows) to minimise the distance driven; the plan is re-timed by the pure
`domain.routes.check_plan` before it is returned, so what is reported is what the domain
says the order costs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, insert, select

from fairdue.adapters.db.strategy_repo import as_utc, utc
from fairdue.adapters.db.tables_visits import field_agents, visits
from fairdue.bootstrap import App
from fairdue.domain.field_agents import CITY_SEPARATOR, FieldAgent, check_badge, crew_key
from fairdue.domain.geo import Point
from fairdue.domain.routes import Crew, RoutePlan, RouteProblem, Stop, check_plan
from fairdue.errors import InvalidInput, NotFound

#: Visits that take an agent's time on their day.
_BUSY = ("booked", "in_progress", "visited")


def add_agent(app: App, agent: FieldAgent, *, actor: str, photo: str | None = None) -> FieldAgent:
    """Register a field agent (audited). A photo file, when given, is kept by path and
    SHA-256, so a swapped photo is noticed."""
    if photo is not None:
        path = Path(photo)
        if not path.is_file():
            raise InvalidInput(f"photo {photo} is not a file")
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        agent = FieldAgent(agent.badge, agent.name, agent.team, agent.cities, agent.home,
                           agent.works_from, agent.works_to, agent.visits_per_day,
                           str(path.resolve()), digest, agent.active)
    now = app.clock.now()
    with app.uow(actor) as uow:
        conn = uow.connection
        if conn.execute(select(field_agents.c.badge)
                        .where(field_agents.c.badge == agent.badge)).first() is not None:
            raise InvalidInput(f"badge {agent.badge} is already registered; badges are unique")
        lat, lon = agent.home.micro
        conn.execute(insert(field_agents).values(
            badge=agent.badge, name=agent.name.strip(), team=agent.team.strip(),
            cities=CITY_SEPARATOR.join(agent.cities), home_lat_e6=lat, home_lon_e6=lon,
            works_from=f"{agent.works_from:%H:%M}", works_to=f"{agent.works_to:%H:%M}",
            visits_per_day=agent.visits_per_day, photo_path=agent.photo_path,
            photo_sha256=agent.photo_sha256, active=agent.active, added_at=as_utc(now),
            added_by=actor))
        uow.audit("FieldAgentAdded", agent.badge, {
            "team": agent.team, "cities": list(agent.cities), "visits_per_day": agent.visits_per_day,
            "hours": f"{agent.works_from:%H:%M}-{agent.works_to:%H:%M}",
            "photo_sha256": agent.photo_sha256})
        uow.commit()
    return agent


def _agent(r: Any) -> FieldAgent:
    return FieldAgent(r.badge, r.name, r.team, tuple(r.cities.split(CITY_SEPARATOR)),
                      Point.from_micro(r.home_lat_e6, r.home_lon_e6),
                      time.fromisoformat(r.works_from), time.fromisoformat(r.works_to),
                      r.visits_per_day, r.photo_path, r.photo_sha256, r.active)


def agents_of(conn: Connection, *, team: str | None = None) -> list[FieldAgent]:
    query = select(field_agents)
    if team is not None:
        query = query.where(field_agents.c.team == team)
    return [_agent(r) for r in conn.execute(query.order_by(field_agents.c.badge))]


def agent(conn: Connection, badge: str) -> FieldAgent:
    row = conn.execute(select(field_agents).where(field_agents.c.badge == check_badge(badge))).first()
    if row is None:
        raise NotFound(f"no field agent with badge {badge!r}")
    return _agent(row)


def booked_counts(conn: Connection, day: date, tz: ZoneInfo) -> dict[str, int]:
    """Visits each agent has on local day `day` in zone `tz`."""
    start = datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)
    rows = conn.execute(select(visits.c.collectors).where(
        visits.c.status.in_(_BUSY), visits.c.slot_start >= start,
        visits.c.slot_start < start + timedelta(days=1))).scalars()
    counts: dict[str, int] = {}
    for collectors in rows:
        for badge in (collectors or "").split("|"):
            if badge:
                counts[badge] = counts.get(badge, 0) + 1
    return counts


@dataclass(frozen=True)
class TeamRoutes:
    team: str
    day: date
    plan: RoutePlan
    problem: RouteProblem
    starts: dict[str, datetime]   # visit -> appointment start, for display
    skipped: dict[str, str]       # visit -> why it could not be routed (no coordinates)


def _minutes(moment: datetime, tz: ZoneInfo) -> int:
    local = moment.astimezone(tz)
    return local.hour * 60 + local.minute


def plan_team_routes(app: App, team: str, day: date, *, time_limit_s: float = 2.0) -> TeamRoutes:
    """The team's booked visits on `day` (the lender's zone) in the order each crew should
    make them, with the total distance; audited as a RoutePlanned entry."""
    from fairdue.adapters.routing import solve_routes
    from fairdue.services.visit_appointments import place_point

    tz = app.zone
    start = datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)
    duration = app.settings.visit_duration_minutes
    with app.engine.connect() as conn:
        members = {a.badge: a for a in agents_of(conn, team=team)}
        if not members:
            raise NotFound(f"no field agents in team {team!r}")
        rows = conn.execute(select(visits).where(
            visits.c.team == team, visits.c.status == "booked", visits.c.slot_start >= start,
            visits.c.slot_start < start + timedelta(days=1)).order_by(visits.c.slot_start)).mappings().all()
    stops: list[Stop] = []
    crews: dict[str, Crew] = {}
    starts: dict[str, datetime] = {}
    skipped: dict[str, str] = {}
    for row in rows:
        point = place_point(app, row)
        if point is None:
            skipped[row["visit_id"]] = "the place has no coordinates"
            continue
        badges = [b for b in (row["collectors"] or "").split("|") if b]
        key = crew_key(badges)
        if key not in crews:
            crews[key] = _crew(key, [members[b] for b in badges if b in members])
        slot_start, slot_end = utc(row["slot_start"]), utc(row["slot_end"])
        assert slot_start is not None and slot_end is not None
        earliest = _minutes(slot_start, tz)
        latest = max(earliest, _minutes(slot_end, tz) - duration)
        stops.append(Stop(row["visit_id"], point, earliest, latest, duration, key))
        starts[row["visit_id"]] = slot_start
    problem = RouteProblem(tuple(stops), tuple(crews.values()),
                           road_factor=app.settings.visit_road_factor,
                           speed_kmh=app.settings.visit_speed_kmh)
    plan = check_plan(problem, solve_routes(problem, time_limit_s=time_limit_s))
    with app.uow("routing") as uow:
        uow.audit("RoutePlanned", f"{team}@{day.isoformat()}", {
            "visits": len(stops), "routed": sum(len(r.legs) for r in plan.routes),
            "unrouted": list(plan.unrouted), "total_distance_m": plan.total_distance_m})
        uow.commit()
    return TeamRoutes(team, day, plan, problem, starts, skipped)


def _crew(key: str, members: Sequence[FieldAgent]) -> Crew:
    """A crew travels from its first member's home base, during the hours all members work,
    making at most as many visits as its busiest-limited member."""
    if not members:
        raise InvalidInput(f"crew {key} has no registered agent")
    first = min(members, key=lambda a: a.badge)
    shift_start = max(a.works_from.hour * 60 + a.works_from.minute for a in members)
    shift_end = min(a.works_to.hour * 60 + a.works_to.minute for a in members)
    return Crew(key, first.home, shift_start, shift_end, min(a.visits_per_day for a in members))
