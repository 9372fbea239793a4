"""Policy files: YAML in, a compiled `Policy` out, or every problem with its line and column.

The text is composed into YAML nodes first (they carry the marks: line and column of every
key and value), then validated with pydantic for its shape, then its conditions are read
into the domain's values and compiled by `fairdue.domain.policy.compile_policy`. Every
problem, whichever stage finds it, is reported at the line of the key it concerns. The
format is described in docs/policy.md. The policy version is sha256 of the text.
"""

from __future__ import annotations

import hashlib
import types
import typing
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from fairdue.domain.policy import (
    ActionSpec,
    AllOf,
    AnyOf,
    Compare,
    Condition,
    ExperimentSpec,
    Not,
    Path,
    Policy,
    PolicyInvalid,
    PolicySpec,
    StepSpec,
    ThresholdRef,
    VariantSpec,
    check_condition,
    compile_policy,
)
from fairdue.errors import InvalidInput

DEFAULT_POLICY_SOURCE = "fairdue/policies/default.yaml"


@dataclass(frozen=True, slots=True)
class PolicyProblem:
    """One thing wrong in a policy file, at a 1-based line and column."""

    line: int
    column: int
    message: str


class PolicyFileError(InvalidInput):
    """A policy file cannot be used; `problems` lists each thing wrong with its line."""

    def __init__(self, source: str, problems: list[PolicyProblem]) -> None:
        self.source = source
        self.problems = problems
        super().__init__("\n".join(f"{source}:{p.line}:{p.column}: {p.message}" for p in problems))


class _Shape(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, populate_by_name=True)


class _ActionModel(_Shape):
    kind: str
    template: str | None = None
    priority: int = 0
    reason: str | None = None


class _StepModel(_Shape):
    id: str
    description: str | None = None
    when: Any = None
    actions: list[_ActionModel] = Field(min_length=1)
    continue_: bool = Field(default=False, alias="continue")


class _VariantModel(_Shape):
    share: int
    description: str | None = None
    thresholds: dict[str, int] = Field(default_factory=dict)
    steps: list[_StepModel] | None = None


class _ExperimentModel(_Shape):
    name: str = Field(min_length=1)
    description: str | None = None
    variants: dict[str, _VariantModel] = Field(min_length=2)


class _PolicyModel(_Shape):
    name: str = Field(min_length=1)
    description: str | None = None
    profile: str
    locale: str = "zh-CN"
    thresholds: dict[str, int] = Field(default_factory=dict)
    steps: list[_StepModel] = Field(min_length=1)
    experiment: _ExperimentModel | None = None


def policy_version(text: str) -> str:
    """The version of a policy: sha256 of its text (UTF-8), in hex."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def load_policy(text: str, *, source: str, extra_protected: Iterable[str] = ()) -> Policy:
    """Compile a policy file's text; raise `PolicyFileError` listing every problem.

    `extra_protected`: further field names no condition may read (S18), beyond gender, birth
    date, age, occupation, ethnicity and the others the domain lists.
    """
    policy, problems = _read(text, extra_protected)
    if policy is None:
        raise PolicyFileError(source, problems)
    return policy


def check_policy(text: str, source: str, extra_protected: Iterable[str] = ()) -> list[PolicyProblem]:
    """Every problem of a policy file, in line order; empty when it is valid."""
    return _read(text, extra_protected)[1]


def default_policy_text() -> str:
    """The text of the default policy shipped with fairdue (profile `cn`, zh-CN templates)."""
    return resources.files("fairdue.policies").joinpath("default.yaml").read_text(encoding="utf-8")


def load_default_policy() -> Policy:
    """The default policy, compiled."""
    return load_policy(default_policy_text(), source=DEFAULT_POLICY_SOURCE)


def _read(text: str, extra_protected: Iterable[str]) -> tuple[Policy | None, list[PolicyProblem]]:
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        data = loader.construct_document(root) if root is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        return None, [PolicyProblem(*where, f"not valid YAML: {exc.problem or exc.context}")]
    except yaml.YAMLError as exc:
        return None, [PolicyProblem(1, 1, f"not valid YAML: {exc}")]
    finally:
        loader.dispose()
    if root is None or not isinstance(data, dict):
        return None, [PolicyProblem(1, 1, "a policy is a YAML mapping with name, profile, "
                                          "thresholds and steps (see docs/policy.md)")]
    marks = _Marks(root)
    problems = marks.duplicate_keys()
    try:
        model = _PolicyModel.model_validate(data)
    except ValidationError as exc:
        problems += [marks.problem(tuple(error["loc"]), _explain(error)) for error in exc.errors()]
        found = _loose_conditions(data, frozenset(extra_protected))
        problems += [marks.problem(path, message) for path, message in found]
        return None, _sorted(problems)
    spec, found = _spec(model)
    problems += [marks.problem(path, message) for path, message in found]
    if problems:
        return None, _sorted(problems)
    try:
        policy = compile_policy(spec, version=policy_version(text), extra_protected=extra_protected)
    except PolicyInvalid as exc:
        return None, _sorted([marks.problem(p.path, p.message) for p in exc.problems])
    return policy, []


def _sorted(problems: list[PolicyProblem]) -> list[PolicyProblem]:
    return sorted(dict.fromkeys(problems), key=lambda p: (p.line, p.column))


class _Marks:
    """Finds the line and column of a path (keys and indexes) in the composed YAML nodes."""

    def __init__(self, root: Node) -> None:
        self.root = root

    def problem(self, path: Path, message: str) -> PolicyProblem:
        node: Node = self.root
        mark = node.start_mark
        for part in path:
            if isinstance(node, MappingNode):
                for key, value in node.value:
                    if isinstance(key, ScalarNode) and key.value == str(part):
                        mark, node = key.start_mark, value
                        break
                else:
                    break
            elif isinstance(node, SequenceNode) and isinstance(part, int) and part < len(node.value):
                node = node.value[part]
                mark = node.start_mark
            else:
                break
        return PolicyProblem(mark.line + 1, mark.column + 1, message)

    def duplicate_keys(self) -> list[PolicyProblem]:
        found: list[PolicyProblem] = []
        pending: list[Node] = [self.root]
        while pending:
            node = pending.pop()
            if isinstance(node, MappingNode):
                first: dict[str, int] = {}
                for key, value in node.value:
                    pending.append(value)
                    if not isinstance(key, ScalarNode):
                        continue
                    if key.value in first:
                        found.append(PolicyProblem(
                            key.start_mark.line + 1, key.start_mark.column + 1,
                            f"key '{key.value}' appears twice in this mapping (first at line "
                            f"{first[key.value]}); keep one"))
                    first.setdefault(key.value, key.start_mark.line + 1)
            elif isinstance(node, SequenceNode):
                pending.extend(node.value)
        return found


def _explain(error: Any) -> str:
    loc = tuple(error["loc"])
    where = _dotted(loc)
    kind = error["type"]
    if kind == "extra_forbidden":
        allowed = _keys_at(loc[:-1])
        hint = f"; allowed here: {', '.join(allowed)}" if allowed else ""
        return f"unknown key '{loc[-1]}'{hint}"
    if kind == "missing":
        return f"'{loc[-1]}' is required here"
    given = error.get("input")
    shown = f" (got {given!r})" if isinstance(given, (str, int, float, bool)) or given is None else ""
    return f"{where}: {error['msg']}{shown}"


def _dotted(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _keys_at(loc: tuple[Any, ...]) -> list[str]:
    """The keys the model at `loc` accepts (for 'unknown key' messages)."""
    shape: Any = _PolicyModel
    for part in loc:
        if isinstance(shape, type) and issubclass(shape, BaseModel):
            fields = {(f.alias or name): f.annotation for name, f in shape.model_fields.items()}
            if part not in fields:
                return []
            shape = fields[part]
        shape = _unwrap(shape, part)
    if isinstance(shape, type) and issubclass(shape, BaseModel):
        return [f.alias or name for name, f in shape.model_fields.items()]
    return []


def _unwrap(shape: Any, part: Any) -> Any:
    origin = typing.get_origin(shape)
    if origin in (typing.Union, types.UnionType):
        shape = next(arg for arg in typing.get_args(shape) if arg is not type(None))
        origin = typing.get_origin(shape)
    if origin is list and isinstance(part, int):
        return typing.get_args(shape)[0]
    if origin is dict and not isinstance(part, int):
        return typing.get_args(shape)[1]
    return shape


# --- From the validated shape to the domain's spec ----------------------------------------

_Found = list[tuple[Path, str]]


def _spec(model: _PolicyModel) -> tuple[PolicySpec, _Found]:
    found: _Found = []
    steps = _steps(model.steps, ("steps",), found)
    experiment = None
    if model.experiment is not None:
        base: Path = ("experiment",)
        variants = tuple(
            VariantSpec(name, variant.share, dict(variant.thresholds),
                        None if variant.steps is None else
                        _steps(variant.steps, (*base, "variants", name, "steps"), found),
                        (*base, "variants", name))
            for name, variant in model.experiment.variants.items())
        experiment = ExperimentSpec(model.experiment.name, variants, base)
    spec = PolicySpec(
        name=model.name, profile=model.profile, locale=model.locale,
        thresholds=dict(model.thresholds), steps=steps, experiment=experiment,
        description=model.description,
        threshold_paths={name: ("thresholds", name) for name in model.thresholds})
    return spec, found


def _loose_conditions(data: dict[Any, Any], extra_protected: frozenset[str]) -> _Found:
    """The conditions' own problems in a document whose shape is wrong elsewhere, so that a
    misspelt key never hides a protected attribute or an unknown fact."""
    raw = data.get("thresholds")
    thresholds = {k: v for k, v in raw.items() if isinstance(k, str) and type(v) is int} \
        if isinstance(raw, dict) else {}
    lists: list[tuple[Path, object]] = [(("steps",), data.get("steps"))]
    experiment = data.get("experiment")
    variants = experiment.get("variants") if isinstance(experiment, dict) else None
    if isinstance(variants, dict):
        lists += [(("experiment", "variants", str(name), "steps"), variant.get("steps"))
                  for name, variant in variants.items() if isinstance(variant, dict)]
    found: _Found = []
    for path, steps in lists:
        if not isinstance(steps, list):
            continue
        for index, step in enumerate(steps):
            if isinstance(step, dict) and step.get("when") is not None:
                condition = _condition(step["when"], (*path, index, "when"), found)
                found += [(p.path, p.message)
                          for p in check_condition(condition, thresholds, extra_protected)]
    return found


def _steps(models: list[_StepModel], path: Path, found: _Found) -> tuple[StepSpec, ...]:
    steps = []
    for index, step in enumerate(models):
        here = (*path, index)
        when = _condition(step.when, (*here, "when"), found) if step.when is not None \
            else AllOf((), (*here, "when"))
        actions = tuple(ActionSpec(a.kind, a.template, a.priority, a.reason, (*here, "actions", i))
                        for i, a in enumerate(step.actions))
        steps.append(StepSpec(step.id, when, actions, step.continue_, here, step.description))
    return tuple(steps)


def _condition(raw: object, path: Path, found: _Found) -> Condition:
    """A condition: a mapping whose entries all hold; `all`/`any` take a list, `not` one
    condition; any other key is a fact, with a value (equal), a list (in) or operators."""
    if isinstance(raw, list):
        return AllOf(tuple(_condition(item, (*path, i), found) for i, item in enumerate(raw)), path)
    if not isinstance(raw, dict) or not raw:
        found.append((path, "a condition is a mapping of facts to tests, e.g. "
                            "{dpd: {gte: 1}, has_email: true}, or all/any/not"))
        return AllOf((), path)
    parts: list[Condition] = []
    for key, value in raw.items():
        here = (*path, str(key))
        if key in ("all", "any"):
            if not isinstance(value, list) or not value:
                found.append((here, f"'{key}' takes a non-empty list of conditions"))
                continue
            inner = tuple(_condition(item, (*here, i), found) for i, item in enumerate(value))
            parts.append(AllOf(inner, here) if key == "all" else AnyOf(inner, here))
        elif key == "not":
            parts.append(Not(_condition(value, here, found), here))
        elif not isinstance(key, str):
            found.append((here, f"{key!r} is not a fact name; facts are names such as dpd"))
        elif isinstance(value, dict):
            if not value:
                found.append((here, f"'{key}' has no test; write e.g. {key}: {{gte: 1}}"))
            for op, operand in value.items():
                parts.append(Compare(key, str(op), _operand(operand), here, (*here, str(op))))
        elif isinstance(value, list):
            parts.append(Compare(key, "in", _operand(value), here, here))
        else:
            parts.append(Compare(key, "eq", _operand(value), here, here))
    return parts[0] if len(parts) == 1 else AllOf(tuple(parts), path)


def _operand(value: object) -> object:
    if isinstance(value, str) and value.startswith("$"):
        return ThresholdRef(value[1:])
    if isinstance(value, list):
        return tuple(_operand(item) for item in value)
    return value

