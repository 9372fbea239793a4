"""A compiled contact policy: steps walked in order on a case's facts, giving today's actions.

The walk: each step whose condition holds fires and adds its actions; the walk stops at the
first step that fires unless that step says `continue: true`. Three rules hold whatever the
policy says:
- no action on a channel the borrower lacks (no phone for sms/call, no email, no app for
  push) or opted out of; a step whose every action is dropped so does not fire;
- at most one action per kind a day: the earliest step that fires wins;
- a `pause` fired ends the walk and is the whole decision: no contact that day.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from fairdue.domain.compliance.profiles import PROFILES
from fairdue.domain.policy.conditions import ConditionCompiler, Test, reads, render
from fairdue.domain.policy.experiment import assign_variant
from fairdue.domain.policy.facts import (
    CHANNEL_NEEDS,
    FACTS,
    CaseFacts,
    Kind,
    fact_value_for_record,
)
from fairdue.domain.policy.model import (
    ACTION_KINDS,
    MESSAGE_KINDS,
    Action,
    ActionSpec,
    Condition,
    PolicyDecision,
    PolicyInvalid,
    PolicySpec,
    SpecProblem,
    StepSpec,
)

Reader = Callable[[CaseFacts], object]
_STEP_ID = re.compile(r"^[a-z][a-z0-9_-]*$")
_VISIT_GROUNDS = ("S5", "S6", "S7")


@dataclass(frozen=True, slots=True)
class StepInfo:
    """A step as a reader sees it: id, its condition as text, its actions, whether it continues."""

    id: str
    when: str
    actions: tuple[Action, ...]
    continue_: bool
    description: str | None = None


@dataclass(frozen=True, slots=True)
class VariantInfo:
    name: str
    share: int
    thresholds: Mapping[str, int]  # the overrides only
    own_steps: bool  # True when the variant replaces the policy's steps


@dataclass(frozen=True, slots=True)
class ExperimentInfo:
    name: str
    variants: tuple[VariantInfo, ...]


@dataclass(frozen=True, slots=True)
class _Step:
    id: str
    test: Test
    actions: tuple[tuple[Action, str | None], ...]  # each action with the fact it needs
    continue_: bool
    pause: bool


@dataclass(frozen=True, slots=True)
class _Program:
    steps: tuple[_Step, ...]
    reads_upto: tuple[tuple[tuple[str, Reader], ...], ...]  # (name, reader) for steps 0..i
    info: tuple[StepInfo, ...]
    # The names among reads_upto[i] whose values are sets, recorded as sorted tuples: the
    # only values `fact_value_for_record` changes, so the others are not passed through it
    # (a decision records some twenty facts, a run makes a hundred thousand decisions).
    set_reads_upto: tuple[tuple[str, ...], ...]


class Policy:
    """An immutable, compiled policy. Build one with `compile_policy` (or the YAML loader)."""

    __slots__ = ("_experiment", "_programs", "_shares", "description", "experiment", "locale",
                 "name", "profile", "steps", "thresholds", "version")
    version: str  # sha256 of the policy text
    name: str
    profile: str  # the compliance profile it is written for
    locale: str  # the language of its templates
    description: str | None
    thresholds: Mapping[str, int]
    experiment: ExperimentInfo | None
    steps: tuple[StepInfo, ...]  # the steps of the first variant (or of the policy)
    _programs: dict[str | None, _Program]
    _experiment: str | None
    _shares: tuple[tuple[str, int], ...]

    def __init__(self, *, version: str, spec: PolicySpec, programs: Mapping[str | None, _Program],
                 experiment: ExperimentInfo | None) -> None:
        first = None if experiment is None else experiment.variants[0].name
        values: dict[str, object] = {
            "version": version, "name": spec.name, "profile": spec.profile, "locale": spec.locale,
            "description": spec.description,
            "thresholds": MappingProxyType(dict(spec.thresholds)), "experiment": experiment,
            "_programs": dict(programs), "_experiment": experiment.name if experiment else None,
            "_shares": tuple((v.name, v.share) for v in experiment.variants) if experiment else (),
            "steps": programs[first].info,
        }
        for name, value in values.items():
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"a Policy is immutable; cannot set {name}")

    def variant_for(self, case_id: str) -> str | None:
        """The experiment variant of a case (None when the policy has no experiment)."""
        if self._experiment is None:
            return None
        return assign_variant(case_id, self._experiment, self._shares)

    def steps_of(self, variant: str | None) -> tuple[StepInfo, ...]:
        """The steps a variant walks (None: the policy without an experiment)."""
        return self._programs[variant].info

    def decide(self, facts: CaseFacts) -> PolicyDecision:
        """Today's actions for one case: walk the steps of the case's variant in order."""
        if self._experiment is None:
            variant = None
            program = self._programs[None]
        else:
            variant = assign_variant(facts.case_id, self._experiment, self._shares)
            program = self._programs[variant]
        chosen: list[Action] = []
        fired: list[str] = []
        kinds: set[str] = set()
        opted_out = facts.opted_out
        last = 0
        for index, step in enumerate(program.steps):
            last = index
            if not step.test(facts):
                continue
            if step.pause:
                chosen = [step.actions[0][0]]
                fired = [step.id]
                break
            took = False
            for action, needs in step.actions:
                kind = action.kind
                if kind in kinds or kind in opted_out or (needs is not None and
                                                          not getattr(facts, needs)):
                    continue
                chosen.append(action)
                kinds.add(kind)
                took = True
            if took:
                fired.append(step.id)
                if not step.continue_:
                    break
        used = {name: read(facts) for name, read in program.reads_upto[last]}
        for name in program.set_reads_upto[last]:
            used[name] = fact_value_for_record(used[name])
        return PolicyDecision(self.version, variant, fired[0] if fired else None, tuple(chosen),
                              used, tuple(fired))


def compile_policy(spec: PolicySpec, *, version: str,
                   extra_protected: Iterable[str] = ()) -> Policy:
    """Check a policy spec and compile it; raise `PolicyInvalid` listing every problem."""
    protected = frozenset(name.lower() for name in extra_protected)
    problems: list[SpecProblem] = []
    if spec.profile not in PROFILES:
        problems.append(SpecProblem(("profile",), f"unknown compliance profile '{spec.profile}'; "
                                                  f"known profiles: {', '.join(sorted(PROFILES))}"))
    used: set[str] = set()
    programs: dict[str | None, _Program] = {}
    experiment: ExperimentInfo | None = None
    base = _program(spec.steps, spec.thresholds, protected, problems,
                    used if spec.experiment is None or
                    any(v.steps is None for v in spec.experiment.variants) else set())
    if spec.experiment is None:
        programs[None] = base
    else:
        exp = spec.experiment
        if len(exp.variants) < 2:
            problems.append(SpecProblem((*exp.path, "variants"),
                                        "an experiment needs at least two variants "
                                        "(a champion and a challenger)"))
        total = sum(v.share for v in exp.variants)
        if total != 100:
            problems.append(SpecProblem((*exp.path, "variants"),
                                        f"the variants' shares sum to {total}; they must sum to 100"))
        for variant in exp.variants:
            if not 1 <= variant.share <= 100:
                problems.append(SpecProblem((*variant.path, "share"),
                                            f"share {variant.share} must be a percentage from 1 to 100"))
            for name in variant.thresholds:
                if name not in spec.thresholds:
                    problems.append(SpecProblem(
                        (*variant.path, "thresholds", name),
                        f"variant '{variant.name}' overrides '{name}', which the policy does not "
                        f"declare under thresholds (declared: {', '.join(sorted(spec.thresholds))})"))
            merged = {**spec.thresholds, **variant.thresholds}
            if variant.steps is None:  # the policy's steps: checked once, below
                programs[variant.name] = _program(spec.steps, merged, protected, [], used)
            else:
                programs[variant.name] = _program(variant.steps, merged, protected, problems, used)
        experiment = ExperimentInfo(exp.name, tuple(
            VariantInfo(v.name, v.share, MappingProxyType(dict(v.thresholds)), v.steps is not None)
            for v in exp.variants))
    for name in spec.thresholds:
        if name not in used:
            problems.append(SpecProblem(spec.threshold_paths.get(name, ("thresholds", name)),
                                        f"threshold '{name}' is declared but no condition uses it "
                                        f"(write ${name} where it applies, or remove it)"))
    if problems:
        unique = tuple(dict.fromkeys(problems))
        raise PolicyInvalid(unique)
    return Policy(version=version, spec=spec, programs=programs, experiment=experiment)


def check_condition(condition: Condition, thresholds: Mapping[str, int],
                    extra_protected: Iterable[str] = ()) -> tuple[SpecProblem, ...]:
    """The problems of one condition alone (unknown or protected facts, bad operators...),
    for a linter that cannot compile the whole policy yet."""
    compiler = ConditionCompiler(thresholds, frozenset(name.lower() for name in extra_protected))
    compiler.compile(condition)
    return tuple(compiler.problems)


def _program(steps: tuple[StepSpec, ...], thresholds: Mapping[str, int],
             protected: frozenset[str], problems: list[SpecProblem], used: set[str]) -> _Program:
    compiler = ConditionCompiler(thresholds, protected)
    compiled: list[_Step] = []
    infos: list[StepInfo] = []
    reads_upto: list[tuple[tuple[str, Reader], ...]] = []
    seen_reads: dict[str, Reader | None] = {}
    seen_ids: dict[str, int] = {}
    if not steps:
        problems.append(SpecProblem(("steps",), "a policy needs at least one step"))
    for index, step in enumerate(steps):
        if not _STEP_ID.match(step.id):
            problems.append(SpecProblem((*step.path, "id"),
                                        f"step id '{step.id}' must be lower case letters, digits, "
                                        "'_' or '-', starting with a letter"))
        if step.id in seen_ids:
            problems.append(SpecProblem((*step.path, "id"),
                                        f"step id '{step.id}' is used twice (also step {seen_ids[step.id]})"))
        seen_ids.setdefault(step.id, index)
        test = compiler.compile(step.when)
        when = render(step.when, thresholds)
        actions = tuple(_action(spec, step, when, problems) for spec in step.actions)
        _check_step(step, problems)
        for name in reads(step.when):
            seen_reads.setdefault(name, FACTS[name].read if name in FACTS else None)
        for spec in step.actions:
            needs = CHANNEL_NEEDS.get(spec.kind)
            if needs is not None:
                seen_reads.setdefault(needs, FACTS[needs].read)
            if spec.kind != "pause":
                seen_reads.setdefault("opted_out", FACTS["opted_out"].read)
        reads_upto.append(tuple((name, read) for name, read in seen_reads.items() if read is not None))
        infos.append(StepInfo(step.id, when, actions, step.continue_, step.description))
        if test is not None:
            compiled.append(_Step(step.id, test,
                                  tuple((a, CHANNEL_NEEDS.get(a.kind)) for a in actions),
                                  step.continue_, any(a.kind == "pause" for a in actions)))
    problems.extend(compiler.problems)
    used.update(compiler.used_thresholds)
    upto = tuple(reads_upto) or ((),)
    sets = tuple(tuple(name for name, _ in reads if FACTS[name].kind is Kind.CHANNELS)
                 for reads in upto)
    return _Program(tuple(compiled), upto, tuple(infos), sets)


def _action(spec: ActionSpec, step: StepSpec, when: str, problems: list[SpecProblem]) -> Action:
    if spec.kind not in ACTION_KINDS:
        problems.append(SpecProblem((*spec.path, "kind"),
                                    f"unknown action '{spec.kind}'; use one of {', '.join(ACTION_KINDS)}"))
    if spec.kind in MESSAGE_KINDS and not spec.template:
        problems.append(SpecProblem(spec.path, f"the {spec.kind} action needs a template name"))
    if spec.priority and spec.kind not in ("call", "visit"):
        problems.append(SpecProblem((*spec.path, "priority"),
                                    "priority orders the call queue and visit proposals; "
                                    f"a {spec.kind} has none"))
    reason = spec.reason
    if spec.kind == "visit" and (not reason or not reason.startswith(_VISIT_GROUNDS)):
        problems.append(SpecProblem(
            spec.path + (("reason",) if reason else ()),
            "a visit is proposed only on the seed's grounds: its reason must start with S5 "
            "(large amount unpaid for long), S6 (unreachable) or S7 (refusals, broken promises)"))
    if reason:
        reason = f"{reason}: {when}"
    return Action(spec.kind, spec.template, spec.priority, reason, step.id)


def _check_step(step: StepSpec, problems: list[SpecProblem]) -> None:
    kinds = [a.kind for a in step.actions]
    if not kinds:
        problems.append(SpecProblem((*step.path, "actions"), "a step needs at least one action"))
    for kind in set(kinds):
        if kinds.count(kind) > 1:
            problems.append(SpecProblem((*step.path, "actions"),
                                        f"step '{step.id}' has {kinds.count(kind)} {kind} actions; "
                                        "one a day is the most a step may take"))
    if "pause" in kinds and len(kinds) > 1:
        problems.append(SpecProblem((*step.path, "actions"),
                                    "a pause means no contact today: it must be the step's only action"))
    if "pause" in kinds and step.continue_:
        problems.append(SpecProblem((*step.path, "continue"),
                                    "a pause ends the walk; 'continue: true' cannot apply to it"))
