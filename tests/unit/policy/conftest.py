"""Shared for the policy tests: a case's facts with sensible defaults, and a story that
lives a case day by day through a policy the way the daily run does."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest

from fairdue.adapters.policy_file import load_default_policy, load_policy
from fairdue.domain.policy import CHANNELS, CaseFacts, Policy, PolicyDecision

FactsMaker = Callable[..., CaseFacts]


def make_facts(**changes: Any) -> CaseFacts:
    """A case on its first overdue day: ¥1,200.00 due, one loan, reachable on every channel,
    never contacted, no promise, plan, dispute or preference."""
    base = CaseFacts(
        case_id="K00000001", borrower_id="B00000001", dpd=1, bucket="M1",
        amount_due_minor=120_000, currency="CNY", principal_outstanding_minor=100_000, loans=1,
        case_age_days=0, days_since_rpc=None, consecutive_failures={}, failed_attempts_total=0,
        days_unreachable=None, days_since_last={}, promises_kept=0, promises_broken=0,
        refusals=0, active_plan=False, grace=False, open_dispute=False, open_complaint=False,
        has_phone=True, has_email=True, has_app=True, opted_out=frozenset(),
        preferred_channels=frozenset(),
    )
    return dataclasses.replace(base, **changes)


@pytest.fixture
def facts() -> FactsMaker:
    return make_facts


@pytest.fixture(scope="session")
def default_policy() -> Policy:
    return load_default_policy()


@pytest.fixture
def policy_from() -> Callable[[str], Policy]:
    return lambda text: load_policy(text, source="test.yaml")


class Story:
    """One case lived day by day: each day the policy decides, what it plans counts as the
    last contact on that channel, and the next day every count of days moves on by one."""

    def __init__(self, policy: Policy, **facts: Any) -> None:
        self.policy = policy
        self.facts = make_facts(**facts)
        self.days: list[PolicyDecision] = []

    def today(self) -> PolicyDecision:
        decision = self.policy.decide(self.facts)
        self.days.append(decision)
        last = dict(self.facts.days_since_last)
        for action in decision.actions:
            if action.kind in CHANNELS:
                last[action.kind] = 0
        self.facts = dataclasses.replace(self.facts, days_since_last=last)
        return decision

    def next_day(self, **changes: Any) -> PolicyDecision:
        f = self.facts
        moved = dataclasses.replace(
            f, dpd=f.dpd + 1, case_age_days=f.case_age_days + 1,
            days_since_rpc=None if f.days_since_rpc is None else f.days_since_rpc + 1,
            days_unreachable=None if f.days_unreachable is None else f.days_unreachable + 1,
            days_since_last={k: None if v is None else v + 1 for k, v in f.days_since_last.items()},
        )
        self.facts = dataclasses.replace(moved, **changes)
        return self.today()

    def live(self, days: int) -> list[PolicyDecision]:
        """Today and the `days - 1` days after it."""
        return [self.today()] + [self.next_day() for _ in range(days - 1)]


@pytest.fixture
def story(default_policy: Policy) -> Callable[..., Story]:
    return lambda **facts: Story(default_policy, **facts)

