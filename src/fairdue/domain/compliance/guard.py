"""Pick the guard for a profile: one place that knows which ledger class serves which profile."""

from __future__ import annotations

from fairdue.domain.compliance.cn import CnLedger
from fairdue.domain.compliance.profiles import CnParameters, Profile, get_profile
from fairdue.domain.compliance.regf import RegfLedger


def new_ledger(profile: str | Profile) -> CnLedger | RegfLedger:
    """A fresh, empty guard for `profile` (a built-in name such as "cn" or a Profile value)."""
    chosen = get_profile(profile) if isinstance(profile, str) else profile
    if isinstance(chosen.parameters, CnParameters):
        return CnLedger(chosen)
    return RegfLedger(chosen)
