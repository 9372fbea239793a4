"""Field agents and who goes on a visit.

A field agent carries a work id (badge number, 工作证) the borrower can check (S12), works
in a team, in some cities (territory), from a home base, within working hours, and makes at
most so many visits a day. A visit is made by a crew of agents from one team whose territory
covers the borrower's city, who all work at the appointment's time and still have room that
day; `cn` wants at least two (CN-06). Pure: the agents and their bookings come in as values.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import time

from fairdue.domain.geo import Point, haversine_m
from fairdue.errors import InvalidInput

_BADGE = re.compile(r"^[A-Z0-9][A-Z0-9-]{2,31}$")
MAX_VISITS_PER_DAY = 20
CITY_SEPARATOR = "|"


def normalise_badge(text: str) -> str:
    """The badge as stored: trimmed, upper case (borrowers type it in any case)."""
    return text.strip().upper()


def check_badge(text: str) -> str:
    """A valid badge number, normalised; InvalidInput saying the form otherwise."""
    badge = normalise_badge(text)
    if not _BADGE.match(badge):
        raise InvalidInput(f"badge {text!r} must be 3 to 32 letters, digits or '-', starting "
                           "with a letter or digit, e.g. FA-0001")
    return badge


def parse_hours(text: str, *, what: str = "working hours") -> tuple[time, time]:
    """`HH:MM-HH:MM` as (from, to), from before to."""
    try:
        start_text, end_text = text.split("-")
        start, end = time.fromisoformat(start_text.strip()), time.fromisoformat(end_text.strip())
    except ValueError:
        raise InvalidInput(f"{what} {text!r} must look like 09:00-18:00") from None
    if not start < end:
        raise InvalidInput(f"{what} {text!r}: the start must be before the end")
    return start, end


@dataclass(frozen=True, slots=True)
class FieldAgent:
    badge: str
    name: str
    team: str
    cities: tuple[str, ...]
    home: Point
    works_from: time = time(9, 0)
    works_to: time = time(18, 0)
    visits_per_day: int = 6
    photo_path: str | None = None
    photo_sha256: str | None = None
    active: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "badge", check_badge(self.badge))
        if not self.name.strip():
            raise InvalidInput(f"agent {self.badge}: a name is needed (it is printed on the letter)")
        if not self.team.strip():
            raise InvalidInput(f"agent {self.badge}: a team is needed")
        cities = tuple(c.strip() for c in self.cities if c.strip())
        if not cities:
            raise InvalidInput(f"agent {self.badge}: give at least one city of the territory")
        if any(CITY_SEPARATOR in c for c in cities):
            raise InvalidInput(f"agent {self.badge}: a city name may not contain {CITY_SEPARATOR!r}")
        object.__setattr__(self, "cities", cities)
        if not self.works_from < self.works_to:
            raise InvalidInput(f"agent {self.badge}: working hours must start before they end")
        if not 1 <= self.visits_per_day <= MAX_VISITS_PER_DAY:
            raise InvalidInput(f"agent {self.badge}: visits per day must be 1 to "
                               f"{MAX_VISITS_PER_DAY}, not {self.visits_per_day}")
        if self.photo_sha256 is not None and not re.fullmatch(r"[0-9a-f]{64}", self.photo_sha256):
            raise InvalidInput(f"agent {self.badge}: the photo hash must be 64 hex digits")

    def covers(self, city: str) -> bool:
        wanted = city.strip().casefold()
        return any(c.casefold() == wanted for c in self.cities)

    def works_during(self, start: time, end: time) -> bool:
        """True when [start, end) of one local day lies within the agent's hours."""
        return self.works_from <= start and end <= self.works_to


def choose_crew(agents: Iterable[FieldAgent], *, city: str, starts: time, ends: time,
                booked: Mapping[str, int], size: int, near: Point | None = None
                ) -> tuple[FieldAgent, ...]:
    """The crew for one visit: `size` active agents of one team, all covering `city`, all at
    work from `starts` to `ends` (local), each with fewer visits booked that day (`booked`,
    by badge) than their daily limit. Among the teams that can send a crew, the one with the
    least work booked goes (ties: team name); within it the least-booked agents, then the
    ones living nearest `near`, then by badge. InvalidInput explains when nobody can go."""
    if size < 1:
        raise InvalidInput(f"a crew has at least one agent, not {size}")
    active = [a for a in agents if a.active]
    local = [a for a in active if a.covers(city)]
    if not local:
        raise InvalidInput(f"no active field agent covers {city}; add one with "
                           f"`fairdue agent add --city {city} ...`")
    at_work = [a for a in local if a.works_during(starts, ends)]
    free = [a for a in at_work if booked.get(a.badge, 0) < a.visits_per_day]
    teams: dict[str, list[FieldAgent]] = {}
    for agent in free:
        teams.setdefault(agent.team, []).append(agent)
    able = {t: members for t, members in teams.items() if len(members) >= size}
    if not able:
        raise InvalidInput(
            f"no team has {size} agents free in {city} from {starts:%H:%M} to {ends:%H:%M}: "
            f"{len(local)} cover the city, {len(at_work)} work then, {len(free)} have room "
            "that day; choose another time or add agents")

    def load(agent: FieldAgent) -> tuple[int, float, str]:
        distance = haversine_m(agent.home, near) if near is not None else 0.0
        return booked.get(agent.badge, 0), distance, agent.badge

    def team_load(team: str) -> tuple[int, str]:
        return sum(booked.get(a.badge, 0) for a in able[team]), team

    team = min(able, key=team_load)
    return tuple(sorted(able[team], key=load)[:size])


def crew_key(badges: Sequence[str]) -> str:
    """One name for a crew, the same whatever order its badges come in."""
    return "+".join(sorted(badges))
