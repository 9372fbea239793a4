"""Policy files: every problem at its line and column, protected attributes refused (S18),
unknown facts refused with the known ones, and the version as the hash of the text."""

from __future__ import annotations

import hashlib

import pytest

from fairdue.adapters.policy_file import (
    PolicyFileError,
    PolicyProblem,
    check_policy,
    default_policy_text,
    load_default_policy,
    load_policy,
)
from fairdue.domain.policy import FACTS

GOOD = """\
name: small
profile: cn
thresholds:
  late: 30
steps:
  - id: late_call
    when:
      dpd: {gte: $late}
    actions:
      - kind: call
        priority: 5
"""


def problems(text: str) -> list[tuple[int, int, str]]:
    return [(p.line, p.column, p.message) for p in check_policy(text, "p.yaml")]


def test_a_valid_policy_has_no_problems_and_its_version_is_the_sha256_of_its_text() -> None:
    assert check_policy(GOOD, "p.yaml") == []
    policy = load_policy(GOOD, source="p.yaml")
    assert policy.version == hashlib.sha256(GOOD.encode()).hexdigest()
    assert load_policy(GOOD, source="elsewhere.yaml").version == policy.version  # stable
    assert load_policy(GOOD + "# a comment\n", source="p.yaml").version != policy.version
    assert (policy.name, policy.profile, policy.locale) == ("small", "cn", "zh-CN")
    assert [s.id for s in policy.steps] == ["late_call"]


def test_the_default_policy_ships_with_the_package_and_is_valid() -> None:
    text = default_policy_text()
    assert check_policy(text, "default.yaml") == []
    policy = load_default_policy()
    assert policy.version == hashlib.sha256(text.encode()).hexdigest()
    assert (policy.name, policy.profile, policy.locale) == ("default-cn", "cn", "zh-CN")
    templates = {a.template for s in policy.steps for a in s.actions if a.template}
    assert templates == {"first_overdue_sms", "reminder_sms", "overdue_email", "overdue_push",
                         "visit_notice", "plan_reminder_sms"}
    # S5, S6 and S7 thresholds are named
    assert {"visit_amount_minor", "visit_min_dpd", "unreachable_days", "broken_promises",
            "refusals"} <= set(policy.thresholds)


def test_a_condition_on_a_protected_attribute_is_refused_naming_it_its_line_and_s18() -> None:
    text = GOOD.replace("      dpd: {gte: $late}\n", "      dpd: {gte: $late}\n      gender: female\n")
    with pytest.raises(PolicyFileError) as caught:
        load_policy(text, source="p.yaml")
    assert str(caught.value).startswith("p.yaml:9:7: condition reads 'gender', a protected attribute")
    assert "S18" in str(caught.value)


@pytest.mark.parametrize("field", ["gender", "birth_date", "age", "occupation", "ethnicity",
                                   "Age", "marital_status"])
def test_every_protected_attribute_is_refused_wherever_the_condition_is(field: str) -> None:
    text = GOOD.replace("      dpd: {gte: $late}\n",
                        f"      any:\n        - dpd: {{gte: $late}}\n        - not: {{{field}: 3}}\n")
    [(line, column, message)] = problems(text)
    assert (line, column) == (10, 17)
    assert f"'{field}', a protected attribute" in message and "(S18)" in message


def test_fields_marked_protected_by_the_caller_are_refused_too() -> None:
    text = GOOD.replace("dpd: {gte: $late}", "dpd: {gte: $late}\n      loans: 2")
    assert check_policy(text, "p.yaml") == []
    found = check_policy(text, "p.yaml", extra_protected=["loans"])
    assert found == [PolicyProblem(9, 7, found[0].message)]
    assert "'loans', a protected attribute" in found[0].message


def test_a_protected_attribute_is_reported_even_when_the_file_has_other_mistakes() -> None:
    text = GOOD.replace("    actions:", "    whne: 1\n    actions:").replace("dpd:", "age:")
    found = problems(text)
    assert [(line, column) for line, column, _ in found] == [(8, 7), (9, 5)]
    assert "protected" in found[0][2] and "unknown key 'whne'" in found[1][2]


def test_an_unknown_fact_is_refused_with_the_list_of_known_ones() -> None:
    [(line, column, message)] = problems(GOOD.replace("dpd:", "days_overdue:"))
    assert (line, column) == (8, 7)
    assert message.startswith("unknown fact 'days_overdue'; known facts: ")
    assert all(name in message for name in FACTS)


LINT = """\
name: lint
profile: cn
thresholds:
  late: 30
  spare: 4
steps:
  - id: first
    when:
      dpd: {gte: $late, around: 3}
      has_email: 3
      days_since_last.sms: {gte: $soon}
    actions:
      - kind: email
      - kind: visit
        reason: he looks rich
  - id: first
    when: {bucket: [M1, 2]}
    continue: true
    actions: [{kind: pause}, {kind: sms, template: s, priority: 3}]
"""


def test_each_problem_is_reported_at_its_line_and_column() -> None:
    found = problems(LINT)
    where = [(line, column) for line, column, _ in found]
    assert where == [(5, 3), (9, 25), (10, 7), (11, 29), (13, 9), (15, 9), (16, 5), (17, 12),
                     (18, 5), (19, 5), (19, 55)]
    messages = [message for _, _, message in found]
    assert "threshold 'spare' is declared but no condition uses it" in messages[0]
    assert "'around' is not an operator; dpd (number) takes one of eq, ne" in messages[1]
    assert "has_email wants true or false" in messages[2]
    assert "unknown threshold '$soon'" in messages[3]
    assert "the email action needs a template name" in messages[4]
    assert "S5" in messages[5] and "S6" in messages[5] and "S7" in messages[5]
    assert "step id 'first' is used twice" in messages[6]
    assert "bucket wants a text" in messages[7]
    assert "'continue: true' cannot apply" in messages[8]
    assert "it must be the step's only action" in messages[9]
    assert "a sms has none" in messages[10]


def test_shape_errors_name_the_key_and_what_is_allowed() -> None:
    text = GOOD.replace("    actions:", "    acts: 1\n    actions:").replace("priority: 5",
                                                                          "priority: high")
    found = problems(text)
    assert found[0][:2] == (9, 5)
    assert "unknown key 'acts'; allowed here: id, description, when, actions, continue" in found[0][2]
    assert found[1][:2] == (12, 9) and "priority" in found[1][2] and "'high'" in found[1][2]
    missing = problems(GOOD.replace("name: small\n", ""))
    assert missing == [(1, 1, "'name' is required here")]


def test_yaml_errors_and_duplicate_keys_are_reported_at_their_line() -> None:
    [(line, column, message)] = problems("name: x\nprofile: cn\nsteps: [\n  - id: a\n")
    assert (line, column) == (4, 3) and message.startswith("not valid YAML")
    duplicate = problems(GOOD.replace("profile: cn\n", "profile: cn\nname: again\n"))
    assert duplicate == [(3, 1, "key 'name' appears twice in this mapping (first at line 1); keep one")]
    assert problems("") == problems("- a list\n") == [
        (1, 1, "a policy is a YAML mapping with name, profile, thresholds and steps "
               "(see docs/policy.md)")]


def test_an_unknown_profile_is_refused() -> None:
    [(line, column, message)] = problems(GOOD.replace("profile: cn", "profile: uk"))
    assert (line, column) == (2, 1) and "unknown compliance profile 'uk'" in message
