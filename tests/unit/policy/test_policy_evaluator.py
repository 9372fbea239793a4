"""How a policy is walked: order, `continue`, channels the borrower lacks, one action per
channel a day, pause over everything, missing values, and the facts a decision records."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fairdue.domain.policy import CHANNELS, CaseFacts, Policy, PolicyDecision

Maker = Callable[..., CaseFacts]
Loader = Callable[[str], Policy]

HEAD = "name: t\nprofile: cn\n"


def kinds(decision: PolicyDecision) -> list[str]:
    return [action.kind for action in decision.actions]


def steps(*bodies: str, thresholds: str = "") -> str:
    return HEAD + thresholds + "steps:\n" + "".join(bodies)


def step(id: str, when: str, *actions: str, cont: bool = False) -> str:
    text = f"  - id: {id}\n"
    if when:
        text += f"    when: {when}\n"
    if cont:
        text += "    continue: true\n"
    text += "    actions:\n" + "".join(f"      - {a}\n" for a in actions)
    return text


SMS = "{kind: sms, template: s}"
EMAIL = "{kind: email, template: e}"
PUSH = "{kind: push, template: p}"
CALL = "{kind: call}"
PAUSE = "{kind: pause}"


def test_the_first_step_that_holds_ends_the_walk(policy_from: Loader, facts: Maker) -> None:
    policy = policy_from(steps(step("a", "{dpd: {gte: 5}}", SMS), step("b", "", CALL)))
    assert policy.decide(facts(dpd=5)).steps == ("a",)
    assert policy.decide(facts(dpd=4)).steps == ("b",)


def test_continue_lets_later_steps_add_their_actions(policy_from: Loader, facts: Maker) -> None:
    policy = policy_from(steps(step("a", "", SMS, cont=True), step("b", "", CALL),
                               step("c", "", PUSH)))
    decision = policy.decide(facts())
    assert decision.steps == ("a", "b") and decision.step == "a"
    assert kinds(decision) == ["sms", "call"]
    assert [a.step for a in decision.actions] == ["a", "b"]


def test_a_step_whose_every_channel_is_missing_does_not_fire(policy_from: Loader, facts: Maker) -> None:
    policy = policy_from(steps(step("mail", "", EMAIL), step("text", "", SMS)))
    assert policy.decide(facts(has_email=False)).steps == ("text",)
    assert policy.decide(facts(opted_out=frozenset({"email"}))).steps == ("text",)
    nothing = policy.decide(facts(has_email=False, has_phone=False))
    assert nothing.step is None and nothing.actions == ()


def test_one_action_per_channel_a_day_the_earliest_step_wins(policy_from: Loader, facts: Maker) -> None:
    policy = policy_from(steps(step("a", "", "{kind: call, priority: 9}", cont=True),
                               step("b", "", "{kind: call, priority: 1}", SMS)))
    decision = policy.decide(facts())
    assert [(a.kind, a.priority, a.step) for a in decision.actions] == [("call", 9, "a"),
                                                                       ("sms", 0, "b")]


def test_a_pause_overrides_what_earlier_steps_chose(policy_from: Loader, facts: Maker) -> None:
    policy = policy_from(steps(step("a", "", SMS, cont=True), step("hold", "{grace: true}", PAUSE),
                               step("c", "", CALL)))
    assert kinds(policy.decide(facts(grace=True))) == ["pause"]
    assert policy.decide(facts(grace=True)).steps == ("hold",)
    assert kinds(policy.decide(facts())) == ["sms", "call"]


@pytest.mark.parametrize(("when", "holds", "fails"), [
    # never contacted counts as longer ago than any number of days
    ("{days_since_last.sms: {gte: 3}}", [{}, {"days_since_last": {"sms": 3}}],
     [{"days_since_last": {"sms": 2}}]),
    ("{days_since_last.sms: {lt: 3}}", [{"days_since_last": {"sms": 2}}], [{}]),
    ("{days_since_last.sms: null}", [{}, {"days_since_last": {"email": 1}}],
     [{"days_since_last": {"sms": 0}}]),
    ("{days_since_rpc: {ne: null}}", [{"days_since_rpc": 0}], [{}]),
    # reachable counts as 0 days unreachable
    ("{days_unreachable: {lt: 1}}", [{}, {"days_unreachable": 0}], [{"days_unreachable": 1}]),
    ("{consecutive_failures.call: {gte: 2}}", [{"consecutive_failures": {"call": 2}}],
     [{}, {"consecutive_failures": {"sms": 5}}]),
    ("{bucket: [M2, M3]}", [{"bucket": "M2"}], [{"bucket": "M1"}]),
    ("{bucket: {not_in: [M2, M3]}}", [{"bucket": "M1"}], [{"bucket": "M3"}]),
    ("{dpd: {in: [1, 7, 15]}}", [{"dpd": 7}], [{"dpd": 8}]),
    ("{preferred_channels: {contains: email}}", [{"preferred_channels": frozenset({"email"})}],
     [{}]),
    ("{preferred_channels: {empty: true}}", [{}], [{"preferred_channels": frozenset({"sms"})}]),
    ("{not: {has_email: true}}", [{"has_email": False}], [{}]),
    ("{any: [{dpd: {gt: 60}}, {loans: {gte: 2}}]}", [{"dpd": 61}, {"loans": 2}], [{}]),
    ("{all: [{dpd: {gt: 5}}, {loans: {ne: 1}}]}", [{"dpd": 6, "loans": 2}],
     [{"dpd": 6}, {"loans": 2}]),
    ("[{dpd: {gt: 5}}, {refusals: {lte: 0}}]", [{"dpd": 6}], [{"dpd": 6, "refusals": 1}]),
])
def test_conditions(policy_from: Loader, facts: Maker, when: str,
                    holds: list[dict[str, Any]], fails: list[dict[str, Any]]) -> None:
    policy = policy_from(steps(step("a", when, CALL)))
    for changes in holds:
        assert policy.decide(facts(**changes)).step == "a", changes
    for changes in fails:
        assert policy.decide(facts(**changes)).step is None, changes


def test_thresholds_are_read_by_name(policy_from: Loader, facts: Maker) -> None:
    policy = policy_from(steps(step("a", "{dpd: {gte: $late}}", CALL),
                               thresholds="thresholds:\n  late: 30\n"))
    assert policy.decide(facts(dpd=30)).step == "a" and policy.decide(facts(dpd=29)).step is None
    assert policy.thresholds == {"late": 30}


def test_facts_used_are_those_the_evaluated_steps_read(policy_from: Loader, facts: Maker) -> None:
    policy = policy_from(steps(step("a", "{dpd: {gte: 5}}", CALL),
                               step("b", "{refusals: 1, preferred_channels: {empty: false}}", CALL)))
    early = policy.decide(facts(dpd=5))
    assert early.facts_used == {"dpd": 5, "has_phone": True, "opted_out": ()}
    late = policy.decide(facts(dpd=4, preferred_channels=frozenset({"sms", "email"})))
    assert late.facts_used == {"dpd": 4, "has_phone": True, "opted_out": (), "refusals": 0,
                               "preferred_channels": ("email", "sms")}


def test_a_policy_and_its_decisions_cannot_be_changed(default_policy: Policy, facts: Maker) -> None:
    with pytest.raises(AttributeError):
        default_policy.name = "other"  # type: ignore[misc]
    decision = default_policy.decide(facts())
    with pytest.raises(dataclasses.FrozenInstanceError):
        decision.step = "x"  # type: ignore[misc]


channels = st.frozensets(st.sampled_from(CHANNELS))
maybe_days = st.none() | st.integers(0, 400)
any_facts = st.builds(
    CaseFacts,
    case_id=st.text(min_size=1, max_size=12), borrower_id=st.just("B1"),
    dpd=st.integers(1, 400), bucket=st.sampled_from(["M1", "M2", "M3", "M4", "M6+"]),
    amount_due_minor=st.integers(0, 5_000_000), currency=st.sampled_from(["CNY", "USD"]),
    principal_outstanding_minor=st.integers(0, 5_000_000), loans=st.integers(1, 5),
    case_age_days=st.integers(0, 400), days_since_rpc=maybe_days,
    consecutive_failures=st.dictionaries(st.sampled_from(CHANNELS), st.integers(0, 50)),
    failed_attempts_total=st.integers(0, 100), days_unreachable=maybe_days,
    days_since_last=st.dictionaries(st.sampled_from(CHANNELS), maybe_days),
    promises_kept=st.integers(0, 5), promises_broken=st.integers(0, 6), refusals=st.integers(0, 6),
    active_plan=st.booleans(), grace=st.booleans(), open_dispute=st.booleans(),
    open_complaint=st.booleans(), has_phone=st.booleans(), has_email=st.booleans(),
    has_app=st.booleans(), opted_out=channels, preferred_channels=channels,
)
NEEDS = {"sms": "has_phone", "call": "has_phone", "email": "has_email", "push": "has_app"}


@settings(max_examples=400, deadline=None)
@given(case=any_facts)
def test_the_default_policy_never_uses_a_channel_lacking_or_opted_out(
        default_policy: Policy, case: CaseFacts) -> None:
    decision = default_policy.decide(case)
    for action in decision.actions:
        assert action.kind not in case.opted_out
        assert action.kind not in NEEDS or getattr(case, NEEDS[action.kind])
    assert len(kinds(decision)) == len(set(kinds(decision)))
    if case.active_plan or case.grace or case.open_dispute or case.open_complaint:
        assert kinds(decision) == ["pause"]
    for action in decision.actions:
        if action.kind == "visit":
            assert action.reason is not None and action.reason[:2] in ("S5", "S6", "S7")
