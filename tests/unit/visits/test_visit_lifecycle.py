"""The visit's state machine, lawful appointment times, crews and the record, as worked
examples in the collectors' own words."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from fairdue.domain.contact_schedule import ContactWindow
from fairdue.domain.field_agents import FieldAgent, check_badge, choose_crew, crew_key, parse_hours
from fairdue.domain.geo import Point
from fairdue.domain.visits import (
    Reaction,
    RecordContent,
    Solution,
    Visit,
    VisitStatus,
    check_slot,
    grounds_of,
    offer_times,
)
from fairdue.errors import InvalidInput, InvalidTransition

CST = timezone(timedelta(hours=8))
SHANGHAI = ZoneInfo("Asia/Shanghai")
CN_WINDOW = ContactWindow(time(8, 0), time(22, 0))


def _proposed() -> Visit:
    visit, event = Visit.propose(case_id="C-B1-20260701", reason="S7 repeated broken promises",
                                 on=date(2026, 7, 30))
    assert event.visit_id == "V-C-B1-20260701-20260730" and event.grounds == "S7"
    return visit


def _booked() -> Visit:
    visit = _proposed()
    visit.approve("sup1", "phone failing")
    visit.book(datetime(2026, 8, 3, 10, tzinfo=CST), datetime(2026, 8, 3, 11, tzinfo=CST), "portal",
               ["FA-1", "FA-2"], 2)
    return visit


def test_grounds_come_from_the_policys_reason() -> None:
    assert grounds_of("S5 large amount unpaid for long") == "S5"
    assert grounds_of("s6 unreachable") == "S6"
    with pytest.raises(InvalidInput, match="S5, S6 or S7"):
        grounds_of("customer looks rich")


def test_the_happy_path_proposed_approved_offered_booked_in_progress_visited() -> None:
    visit = _proposed()
    assert visit.approve("sup1", "three broken promises").by == "sup1"
    assert visit.offer_slots(3).slots == 3
    booked = visit.book(datetime(2026, 8, 3, 10, tzinfo=CST), datetime(2026, 8, 3, 11, tzinfo=CST),
                        "portal", ["FA-1", "FA-2"], 2)
    assert booked.collectors == "FA-1|FA-2" and visit.status is VisitStatus.BOOKED
    checked = visit.check_in(["FA-2", "FA-1"], 2, distance_m=120, flag_beyond_m=500)
    assert not checked.flagged and visit.status is VisitStatus.IN_PROGRESS
    assert visit.finish("plan", date(2026, 8, 10), "ab" * 32).solution == "plan"
    assert visit.status is VisitStatus.VISITED and not visit.is_open


def test_a_decision_needs_a_reason_and_happens_once() -> None:
    visit = _proposed()
    with pytest.raises(InvalidInput, match="give a reason"):
        visit.approve("sup1", "")
    visit.reject("sup1", "hospitalised")
    with pytest.raises(InvalidTransition, match="is rejected; it cannot be approved"):
        visit.approve("sup1", "again")


def test_booking_needs_enough_collectors_cn_06() -> None:
    visit = _proposed()
    visit.approve("sup1", "ok")
    with pytest.raises(InvalidInput, match=r"at least 2 collectors \(CN-06\); got 1"):
        visit.book(datetime(2026, 8, 3, 10, tzinfo=CST), datetime(2026, 8, 3, 11, tzinfo=CST),
                   "phone", ["FA-1", "FA-1"], 2)
    assert visit.status is VisitStatus.APPROVED


def test_check_in_refuses_too_few_or_unbooked_collectors_and_flags_distance() -> None:
    visit = _booked()
    with pytest.raises(InvalidInput, match="at least 2 collectors present"):
        visit.check_in(["FA-1"], 2, 10, 500)
    with pytest.raises(InvalidInput, match="FA-9 not booked"):
        visit.check_in(["FA-1", "FA-9"], 2, 10, 500)
    assert visit.check_in(["FA-1", "FA-2"], 2, 501, 500).flagged
    visit = _booked()
    assert not visit.check_in(["FA-1", "FA-2"], 2, 500, 500).flagged    # at the limit: fine
    visit = _booked()
    assert not visit.check_in(["FA-1", "FA-2"], 2, None, 500).flagged   # place unknown


def test_cancel_before_arrival_only() -> None:
    visit = _booked()
    assert visit.cancel("paid in full").reason == "paid in full"
    visit = _booked()
    visit.check_in(["FA-1", "FA-2"], 2, 10, 500)
    with pytest.raises(InvalidTransition, match="cannot be cancelled"):
        visit.cancel("paid")


@pytest.mark.parametrize(("start", "end", "lawful"), [
    ((8, 0), (9, 0), True), ((21, 0), (22, 0), True),     # ends exactly at 22:00: lawful
    ((7, 30), (8, 30), False), ((21, 30), (22, 30), False), ((23, 0), (23, 30), False),
])
def test_appointments_only_inside_the_cn_window(start: tuple[int, int], end: tuple[int, int],
                                                lawful: bool) -> None:
    starts = datetime(2026, 8, 3, *start, tzinfo=CST)
    ends = datetime(2026, 8, 3, *end, tzinfo=CST)
    if lawful:
        check_slot(starts, ends, SHANGHAI, CN_WINDOW, "CN-01")
    else:
        with pytest.raises(InvalidInput, match=r"outside the lawful hours 08:00-22:00 \(CN-01\)"):
            check_slot(starts, ends, SHANGHAI, CN_WINDOW, "CN-01")


def test_the_window_is_judged_in_the_borrowers_zone() -> None:
    # 10:00 in Shanghai is 03:00 in Berlin (summer): lawful for one borrower, not the other.
    starts, ends = datetime(2026, 8, 3, 10, tzinfo=CST), datetime(2026, 8, 3, 11, tzinfo=CST)
    check_slot(starts, ends, SHANGHAI, CN_WINDOW, "CN-01")
    with pytest.raises(InvalidInput, match="Europe/Berlin"):
        check_slot(starts, ends, ZoneInfo("Europe/Berlin"), CN_WINDOW, "CN-01")


def test_times_offered_start_the_next_day_and_skip_unlawful_starts() -> None:
    offered = offer_times(datetime(2026, 7, 30, 10, 0, tzinfo=CST), SHANGHAI, CN_WINDOW,
                          starts=(time(7, 0), time(10, 0), time(21, 30)), length=timedelta(hours=1),
                          count=3)
    assert [(s.day, s.hour) for s, _ in offered] == [(31, 10), (1, 10), (2, 10)]


CENTRE = Point(39.9, 116.4)


def _agent(badge: str, team: str = "north", city: str = "北京", per_day: int = 2,
           hours: str = "09:00-18:00", home: Point = CENTRE) -> FieldAgent:
    start, end = parse_hours(hours)
    return FieldAgent(badge, f"agent {badge}", team, (city,), home, start, end, per_day)


def test_badges_and_hours_are_checked() -> None:
    assert check_badge(" fa-0001 ") == "FA-0001"
    with pytest.raises(InvalidInput, match="badge"):
        check_badge("a b")
    with pytest.raises(InvalidInput, match="09:00-18:00"):
        parse_hours("9 to 6")
    with pytest.raises(InvalidInput, match="start must be before"):
        parse_hours("18:00-09:00")


def test_the_crew_comes_from_one_team_covering_the_city_with_room_that_day() -> None:
    agents = [_agent("N-1"), _agent("N-2"), _agent("N-3"), _agent("S-1", "south", "上海"),
              _agent("E-1", "east"), _agent("E-2", "east", hours="13:00-20:00")]
    crew = choose_crew(agents, city="北京", starts=time(10), ends=time(11), booked={"N-1": 2}, size=2)
    assert [a.badge for a in crew] == ["N-2", "N-3"]           # N-1 is full; east works afternoons
    crew = choose_crew(agents, city="北京", starts=time(14), ends=time(15),
                       booked={"N-2": 1, "N-3": 1}, size=2)
    assert crew_key([a.badge for a in crew]) == "E-1+E-2"       # the least-loaded team goes
    with pytest.raises(InvalidInput, match="no team has 2 agents free in 北京"):
        choose_crew(agents, city="北京", starts=time(19), ends=time(20), booked={}, size=2)
    with pytest.raises(InvalidInput, match="no active field agent covers 广州"):
        choose_crew(agents, city="广州", starts=time(10), ends=time(11), booked={}, size=2)


def test_the_nearest_free_agents_go_first() -> None:
    agents = [_agent("N-1", home=Point(40.5, 116.4)), _agent("N-2", home=Point(39.91, 116.4)),
              _agent("N-3", home=Point(39.92, 116.4))]
    crew = choose_crew(agents, city="北京", starts=time(10), ends=time(11), booked={}, size=2,
                       near=Point(39.9, 116.4))
    assert [a.badge for a in crew] == ["N-2", "N-3"]


def _record(**changes: object) -> RecordContent:
    values: dict[str, object] = {"reaction": Reaction.COOPERATIVE, "arrears_reason": "lost job",
                                 "solution": Solution.PLAN, "follow_up_on": date(2026, 8, 10),
                                 "follow_up_plan": "call on the 10th"}
    values.update(changes)
    return RecordContent(**values)  # type: ignore[arg-type]


def test_a_record_is_complete_and_consistent() -> None:
    _record().check(date(2026, 8, 3))
    with pytest.raises(InvalidInput, match="reason for the arrears"):
        _record(arrears_reason=" ").check(date(2026, 8, 3))
    with pytest.raises(InvalidInput, match="before the visit"):
        _record(follow_up_on=date(2026, 8, 2)).check(date(2026, 8, 3))
    with pytest.raises(InvalidInput, match="'not_at_home' goes with the reaction 'absent'"):
        _record(solution=Solution.NOT_AT_HOME).check(date(2026, 8, 3))
    _record(solution=Solution.NOT_AT_HOME, reaction=Reaction.ABSENT, arrears_reason="").check(
        date(2026, 8, 3))


def test_an_amendment_changes_named_fields_and_keeps_the_rest() -> None:
    amended = _record().amended({"follow_up_on": "2026-08-12", "notes": "asked for the 12th"})
    assert amended.follow_up_on == date(2026, 8, 12) and amended.arrears_reason == "lost job"
    with pytest.raises(InvalidInput, match="cannot amend collectors"):
        _record().amended({"collectors": "x"})
    with pytest.raises(InvalidInput, match="bad value"):
        _record().amended({"solution": "threaten"})


def test_a_booked_visit_gets_another_crew_with_a_reason_and_enough_collectors() -> None:
    visit = _booked()
    with pytest.raises(InvalidInput, match="give a reason"):
        visit.change_crew(["FA-3", "FA-4"], 2, " ")
    with pytest.raises(InvalidInput, match="at least 2 collectors"):
        visit.change_crew(["FA-3"], 2, "FA-1 is ill")
    with pytest.raises(InvalidInput, match="already the crew"):
        visit.change_crew(["FA-2", "FA-1"], 2, "FA-1 is ill")
    changed = visit.change_crew(["FA-3", "FA-4"], 2, " FA-1 is ill ")
    assert (changed.before, changed.after, changed.reason) == ("FA-1|FA-2", "FA-3|FA-4",
                                                               "FA-1 is ill")
    assert visit.collectors == ("FA-3", "FA-4") and visit.status is VisitStatus.BOOKED
    visit.cancel("paid in full")
    with pytest.raises(InvalidTransition, match="cannot be given another crew"):
        visit.change_crew(["FA-1", "FA-2"], 2, "back")
