"""Conditions: checked against the fact table, compiled once into closures, shown as text.

A compiled condition is a plain function of `CaseFacts` returning a bool: deciding a case
parses nothing and looks nothing up by name. Checking refuses unknown facts (listing the
known ones), protected attributes (S18), operators that do not suit the fact, operands of
the wrong type and unknown thresholds, each with the path of the part at fault.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from typing import Any

from fairdue.domain.policy.facts import CHANNELS, FACTS, CaseFacts, FactInfo, Kind, is_protected
from fairdue.domain.policy.model import (
    AllOf,
    AnyOf,
    Compare,
    Condition,
    Not,
    Path,
    SpecProblem,
    ThresholdRef,
)

Test = Callable[[CaseFacts], bool]

_ORDER: dict[str, Callable[[Any, Any], bool]] = {
    "eq": operator.eq, "ne": operator.ne, "lt": operator.lt, "lte": operator.le,
    "gt": operator.gt, "gte": operator.ge,
}
_SYMBOL = {"eq": "=", "ne": "!=", "lt": "<", "lte": "<=", "gt": ">", "gte": ">=", "in": "in",
           "not_in": "not in", "contains": "contains", "not_contains": "does not contain",
           "empty": "is empty"}
OPERATORS: tuple[str, ...] = tuple(_SYMBOL)
_KIND_OPS: dict[Kind, tuple[str, ...]] = {
    Kind.NUMBER: ("eq", "ne", "lt", "lte", "gt", "gte", "in", "not_in"),
    Kind.FLAG: ("eq", "ne"),
    Kind.TEXT: ("eq", "ne", "in", "not_in"),
    Kind.CHANNELS: ("contains", "not_contains", "empty"),
}
_WANTS = {Kind.NUMBER: "a whole number", Kind.FLAG: "true or false", Kind.TEXT: "a text",
          Kind.CHANNELS: f"a channel ({', '.join(CHANNELS)})"}


def _always(facts: CaseFacts) -> bool:
    return True


class ConditionCompiler:
    """Checks and compiles the conditions of one policy (or one experiment variant)."""

    def __init__(self, thresholds: Mapping[str, int], extra_protected: frozenset[str]) -> None:
        self.thresholds = thresholds
        self.extra_protected = extra_protected
        self.problems: list[SpecProblem] = []
        self.used_thresholds: set[str] = set()

    def compile(self, condition: Condition) -> Test | None:
        """The condition as a function of the facts; None when it has problems (recorded)."""
        if isinstance(condition, Compare):
            return self._compare(condition)
        if isinstance(condition, Not):
            inner = self.compile(condition.part)
            if inner is None:
                return None
            return lambda facts: not inner(facts)
        tests = [self.compile(part) for part in condition.parts]
        if any(test is None for test in tests):
            return None
        good = tuple(test for test in tests if test is not None)
        return _all(good) if isinstance(condition, AllOf) else _any(good)

    def _problem(self, path: Path, message: str) -> None:
        self.problems.append(SpecProblem(path, message))

    def _operand(self, operand: object, path: Path) -> tuple[bool, object]:
        if isinstance(operand, ThresholdRef):
            if operand.name not in self.thresholds:
                known = ", ".join(sorted(self.thresholds)) or "none are declared"
                self._problem(path, f"unknown threshold '${operand.name}'; declare it under "
                                    f"thresholds (declared: {known})")
                return False, None
            self.used_thresholds.add(operand.name)
            return True, self.thresholds[operand.name]
        return True, operand

    def _compare(self, cond: Compare) -> Test | None:
        info = FACTS.get(cond.fact)
        if isinstance(cond.operand, ThresholdRef) and cond.operand.name in self.thresholds:
            self.used_thresholds.add(cond.operand.name)  # used, even if the rest is wrong
        if is_protected(cond.fact, self.extra_protected):
            self._problem(cond.path, f"condition reads '{cond.fact}', a protected attribute: a "
                                     "policy may not treat borrowers differently by it (S18); "
                                     "remove this condition")
            return None
        if info is None:
            self._problem(cond.path, f"unknown fact '{cond.fact}'; known facts: "
                                     f"{', '.join(sorted(FACTS))}")
            return None
        allowed = _KIND_OPS[info.kind]
        if cond.op not in allowed:
            what = "is not an operator;" if cond.op not in _SYMBOL else "does not apply to"
            self._problem(cond.op_path, f"'{cond.op}' {what} {cond.fact} ({info.kind.value}) "
                                        f"takes one of {', '.join(allowed)}")
            return None
        if isinstance(cond.operand, ThresholdRef) and info.kind is not Kind.NUMBER:
            self._problem(cond.op_path, f"a threshold is a number; {cond.fact} wants "
                                        f"{_WANTS[info.kind]}")
            return None
        ok, value = self._operand(cond.operand, cond.op_path)
        if not ok:
            return None
        if cond.op in ("in", "not_in"):
            return self._membership(cond, info, value)
        if cond.op == "empty":
            if not isinstance(value, bool):
                self._problem(cond.op_path, f"'empty' takes true or false, not {value!r}")
                return None
            read = info.read
            return (lambda facts: not read(facts)) if value else (lambda facts: bool(read(facts)))
        if not self._fits(info, value, cond):
            return None
        return _leaf(info, cond.op, value)

    def _fits(self, info: FactInfo, value: object, cond: Compare) -> bool:
        if value is None:
            if info.none_as is not None and cond.op in ("eq", "ne"):
                return True
            self._problem(cond.op_path, f"{cond.fact} is never null; compare it with "
                                        f"{_WANTS[info.kind]}")
            return False
        good = {
            Kind.NUMBER: isinstance(value, int) and not isinstance(value, bool),
            Kind.FLAG: isinstance(value, bool),
            Kind.TEXT: isinstance(value, str),
            Kind.CHANNELS: value in CHANNELS,
        }[info.kind]
        if not good:
            self._problem(cond.op_path, f"{cond.fact} {_SYMBOL[cond.op]} {value!r}: "
                                        f"{cond.fact} wants {_WANTS[info.kind]}")
        return good

    def _membership(self, cond: Compare, info: FactInfo, value: object) -> Test | None:
        if not isinstance(value, (list, tuple)) or not value:
            self._problem(cond.op_path, f"'{cond.op}' takes a non-empty list of "
                                        f"{_WANTS[info.kind]} values")
            return None
        for item in value:
            if not self._fits(info, item, Compare(cond.fact, "eq", item, cond.path, cond.op_path)):
                return None
        members = frozenset(value)
        read, none_as = info.read, info.none_as
        inside = cond.op == "in"
        if none_as is None:
            return lambda facts: (read(facts) in members) == inside
        none_inside = (none_as in members) == inside

        def test(facts: CaseFacts) -> bool:
            seen = read(facts)
            return none_inside if seen is None else (seen in members) == inside

        return test


def _leaf(info: FactInfo, op: str, value: object) -> Test:
    read = info.read
    if info.kind is Kind.CHANNELS:
        if op == "contains":
            return lambda facts: value in read(facts)  # type: ignore[operator]
        return lambda facts: value not in read(facts)  # type: ignore[operator]
    if value is None:
        if op == "eq":
            return lambda facts: read(facts) is None
        return lambda facts: read(facts) is not None
    compare = _ORDER[op]
    none_as = info.none_as
    if none_as is None:
        return lambda facts: compare(read(facts), value)

    def test(facts: CaseFacts) -> bool:
        seen = read(facts)
        return compare(none_as if seen is None else seen, value)

    return test


def _all(tests: tuple[Test, ...]) -> Test:
    if not tests:
        return _always
    if len(tests) == 1:
        return tests[0]
    if len(tests) == 2:
        first, second = tests
        return lambda facts: first(facts) and second(facts)
    if len(tests) == 3:
        first, second, third = tests
        return lambda facts: first(facts) and second(facts) and third(facts)

    def every(facts: CaseFacts) -> bool:
        return all(test(facts) for test in tests)

    return every


def _any(tests: tuple[Test, ...]) -> Test:
    if len(tests) == 1:
        return tests[0]
    if len(tests) == 2:
        first, second = tests
        return lambda facts: first(facts) or second(facts)

    def some(facts: CaseFacts) -> bool:
        return any(test(facts) for test in tests)

    return some


def reads(condition: Condition) -> tuple[str, ...]:
    """The fact names a condition reads, in the order they appear, each once."""
    names: dict[str, None] = {}

    def walk(cond: Condition) -> None:
        if isinstance(cond, Compare):
            names.setdefault(cond.fact, None)
        elif isinstance(cond, Not):
            walk(cond.part)
        else:
            for part in cond.parts:
                walk(part)

    walk(condition)
    return tuple(names)


def render(condition: Condition, thresholds: Mapping[str, int]) -> str:
    """The condition as a sentence, thresholds shown by name and value:
    `dpd >= visit_min_dpd (90) and days_unreachable >= unreachable_days (30)`."""
    if isinstance(condition, Compare):
        return f"{condition.fact} {_SYMBOL.get(condition.op, condition.op)} " \
               f"{_operand_text(condition.operand, thresholds)}"
    if isinstance(condition, Not):
        return f"not ({render(condition.part, thresholds)})"
    if not condition.parts:
        return "always"
    joiner = " and " if isinstance(condition, AllOf) else " or "
    texts = [render(part, thresholds) for part in condition.parts]
    texts = [f"({text})" if isinstance(part, (AllOf, AnyOf)) and len(part.parts) > 1 else text
             for part, text in zip(condition.parts, texts, strict=True)]
    return joiner.join(texts)


def _operand_text(operand: object, thresholds: Mapping[str, int]) -> str:
    if isinstance(operand, ThresholdRef):
        return f"{operand.name} ({thresholds.get(operand.name, '?')})"
    if operand is None:
        return "null"
    if isinstance(operand, bool):
        return "true" if operand else "false"
    if isinstance(operand, (list, tuple)):
        return "[" + ", ".join(_operand_text(item, thresholds) for item in operand) + "]"
    return str(operand)
