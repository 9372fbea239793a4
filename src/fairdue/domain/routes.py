"""A day's field visits as a routing problem, and what makes a route plan valid.

Each crew (the agents going together) leaves its home base at the start of its working day,
drives to its visits in some order, spends the visit's duration at each, arriving within the
appointment's window (waiting if early), and goes home by the end of the day. The solver
(an adapter) chooses the order and, for visits not yet given a crew, the crew, minimising
the distance driven. This module holds the problem, the answer, and `check_plan`, which
recomputes a plan's times and distances from the problem alone, so any solver's answer can
be verified. Times are minutes since local midnight of the day planned. Pure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from fairdue.domain.geo import Point, road_m, travel_minutes
from fairdue.errors import InvalidInput


@dataclass(frozen=True, slots=True)
class Stop:
    """One visit: where, the window the arrival must fall in, how long it lasts, and the
    crew it is fixed to (None: any crew)."""

    visit_id: str
    at: Point
    earliest: int
    latest: int
    duration: int = 45
    crew: str | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.earliest <= self.latest <= 24 * 60:
            raise InvalidInput(f"visit {self.visit_id}: window {self.earliest}-{self.latest} "
                               "is not within one day (minutes since midnight)")
        if self.duration < 0:
            raise InvalidInput(f"visit {self.visit_id}: a visit's duration cannot be negative")


@dataclass(frozen=True, slots=True)
class Crew:
    """Agents who travel together: from home base `start`, working `shift_start` to
    `shift_end`, at most `capacity` visits."""

    key: str
    start: Point
    shift_start: int
    shift_end: int
    capacity: int

    def __post_init__(self) -> None:
        if not 0 <= self.shift_start < self.shift_end <= 24 * 60:
            raise InvalidInput(f"crew {self.key}: shift {self.shift_start}-{self.shift_end} "
                               "is not within one day")
        if self.capacity < 1:
            raise InvalidInput(f"crew {self.key}: capacity must be at least 1")


@dataclass(frozen=True, slots=True)
class RouteProblem:
    stops: tuple[Stop, ...]
    crews: tuple[Crew, ...]
    road_factor: float = 1.3
    speed_kmh: float = 25.0

    def __post_init__(self) -> None:
        if not self.crews and self.stops:
            raise InvalidInput("there are visits to route but no crew to make them")
        keys = [c.key for c in self.crews]
        if len(set(keys)) != len(keys):
            raise InvalidInput("each crew must appear once")
        ids = [s.visit_id for s in self.stops]
        if len(set(ids)) != len(ids):
            raise InvalidInput("each visit must appear once")
        unknown = {s.crew for s in self.stops if s.crew is not None} - set(keys)
        if unknown:
            raise InvalidInput(f"visits are fixed to unknown crew(s): {', '.join(sorted(unknown))}")

    def distance(self, a: Point, b: Point) -> int:
        return road_m(a, b, self.road_factor)

    def minutes(self, a: Point, b: Point) -> int:
        return travel_minutes(self.distance(a, b), self.speed_kmh)


@dataclass(frozen=True, slots=True)
class Leg:
    visit_id: str
    arrive: int          # minutes since midnight, after any wait
    distance_m: int      # from the previous place


@dataclass(frozen=True, slots=True)
class Route:
    crew: str
    legs: tuple[Leg, ...]
    return_m: int

    @property
    def distance_m(self) -> int:
        return sum(leg.distance_m for leg in self.legs) + self.return_m


@dataclass(frozen=True, slots=True)
class RoutePlan:
    routes: tuple[Route, ...]
    unrouted: tuple[str, ...] = field(default=())

    @property
    def total_distance_m(self) -> int:
        return sum(r.distance_m for r in self.routes)


def timed_route(problem: RouteProblem, crew: Crew, order: Sequence[str]) -> Route:
    """The route of `crew` visiting `order`: arrival times (waiting for a window to open)
    and distances, computed from the problem; InvalidInput when it breaks a window, the
    crew's shift or capacity, or a visit fixed to another crew."""
    stops = {s.visit_id: s for s in problem.stops}
    if len(order) > crew.capacity:
        raise InvalidInput(f"crew {crew.key} has {len(order)} visits, more than its {crew.capacity}")
    here, now = crew.start, crew.shift_start
    legs: list[Leg] = []
    for visit_id in order:
        stop = stops[visit_id]
        if stop.crew is not None and stop.crew != crew.key:
            raise InvalidInput(f"visit {visit_id} is fixed to crew {stop.crew}, not {crew.key}")
        arrive = max(now + problem.minutes(here, stop.at), stop.earliest)
        if arrive > stop.latest:
            raise InvalidInput(f"crew {crew.key} reaches {visit_id} at minute {arrive}, after "
                               f"its window closes at {stop.latest}")
        legs.append(Leg(visit_id, arrive, problem.distance(here, stop.at)))
        here, now = stop.at, arrive + stop.duration
    back = problem.distance(here, crew.start)
    if legs and now + problem.minutes(here, crew.start) > crew.shift_end:
        raise InvalidInput(f"crew {crew.key} gets home after its shift ends")
    return Route(crew.key, tuple(legs), back if legs else 0)


def check_plan(problem: RouteProblem, plan: RoutePlan) -> RoutePlan:
    """Recompute `plan` from the problem (times, distances), checking every visit is routed
    once or listed unrouted; the recomputed plan, or InvalidInput naming what is wrong."""
    crews = {c.key: c for c in problem.crews}
    seen: list[str] = []
    routes = []
    for route in plan.routes:
        if route.crew not in crews:
            raise InvalidInput(f"the plan uses unknown crew {route.crew}")
        order = [leg.visit_id for leg in route.legs]
        seen += order
        routes.append(timed_route(problem, crews[route.crew], order))
    seen += plan.unrouted
    expected = sorted(s.visit_id for s in problem.stops)
    if sorted(seen) != expected:
        raise InvalidInput("the plan does not route every visit exactly once")
    return RoutePlan(tuple(routes), plan.unrouted)
