"""Compliance guard: may this contact be made now, and if not, which rule says no and why.

Pure domain code: times and time-zone names come in as values, nothing reads the clock.
Build a guard with `new_ledger("cn")` or `new_ledger("us-regf")`, feed it the history with
`record(event)` and ask `judge(attempt)` (or `judge_planned(attempt)` before dialling).
Prohibited wording in messages is checked by `check_text`.
"""

from fairdue.domain.compliance.cn import CnLedger
from fairdue.domain.compliance.engine import NO_PARTICULAR_DEBT, ComplianceLedger
from fairdue.domain.compliance.guard import new_ledger
from fairdue.domain.compliance.lexicon import Category, Finding, check_text
from fairdue.domain.compliance.model import (
    ALLOWED,
    Attempt,
    Cease,
    Channel,
    Consent,
    DebtorInfo,
    Decision,
    Dispute,
    DisputeAnswered,
    Event,
    Inbound,
    OptOut,
    Outcome,
    Party,
)
from fairdue.domain.compliance.profiles import (
    CN,
    PROFILES,
    US_REGF,
    CnParameters,
    Profile,
    RegfParameters,
    RuleInfo,
    get_profile,
)
from fairdue.domain.compliance.regf import RegfLedger

__all__ = [
    "ALLOWED", "CN", "NO_PARTICULAR_DEBT", "PROFILES", "US_REGF", "Attempt", "Category", "Cease",
    "Channel", "CnLedger", "CnParameters", "ComplianceLedger", "Consent", "DebtorInfo",
    "Decision", "Dispute", "DisputeAnswered", "Event", "Finding", "Inbound", "OptOut",
    "Outcome", "Party", "Profile", "RegfLedger", "RegfParameters", "RuleInfo", "check_text",
    "get_profile", "new_ledger",
]
