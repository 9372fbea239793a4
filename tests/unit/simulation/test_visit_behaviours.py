"""Simulated field visits behave as documented: the supervisor's rule, borrowers answering
the offered times, and what happens at the door, drawn from a seeded random."""

from __future__ import annotations

import random
from collections import Counter
from datetime import date

import pytest

from fairdue.domain.simulation.behaviours import (
    AT_HOME,
    CONFIRM_VISIT,
    VISIT_SOLUTION,
    Segment,
    answer_visit_offer,
    decide_visit,
    visit_outcome,
)
from fairdue.domain.visits import Reaction, RecordContent, Solution


class Scripted(random.Random):
    """A random whose `random()` and `randint()` give the scripted draws, in order: a worked
    example reads like the rule it checks."""

    def __init__(self, draws: list[float], ints: list[int] | None = None) -> None:
        super().__init__(0)
        self.draws, self.ints = list(draws), list(ints or [])

    def random(self) -> float:
        return self.draws.pop(0)

    def randint(self, a: int, b: int) -> int:
        value = self.ints.pop(0)
        assert a <= value <= b
        return value


GOOD = dict(grounds="S7", reason="S7 repeated broken promises", case_open=True, hold=None,
            plan_active=False, amount_due_minor=500_000, large_amount_minor=1_000_000,
            crew_in_city=True, approvals_left=3)


def test_the_supervisor_approves_a_visit_whose_grounds_hold_within_capacity() -> None:
    decision = decide_visit(**GOOD)  # type: ignore[arg-type]
    assert decision.approve is True and "S7 repeated broken promises" in decision.note


@pytest.mark.parametrize(("change", "why"), [
    ({"case_open": False}, "no longer open"),
    ({"hold": "complaint"}, "a complaint hold is in force"),
    ({"plan_active": True}, "repayment plan is active"),
    ({"grounds": "S5", "amount_due_minor": 999_999}, "S5 no longer holds"),
    ({"crew_in_city": False}, "no field crew covers"),
])
def test_the_supervisor_rejects_when_the_grounds_fail_or_no_crew_can_go(
        change: dict[str, object], why: str) -> None:
    decision = decide_visit(**{**GOOD, **change})  # type: ignore[arg-type]
    assert decision.approve is False and why in decision.note


def test_over_capacity_a_proposal_waits_but_a_failing_one_is_still_rejected() -> None:
    waits = decide_visit(**{**GOOD, "approvals_left": 0})  # type: ignore[arg-type]
    assert waits.approve is None and "capacity" in waits.note
    closed = decide_visit(**{**GOOD, "approvals_left": 0, "case_open": False})  # type: ignore[arg-type]
    assert closed.approve is False
    # S5 still large: approved.
    large = decide_visit(**{**GOOD, "grounds": "S5", "amount_due_minor": 1_000_000})  # type: ignore[arg-type]
    assert large.approve is True


def test_worked_example_a_forgetful_borrower_answers_and_picks_the_second_time() -> None:
    # 0.50 < 0.80 (CONFIRM_VISIT[forgetful]): they answer; randint gives time 2 of 3.
    assert answer_visit_offer(Scripted([0.50], [2]), Segment.FORGETFUL, 3) == 2
    # 0.85 >= 0.80: no answer; the offer goes unanswered.
    assert answer_visit_offer(Scripted([0.85]), Segment.FORGETFUL, 3) is None
    # No time left ahead: nothing to pick, and no draw is spent.
    assert answer_visit_offer(Scripted([]), Segment.FORGETFUL, 0) is None


def test_answer_rates_follow_the_table_and_the_unreachable_never_answer() -> None:
    rng = random.Random(21)
    for segment, rate in CONFIRM_VISIT.items():
        answers = [answer_visit_offer(rng, segment, 3) for _ in range(4000)]
        assert sum(a is not None for a in answers) / 4000 == pytest.approx(rate, abs=0.03)
        assert {a for a in answers if a is not None} <= {1, 2, 3}
    assert CONFIRM_VISIT[Segment.UNREACHABLE] == 0.0


def test_worked_example_at_the_door() -> None:
    # 0.95 >= 0.90 (AT_HOME[forgetful]): nobody opens.
    nobody = visit_outcome(Scripted([0.95]), Segment.FORGETFUL)
    assert (nobody.reaction, nobody.solution) == ("absent", "not_at_home")
    # 0.10 at home; 0.20 < 0.85 promise; randint 3 days; 0.50 < 1.0 (0.90 + 0.10) kept.
    promise = visit_outcome(Scripted([0.10, 0.20, 0.50], [3]), Segment.FORGETFUL)
    assert promise.solution == "promise" and promise.reaction == "cooperative"
    assert (promise.promise_share, promise.promise_days, promise.keeps_promise) == (1.0, 3, True)
    # A short-of-money borrower at home: 0.30 < 0.55, a plan.
    plan = visit_outcome(Scripted([0.10, 0.30]), Segment.SHORT)
    assert (plan.reaction, plan.solution) == ("cooperative", "plan")


def test_outcomes_follow_the_tables_and_always_make_a_valid_record() -> None:
    for options in VISIT_SOLUTION.values():
        assert sum(share for _, share in options) == pytest.approx(1.0)
    rng = random.Random(8)
    drawn = Counter(visit_outcome(rng, Segment.SHORT).solution for _ in range(5000))
    assert drawn["not_at_home"] / 5000 == pytest.approx(1 - AT_HOME[Segment.SHORT], abs=0.03)
    assert drawn["plan"] / 5000 == pytest.approx(AT_HOME[Segment.SHORT] * 0.55, abs=0.03)
    for segment in Segment:
        for _ in range(300):
            outcome = visit_outcome(rng, segment)
            solution = Solution(outcome.solution)
            # What the simulation submits passes the record's own checks (S10, S11).
            RecordContent(Reaction(outcome.reaction),
                          "" if solution is Solution.NOT_AT_HOME else "a reason", solution,
                          date(2026, 6, 10), "follow up").check(date(2026, 6, 3))
            if solution is Solution.PROMISE:
                assert outcome.promise_days >= 1 and 0 < outcome.promise_share <= 1


def test_the_same_seed_gives_the_same_visits() -> None:
    def story(seed: int) -> list[object]:
        rng = random.Random(seed)
        return [(answer_visit_offer(rng, s, 3), visit_outcome(rng, s))
                for _ in range(20) for s in Segment]

    assert story(4) == story(4)
    assert story(4) != story(5)
