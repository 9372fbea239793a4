"""The contact policy: which case is contacted today, how, and by which step (S1-S7, S18).

Pure domain code: a policy arrives as a `PolicySpec` (the YAML adapter builds one from a
file), `compile_policy` checks it against the fact table and turns every condition into a
closure once, and `Policy.decide(facts)` walks the steps for one case. Nothing here reads a
clock, the environment, a file or a random source; champion/challenger assignment is a hash.
"""

from fairdue.domain.policy.conditions import OPERATORS
from fairdue.domain.policy.experiment import assign_variant
from fairdue.domain.policy.facts import (
    CHANNEL_NEEDS,
    CHANNELS,
    FACTS,
    PROTECTED_ATTRIBUTES,
    CaseFacts,
    FactInfo,
    Kind,
)
from fairdue.domain.policy.model import (
    ACTION_KINDS,
    Action,
    ActionSpec,
    AllOf,
    AnyOf,
    Compare,
    Condition,
    ExperimentSpec,
    Not,
    Path,
    PolicyDecision,
    PolicyInvalid,
    PolicySpec,
    SpecProblem,
    StepSpec,
    ThresholdRef,
    VariantSpec,
)
from fairdue.domain.policy.policy import (
    ExperimentInfo,
    Policy,
    StepInfo,
    VariantInfo,
    check_condition,
    compile_policy,
)

__all__ = [
    "ACTION_KINDS", "CHANNELS", "CHANNEL_NEEDS", "FACTS", "OPERATORS", "PROTECTED_ATTRIBUTES",
    "Action", "ActionSpec", "AllOf", "AnyOf", "CaseFacts", "Compare", "Condition",
    "ExperimentInfo", "ExperimentSpec", "FactInfo", "Kind", "Not", "Path", "Policy",
    "PolicyDecision", "PolicyInvalid", "PolicySpec", "SpecProblem", "StepInfo", "StepSpec",
    "ThresholdRef", "VariantInfo", "VariantSpec", "assign_variant", "check_condition",
    "compile_policy",
]
