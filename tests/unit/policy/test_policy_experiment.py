"""Champion/challenger: each case lands in one variant, always the same, in the shares declared."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable

import pytest

from fairdue.adapters.policy_file import check_policy, default_policy_text, load_policy
from fairdue.domain.policy import CaseFacts, Policy, assign_variant

Maker = Callable[..., CaseFacts]

EXPERIMENT = """\
experiment:
  name: sms-every-2-days
  variants:
    champion:
      share: 80
    challenger:
      share: 20
      thresholds: {sms_every_days: 2}
"""


@pytest.fixture(scope="module")
def experiment_policy() -> Policy:
    return load_policy(default_policy_text() + EXPERIMENT, source="exp.yaml")


def test_assignment_is_the_sha256_of_case_id_and_experiment_into_the_shares() -> None:
    shares = [("champion", 80), ("challenger", 20)]
    for case_id in ("K1", "K2", "K00000042"):
        point = int.from_bytes(hashlib.sha256(f"{case_id}exp".encode()).digest()[:8], "big") % 100
        assert assign_variant(case_id, "exp", shares) == ("champion" if point < 80 else "challenger")


def test_shares_over_ten_thousand_cases_are_close_to_those_declared() -> None:
    shares = [("a", 50), ("b", 30), ("c", 20)]
    counted = Counter(assign_variant(f"K{n:08d}", "three-way", shares) for n in range(10_000))
    assert set(counted) == {"a", "b", "c"}
    for name, share in shares:
        assert abs(counted[name] - share * 100) < 250, counted  # within 2.5 points


def test_the_same_case_always_gets_the_same_variant_and_experiments_are_independent() -> None:
    shares = [("champion", 50), ("challenger", 50)]
    first = [assign_variant(f"K{n}", "one", shares) for n in range(2_000)]
    assert first == [assign_variant(f"K{n}", "one", shares) for n in range(2_000)]
    other = [assign_variant(f"K{n}", "two", shares) for n in range(2_000)]
    agree = sum(a == b for a, b in zip(first, other, strict=True))
    assert 850 < agree < 1_150  # unrelated to the first experiment, not a copy of it


def test_each_decision_names_its_variant_and_the_challenger_uses_its_thresholds(
        experiment_policy: Policy, facts: Maker) -> None:
    seen: dict[str, int] = Counter()
    for n in range(400):
        case = facts(case_id=f"K{n:08d}", case_age_days=5, dpd=6,
                     days_since_last={"sms": 2, "email": 1, "push": 1, "call": 1})
        decision = experiment_policy.decide(case)
        assert decision.variant == experiment_policy.variant_for(case.case_id)
        sends_sms = "sms" in [a.kind for a in decision.actions]
        assert sends_sms == (decision.variant == "challenger")
        seen[decision.variant or ""] += 1
    assert 40 < seen["challenger"] < 120
    assert experiment_policy.experiment is not None
    assert [(v.name, v.share) for v in experiment_policy.experiment.variants] == [
        ("champion", 80), ("challenger", 20)]


def test_a_variant_may_bring_its_own_steps(policy_from: Callable[[str], Policy], facts: Maker) -> None:
    policy = policy_from("""\
name: own
profile: cn
steps:
  - id: text
    actions: [{kind: sms, template: s}]
experiment:
  name: calls
  variants:
    champion: {share: 50}
    challenger:
      share: 50
      steps:
        - id: ring
          actions: [{kind: call}]
""")
    for n in range(50):
        decision = policy.decide(facts(case_id=f"K{n}"))
        expected = {"champion": ["sms"], "challenger": ["call"]}[decision.variant or ""]
        assert [a.kind for a in decision.actions] == expected
    assert [s.id for s in policy.steps_of("challenger")] == ["ring"]


def test_shares_must_sum_to_100_and_overrides_name_declared_thresholds() -> None:
    broken = EXPERIMENT.replace("share: 20", "share: 30").replace("sms_every_days", "sms_days")
    found = check_policy(default_policy_text() + broken, "exp.yaml")
    messages = [p.message for p in found]
    assert any("shares sum to 110; they must sum to 100" in m for m in messages)
    assert any("overrides 'sms_days', which the policy does not declare" in m for m in messages)
    lone = EXPERIMENT.replace("    challenger:\n      share: 20\n      thresholds: {sms_every_days: 2}\n",
                              "").replace("share: 80", "share: 100")
    assert check_policy(default_policy_text() + lone, "exp.yaml") != []
