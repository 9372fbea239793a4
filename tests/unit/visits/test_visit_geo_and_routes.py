"""Distances and routes as worked examples: the haversine figures anyone can check on a
map, a road factor, travel minutes, a route timed by hand, and the solver finding the order
a person would."""

from __future__ import annotations

import pytest

from fairdue.adapters.routing import solve_routes
from fairdue.domain.geo import Point, haversine_m, road_m, travel_minutes
from fairdue.domain.routes import Crew, Route, RoutePlan, RouteProblem, Stop, check_plan, timed_route
from fairdue.errors import InvalidInput


def test_one_degree_of_latitude_is_111_195_metres() -> None:
    # 2 * pi * 6371008.8 m / 360 = 111,195.08 m
    assert haversine_m(Point(0, 0), Point(1, 0)) == pytest.approx(111_195.08, abs=0.01)


def test_beijing_to_shanghai_is_about_1067_km_as_the_crow_flies() -> None:
    assert haversine_m(Point(39.9042, 116.4074), Point(31.2304, 121.4737)) == pytest.approx(
        1_067_312, abs=1)


def test_road_distance_is_the_straight_line_times_the_factor_in_whole_metres() -> None:
    a, b = Point(0, 0), Point(1, 0)
    assert road_m(a, b) == 111_195
    assert road_m(a, b, 1.3) == 144_554        # 111,195.08 * 1.3 = 144,553.6
    with pytest.raises(InvalidInput, match="road factor"):
        road_m(a, b, 0.9)


def test_travel_minutes_round_up() -> None:
    assert travel_minutes(10_000, 30) == 20     # 10 km at 30 km/h
    assert travel_minutes(10_001, 30) == 21
    assert travel_minutes(0, 30) == 0


def test_bad_coordinates_are_refused() -> None:
    with pytest.raises(InvalidInput, match="latitude 91"):
        Point(91, 0)


# One degree of longitude at the equator, straight line (factor 1), 60 km/h: 1,112 minutes
# would be absurd, so the examples use 0.01 degree steps: 1,111.95 m -> 1,112 m, 2 minutes.
HOME = Point(0, 0)


def _at(step: int) -> Point:
    return Point(0, step * 0.01)


def _problem(*stops: Stop, crews: tuple[Crew, ...] | None = None) -> RouteProblem:
    return RouteProblem(stops, crews or (Crew("A", HOME, 8 * 60, 18 * 60, 10),),
                        road_factor=1.0, speed_kmh=60)


def test_a_route_timed_by_hand() -> None:
    problem = _problem(Stop("v1", _at(1), 9 * 60, 10 * 60, 30), Stop("v2", _at(2), 9 * 60, 12 * 60, 30))
    route = timed_route(problem, problem.crews[0], ["v1", "v2"])
    # leave 08:00, 2 min to v1 -> 08:02, wait for 09:00; 30 min there; 2 min to v2 -> 09:32.
    assert [(leg.visit_id, leg.arrive, leg.distance_m) for leg in route.legs] == [
        ("v1", 540, 1112), ("v2", 572, 1112)]
    assert route.return_m == 2224 and route.distance_m == 4448


def test_a_route_that_misses_a_window_is_refused() -> None:
    problem = _problem(Stop("v1", _at(1), 9 * 60, 9 * 60, 120), Stop("v2", _at(2), 9 * 60, 10 * 60, 30))
    with pytest.raises(InvalidInput, match="after its window closes"):
        timed_route(problem, problem.crews[0], ["v1", "v2"])   # v2 reached 11:02


def test_the_solver_visits_points_on_a_line_in_order() -> None:
    stops = tuple(Stop(f"v{i}", _at(i), 9 * 60, 17 * 60, 10) for i in (3, 1, 4, 2))
    plan = check_plan(_problem(*stops), solve_routes(_problem(*stops), time_limit_s=1))
    assert [leg.visit_id for leg in plan.routes[0].legs] in (["v1", "v2", "v3", "v4"],
                                                             ["v4", "v3", "v2", "v1"])
    assert plan.total_distance_m == 8 * 1112   # out 4 steps and back 4 steps
    assert plan.unrouted == ()


def test_windows_decide_the_order_when_distance_would_not() -> None:
    stops = (Stop("far", _at(2), 9 * 60, 9 * 60 + 15, 20), Stop("near", _at(1), 11 * 60, 12 * 60, 20))
    plan = check_plan(_problem(*stops), solve_routes(_problem(*stops), time_limit_s=1))
    assert [leg.visit_id for leg in plan.routes[0].legs] == ["far", "near"]


def test_visits_fixed_to_a_crew_stay_with_it_and_what_cannot_fit_is_reported() -> None:
    crews = (Crew("A", HOME, 8 * 60, 18 * 60, 10), Crew("B", _at(10), 8 * 60, 18 * 60, 1))
    stops = (Stop("b1", _at(1), 9 * 60, 17 * 60, 10, crew="B"),    # far from B's base, still B's
             Stop("b2", _at(9), 9 * 60, 17 * 60, 10, crew="B"),    # B has room for one only
             Stop("x", _at(2), 9 * 60, 17 * 60, 10))
    problem = _problem(*stops, crews=crews)
    plan = check_plan(problem, solve_routes(problem, time_limit_s=1))
    by_crew = {r.crew: [leg.visit_id for leg in r.legs] for r in plan.routes}
    assert by_crew["A"] == ["x"]
    assert len(by_crew["B"]) == 1 and len(plan.unrouted) == 1
    assert set(by_crew["B"]) | set(plan.unrouted) == {"b1", "b2"}


def test_check_plan_refuses_a_plan_that_loses_a_visit() -> None:
    problem = _problem(Stop("v1", _at(1), 9 * 60, 10 * 60, 30))
    with pytest.raises(InvalidInput, match="exactly once"):
        check_plan(problem, RoutePlan((Route("A", (), 0),)))
