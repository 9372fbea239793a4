"""The default policy walked through the seed's story (S1-S7), day by day.

A borrower misses a payment. On the first day the lender uses non-contact means only (S1
SMS, S3 email, S4 app push); an agent calls from the second day (S2); reminders follow at a
cadence; a field visit is proposed only when S5, S6 or S7 holds, with the reason; a dispute,
a complaint, a repayment plan or a grace period stops collection (a pause, nothing else).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fairdue.domain.policy import Policy, PolicyDecision

StoryMaker = Callable[..., Any]


def kinds(decision: PolicyDecision) -> list[str]:
    return [action.kind for action in decision.actions]


def test_day_one_sms_with_email_and_push_and_no_call_yet(story: StoryMaker) -> None:
    day1 = story().today()
    assert day1.step == "first_notice"
    assert [(a.kind, a.template) for a in day1.actions] == [
        ("sms", "first_overdue_sms"), ("email", "overdue_email"), ("push", "overdue_push")]


def test_day_two_an_agent_calls_after_the_sms(story: StoryMaker) -> None:
    case = story()
    case.today()
    day2 = case.next_day()
    assert kinds(day2) == ["call"]
    assert day2.step == "first_call" and day2.actions[0].priority == 80


def test_the_first_month_reminders_keep_their_cadence_and_no_visit(story: StoryMaker) -> None:
    days = story().live(30)
    on = {kind: [n for n, d in enumerate(days) if kind in kinds(d)]
          for kind in ("sms", "email", "push", "call", "visit")}
    assert on["sms"] == list(range(0, 30, 3))  # first notice, then every 3 days
    assert on["email"] == list(range(0, 30, 7))
    assert on["push"] == list(range(0, 30, 2))
    assert on["call"] == list(range(1, 30, 2))  # day 2, then every other day
    assert on["visit"] == []
    assert all(len(kinds(d)) == len(set(kinds(d))) for d in days)  # one per channel a day


def test_no_call_within_three_days_of_a_conversation(story: StoryMaker) -> None:
    case = story(case_age_days=5, dpd=6, days_since_rpc=2,
                 days_since_last={"sms": 1, "email": 1, "push": 1, "call": 2})
    assert "call" not in kinds(case.today())
    assert "call" in kinds(case.next_day())  # the conversation is now 3 days old


def test_email_only_where_there_is_one_and_push_only_where_the_app_is(story: StoryMaker) -> None:
    days = story(has_email=False, has_app=False).live(20)
    seen = {kind for d in days for kind in kinds(d)}
    assert seen == {"sms", "call"}
    assert kinds(days[0]) == ["sms"] and days[0].step == "first_notice"


def test_a_borrower_without_a_phone_still_hears_by_email_and_push(story: StoryMaker) -> None:
    days = story(has_phone=False).live(10)
    assert kinds(days[0]) == ["email", "push"]
    assert not any(kind in ("sms", "call") for d in days for kind in kinds(d))


def test_opted_out_channels_are_never_used(story: StoryMaker) -> None:
    days = story(opted_out=frozenset({"sms", "push"})).live(20)
    seen = {kind for d in days for kind in kinds(d)}
    assert seen == {"email", "call"}


def long_overdue(**more: Any) -> dict[str, Any]:
    """A case three months in: ¥12,000.00 due, last conversation 20 days ago, contacted lately."""
    facts: dict[str, Any] = dict(
        dpd=95, bucket="M4", case_age_days=94, amount_due_minor=1_200_000, days_since_rpc=20,
        days_since_last={"sms": 1, "email": 1, "push": 1, "call": 1})
    facts.update(more)
    return facts


def visit(decision: PolicyDecision) -> str | None:
    reasons = [a.reason for a in decision.actions if a.kind == "visit"]
    assert len(reasons) <= 1
    return reasons[0] if reasons else ""


def test_s5_a_large_amount_unpaid_for_long_brings_a_visit_proposal(story: StoryMaker) -> None:
    decision = story(**long_overdue()).today()
    reason = visit(decision)
    assert reason and reason.startswith("S5")
    assert "amount_due_minor >= visit_amount_minor (1000000)" in reason
    assert "dpd >= visit_min_dpd (90)" in reason
    assert decision.actions[0].template == "visit_notice"
    assert decision.facts_used["amount_due_minor"] == 1_200_000


def test_s5_needs_every_threshold(story: StoryMaker) -> None:
    assert visit(story(**long_overdue(amount_due_minor=999_999)).today()) == ""
    assert visit(story(**long_overdue(dpd=89)).today()) == ""
    assert visit(story(**long_overdue(days_since_rpc=13)).today()) == ""
    assert visit(story(**long_overdue(currency="USD")).today()) == ""


def test_s6_unreachable_on_every_channel_for_thirty_days(story: StoryMaker) -> None:
    almost = dict(dpd=40, case_age_days=39, days_unreachable=29, days_since_rpc=None)
    case = story(**almost)
    assert visit(case.today()) == ""
    reason = visit(case.next_day())
    assert reason and reason.startswith("S6")
    assert "days_unreachable >= unreachable_days (30)" in reason


def test_s7_repeated_broken_promises_or_refusals(story: StoryMaker) -> None:
    base = dict(dpd=35, case_age_days=34, days_since_rpc=5)
    assert visit(story(**base, promises_broken=2, refusals=2).today()) == ""
    broken = visit(story(**base, promises_broken=3).today())
    assert broken and broken.startswith("S7") and "broken_promises (3)" in broken
    refused = visit(story(**base, refusals=3).today())
    assert refused and refused.startswith("S7") and "refusals >= refusals (3)" in refused
    assert visit(story(**base | {"dpd": 29}, refusals=5).today()) == ""  # too early for S7


def test_one_visit_proposal_a_day_and_none_again_for_thirty_days(story: StoryMaker) -> None:
    case = story(**long_overdue(days_unreachable=40, refusals=4))
    first = case.today()
    assert visit(first).startswith("S5")  # S5 is first; S6 and S7 hold too
    assert first.steps[0] == "visit_large_and_long"
    later = [case.next_day() for _ in range(30)]
    assert [n for n, d in enumerate(later, 1) if visit(d)] == [30]


def test_a_visit_day_still_keeps_the_reminders_going(story: StoryMaker) -> None:
    decision = story(**long_overdue(days_since_last={"sms": 3, "call": 2})).today()
    assert kinds(decision) == ["visit", "sms", "email", "push", "call"]


def test_dispute_complaint_plan_and_grace_each_give_only_a_pause(story: StoryMaker) -> None:
    cases = {"open_dispute": "hold_dispute_or_complaint", "open_complaint":
             "hold_dispute_or_complaint", "active_plan": "hold_plan",
             "grace": "hold_grace"}
    for flag, step in cases.items():
        for decision in story(**long_overdue(days_unreachable=60, refusals=5), **{flag: True}).live(5):
            assert kinds(decision) == ["pause"], flag
            assert decision.step == step and decision.steps == (step,)
    first_day = story(active_plan=True).today()
    assert kinds(first_day) == ["pause"]


def test_a_case_paid_up_to_date_with_its_reminders_gets_nothing_today(
        default_policy: Policy, facts: Callable[..., Any]) -> None:
    quiet = facts(dpd=10, case_age_days=9,
                  days_since_last={"sms": 1, "email": 1, "push": 1, "call": 1})
    decision = default_policy.decide(quiet)
    assert decision.step is None and decision.actions == () and decision.steps == ()
    assert decision.policy_version == default_policy.version and decision.variant is None


def test_the_first_nine_days_as_docs_policy_md_tells_them(story: StoryMaker) -> None:
    days = [(kinds(d), d.steps) for d in story().live(9)]
    assert days == [
        (["sms", "email", "push"], ("first_notice",)),
        (["call"], ("first_call",)),
        (["push"], ("reminder_push",)),
        (["sms", "call"], ("reminder_sms", "follow_up_call")),
        (["push"], ("reminder_push",)),
        (["call"], ("follow_up_call",)),
        (["sms", "push"], ("reminder_sms", "reminder_push")),
        (["email", "call"], ("reminder_email", "follow_up_call")),
        (["push"], ("reminder_push",)),
    ]
