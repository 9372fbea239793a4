"""The values a policy is made of and the decision it returns.

A loader (the YAML adapter) turns a file into a `PolicySpec`: plain values with, on every
part, the `path` it came from (keys and list indexes), so that each problem found while
compiling can be shown at its line. `compile_policy` turns the spec into a `Policy`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from fairdue.errors import InvalidInput

#: Where in the policy document a part came from: mapping keys and list indexes.
Path = tuple[str | int, ...]

#: What an action does: a message on a channel, a call task, a visit proposal, or a pause.
ACTION_KINDS: tuple[str, ...] = ("sms", "email", "push", "call", "visit", "pause")
MESSAGE_KINDS: frozenset[str] = frozenset({"sms", "email", "push"})


@dataclass(frozen=True, slots=True)
class Action:
    """One thing to do for a case today.

    `kind`: sms, email, push (a message with `template`), call (a task in the agents' queue,
    `priority` higher first), visit (a field-visit proposal, `reason` naming S5/S6/S7 and
    the thresholds that held) or pause (no collection contact today). `step` names the
    policy step that chose it.
    """

    kind: str
    template: str | None
    priority: int = 0
    reason: str | None = None
    step: str | None = None


@dataclass(frozen=True, slots=True)
class PolicyDecision:
    """What the policy chose for one case on one day, and what it read to choose it.

    `step` is the first step that fired (None: nothing to do today); `steps` all that fired,
    in order (several when a step says `continue: true`). `facts_used` holds only the facts
    the evaluated steps read, sets as sorted tuples.
    """

    policy_version: str
    variant: str | None
    step: str | None
    actions: tuple[Action, ...]
    facts_used: Mapping[str, object]
    steps: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ThresholdRef:
    """A named threshold used as an operand (`$visit_min_dpd` in a policy file)."""

    name: str


@dataclass(frozen=True, slots=True)
class Compare:
    """`fact op operand`: e.g. dpd gte $visit_min_dpd; `path` points at the fact, `op_path`
    at the operator."""

    fact: str
    op: str
    operand: object
    path: Path
    op_path: Path


@dataclass(frozen=True, slots=True)
class AllOf:
    """Every part holds (an empty list holds)."""

    parts: tuple[Condition, ...]
    path: Path


@dataclass(frozen=True, slots=True)
class AnyOf:
    """At least one part holds."""

    parts: tuple[Condition, ...]
    path: Path


@dataclass(frozen=True, slots=True)
class Not:
    """The part does not hold."""

    part: Condition
    path: Path


Condition = Compare | AllOf | AnyOf | Not


@dataclass(frozen=True, slots=True)
class ActionSpec:
    kind: str
    template: str | None
    priority: int
    reason: str | None
    path: Path


@dataclass(frozen=True, slots=True)
class StepSpec:
    id: str
    when: Condition
    actions: tuple[ActionSpec, ...]
    continue_: bool
    path: Path
    description: str | None = None


@dataclass(frozen=True, slots=True)
class VariantSpec:
    """One arm of an experiment: its traffic share (percent), threshold overrides, and its
    own steps (None: the policy's steps)."""

    name: str
    share: int
    thresholds: Mapping[str, int]
    steps: tuple[StepSpec, ...] | None
    path: Path


@dataclass(frozen=True, slots=True)
class ExperimentSpec:
    name: str
    variants: tuple[VariantSpec, ...]
    path: Path


@dataclass(frozen=True, slots=True)
class PolicySpec:
    name: str
    profile: str
    locale: str
    thresholds: Mapping[str, int]
    steps: tuple[StepSpec, ...]
    experiment: ExperimentSpec | None
    description: str | None = None
    threshold_paths: Mapping[str, Path] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SpecProblem:
    """Something wrong in a policy, at `path` in its document."""

    path: Path
    message: str


class PolicyInvalid(InvalidInput):
    """A policy cannot be used as written; `problems` says each thing wrong and where."""

    def __init__(self, problems: tuple[SpecProblem, ...]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{_show(p.path)}: {p.message}" for p in problems))


def _show(path: Path) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out or "(policy)"
