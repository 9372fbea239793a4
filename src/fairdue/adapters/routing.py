"""The route solver: OR-Tools' vehicle routing with time windows, behind one function.

Nodes 0..C-1 are the crews' home bases (each crew starts and ends at its own), then one node
per visit. Arc cost is the road distance in metres; a time dimension (minutes since local
midnight) carries travel time plus the visit's duration, each visit's window on it, each
crew's shift on its start and end; a count dimension caps visits per crew; a visit fixed to
a crew may only be made by it; a visit that fits nowhere is dropped at a large penalty and
reported unrouted rather than making the whole day infeasible. The domain checks the answer
(`domain.routes.check_plan`); nothing of OR-Tools leaks past this module.
"""

from __future__ import annotations

from ortools.constraint_solver import pywrapcp, routing_enums_pb2

from fairdue.domain.geo import Point
from fairdue.domain.routes import Leg, Route, RoutePlan, RouteProblem, timed_route

#: Dropping a visit must cost more than any detour a day could need (metres).
_DROP_PENALTY = 10_000_000


def solve_routes(problem: RouteProblem, *, time_limit_s: float = 2.0) -> RoutePlan:
    """An order of visits per crew minimising the distance driven within every window."""
    crews, stops = problem.crews, problem.stops
    if not stops:
        return RoutePlan(tuple(Route(c.key, (), 0) for c in crews))
    points: list[Point] = [c.start for c in crews] + [s.at for s in stops]
    n, k = len(points), len(crews)
    distance = [[problem.distance(a, b) for b in points] for a in points]
    travel = [[problem.minutes(a, b) for b in points] for a in points]
    service = [0] * k + [s.duration for s in stops]

    manager = pywrapcp.RoutingIndexManager(n, k, list(range(k)), list(range(k)))
    routing = pywrapcp.RoutingModel(manager)

    def arc(i: int, j: int) -> int:
        return distance[int(manager.IndexToNode(i))][int(manager.IndexToNode(j))]

    def transit(i: int, j: int) -> int:
        a, b = int(manager.IndexToNode(i)), int(manager.IndexToNode(j))
        return service[a] + travel[a][b]

    routing.SetArcCostEvaluatorOfAllVehicles(routing.RegisterTransitCallback(arc))
    time_cb = routing.RegisterTransitCallback(transit)
    routing.AddDimension(time_cb, 24 * 60, 24 * 60, False, "time")
    clock = routing.GetDimensionOrDie("time")
    count_cb = routing.RegisterUnaryTransitCallback(lambda i: 0 if manager.IndexToNode(i) < k else 1)
    routing.AddDimensionWithVehicleCapacity(count_cb, 0, [c.capacity for c in crews], True, "count")
    crew_no = {c.key: v for v, c in enumerate(crews)}
    for offset, stop in enumerate(stops):
        index = manager.NodeToIndex(k + offset)
        clock.CumulVar(index).SetRange(stop.earliest, stop.latest)
        if stop.crew is not None:
            # Only its crew (or nobody: -1, dropped). SetAllowedVehiclesForIndex's binding
            # rejects every Python sequence in this OR-Tools release; the variable does not.
            routing.VehicleVar(index).SetValues([-1, crew_no[stop.crew]])
        routing.AddDisjunction([index], _DROP_PENALTY)
    for v, crew in enumerate(crews):
        clock.CumulVar(routing.Start(v)).SetRange(crew.shift_start, crew.shift_end)
        clock.CumulVar(routing.End(v)).SetRange(crew.shift_start, crew.shift_end)
        routing.AddVariableMinimizedByFinalizer(clock.CumulVar(routing.Start(v)))

    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PARALLEL_CHEAPEST_INSERTION
    params.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    params.time_limit.FromMilliseconds(max(1, int(time_limit_s * 1000)))
    solution = routing.SolveWithParameters(params)
    if solution is None:
        return RoutePlan(tuple(Route(c.key, (), 0) for c in crews), tuple(s.visit_id for s in stops))
    routes: list[Route] = []
    routed: set[str] = set()
    for v, crew in enumerate(crews):
        order: list[str] = []
        index = solution.Value(routing.NextVar(routing.Start(v)))
        while not routing.IsEnd(index):
            order.append(stops[manager.IndexToNode(index) - k].visit_id)
            index = solution.Value(routing.NextVar(index))
        routed.update(order)
        routes.append(timed_route(problem, crew, order) if order else Route(crew.key, (), 0))
    unrouted = tuple(s.visit_id for s in stops if s.visit_id not in routed)
    return RoutePlan(tuple(routes), unrouted)


__all__ = ["Leg", "solve_routes"]
