"""The compliance profiles: which rules apply, with which numbers, from which source.

A profile is data, not code: the numbers sit in a frozen parameters object so that a number
seen only in a secondary source (status S) can be changed without touching the engine, and
each rule says how sure we are of its source (V: read in the primary text; S: seen only in
secondary sources) and what enforces it (the contact guard, the text check, or records kept
elsewhere), so an auditor can see at a glance what the guard does and does not cover.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time
from typing import Literal

from fairdue.errors import InvalidInput

Status = Literal["V", "S"]
Enforcement = Literal["guard", "text", "records", "process"]


@dataclass(frozen=True, slots=True)
class RuleInfo:
    """One named rule of a profile, its source and how sure we are of it."""

    id: str
    title: str
    source: str
    status: Status
    enforced_by: Enforcement


@dataclass(frozen=True, slots=True)
class CnParameters:
    """Numbers of the `cn` profile (GB/T 45251-2025, CBA 2026 guideline); all status S.

    `unreachable_failed_attempts` / `unreachable_min_days` define when the debtor counts as
    unreachable (which alone opens contact with a third party): that many proactive attempts
    in a row to the debtor, on any channel, none of which reached them, spread over at least
    that many local days, with no conversation and no inbound contact since. An operator can
    also mark the debtor unreachable (`DebtorInfo.unreachable`).
    """

    quiet_start: time = time(22, 0)
    quiet_end: time = time(8, 0)
    max_conversations_per_day: int = 3
    max_unanswered_per_number_per_day: int = 6
    min_visit_collectors: int = 2
    unreachable_failed_attempts: int = 10
    unreachable_min_days: int = 3
    dispute_halts: bool = True
    default_timezone: str = "Asia/Shanghai"

    def __post_init__(self) -> None:
        for name in (
            "max_conversations_per_day", "max_unanswered_per_number_per_day",
            "min_visit_collectors", "unreachable_failed_attempts", "unreachable_min_days",
        ):
            if getattr(self, name) < 1:
                raise InvalidInput(f"cn parameter {name} must be at least 1")


@dataclass(frozen=True, slots=True)
class RegfParameters:
    """Numbers of Regulation F (12 CFR 1006).

    Convenient hours are `earliest` to `latest` inclusive (1006.6(b)(1)(i): not before 8 a.m.
    and not after 9 p.m.). Days are counted on the debtor's local calendar, the day of a
    conversation or consent being day 1 of its seven.
    """

    earliest: time = time(8, 0)
    latest: time = time(21, 0)
    max_calls: int = 7
    window_days: int = 7
    conversation_wait_days: int = 7
    consent_days: int = 7
    third_party_contacts: int = 1
    default_timezone: str = "America/New_York"

    def __post_init__(self) -> None:
        for name in (
            "max_calls", "window_days", "conversation_wait_days", "consent_days",
            "third_party_contacts",
        ):
            if getattr(self, name) < 1:
                raise InvalidInput(f"us-regf parameter {name} must be at least 1")


@dataclass(frozen=True, slots=True)
class Profile:
    """A named set of rules with its parameters."""

    name: str
    rules: tuple[RuleInfo, ...]
    parameters: CnParameters | RegfParameters

    def rule(self, rule_id: str) -> RuleInfo:
        """The rule with that id; an unknown id is a programming error worth a clear message."""
        for info in self.rules:
            if info.id == rule_id:
                return info
        raise InvalidInput(f"profile {self.name} has no rule {rule_id!r}")


CN_RULES: tuple[RuleInfo, ...] = (
    RuleInfo("CN-01", "No contact in the quiet window (22:00-08:00 local) unless agreed",
             "GB/T 45251-2025; CBA consumer-loan collection guideline 2026", "S", "guard"),
    RuleInfo("CN-02", "At most 3 proactive connected conversations per debtor per local day, "
             "all agencies together", "GB/T 45251-2025", "S", "guard"),
    RuleInfo("CN-03", "At most 6 unanswered dials per number per local day",
             "CBA 2026 guideline", "S", "guard"),
    RuleInfo("CN-04", "Third parties only when the debtor is unreachable; never reveal the debt",
             "GB/T 45251-2025; card measures (2011) art. 68", "S", "guard"),
    RuleInfo("CN-05", "No threats, insults, impersonation, false consequences, fake blacklists, "
             "pushing to borrow anew; collection of a disputed debt pauses until checked",
             "CBA 2026 guideline; Civil Code; Criminal Law art. 293-1", "S", "text"),
    RuleInfo("CN-06", "Field visits by at least 2 collectors", "CBA 2026 guideline art. 22",
             "S", "guard"),
    RuleInfo("CN-07", "Keep collection records at least 5 years", "NIFA convention 2018",
             "S", "records"),
    RuleInfo("CN-08", "Tell the borrower before placing the debt with an agency",
             "consumer-protection measures art. 41", "S", "process"),
    RuleInfo("CN-09", "Automated decisions transparent; explanation on request",
             "PIPL art. 24", "V", "records"),
    RuleInfo("CN-10", "Personal information handled on a lawful basis, kept only as needed",
             "PIPL arts. 13, 19, 21, 23, 25, 28-29, 55-56", "V", "process"),
    RuleInfo("CN-11", "No disturbing private life by a medium the debtor refused",
             "Civil Code arts. 1032-1033", "V", "guard"),
    RuleInfo("CN-12", "Collection contact pauses during a complaint, a hardship pause, a grace "
             "period or a do-not-contact flag, until lifted",
             "seed S13-S15; CBA 2026 guideline", "S", "guard"),
)

# The rules document gives no status column for us-regf. US-01 (1006.14(b)(2)) was read in
# the regulation text itself; US-02 was checked against the official interpretation's
# comments 14(b)(3)(i)-3 and 14(b)(3)(ii)-1 (and US-03's several-debts part against 14(b)(4)-2,
# its ringless-voicemail part not yet), whose dated examples, with those of 14(b)(2)(ii)-1,
# tests/unit/compliance/test_regf_official_examples.py replays; the rest
# are encoded from the CFPB's FAQs and commentary summaries and are marked S until someone
# checks them against the eCFR text.
REGF_RULES: tuple[RuleInfo, ...] = (
    RuleInfo("US-01", "No more than 7 calls in 7 days per person per debt; no call within 7 "
             "days of a telephone conversation", "12 CFR 1006.14(b)(2)", "V", "guard"),
    RuleInfo("US-02", "Calls with direct prior consent (7 days) and calls that never connect "
             "are not counted", "12 CFR 1006.14(b)(3)", "V", "guard"),
    RuleInfo("US-03", "Ringless voicemail counts, SMS and email do not; several debts",
             "comments to 12 CFR 1006.14(b)", "S", "guard"),
    RuleInfo("US-04", "No contact before 08:00 or after 21:00 at every possible location",
             "12 CFR 1006.6(b)(1)(i)", "S", "guard"),
    RuleInfo("US-05", "Cease communication after a refusal or cease request",
             "12 CFR 1006.6(c)", "S", "guard"),
    RuleInfo("US-06", "Third parties: location information only, each third party once",
             "12 CFR 1006.6(d), 1006.10", "S", "guard"),
    RuleInfo("US-07", "Limited-content voicemail carries only the allowed items",
             "12 CFR 1006.2(j)", "S", "text"),
    RuleInfo("US-08", "Every email and SMS carries an opt-out; opt-outs honoured per medium",
             "12 CFR 1006.6(e)", "S", "guard"),
    RuleInfo("US-09", "Say it is a debt collector", "12 CFR 1006.18(e)", "S", "text"),
    RuleInfo("US-10", "Validation notice; a dispute halts collection until answered",
             "12 CFR 1006.34, 1006.38", "S", "guard"),
    RuleInfo("US-11", "Never sue or threaten suit on a time-barred debt",
             "12 CFR 1006.26(b)", "S", "text"),
    RuleInfo("US-12", "Keep records 3 years after last activity", "12 CFR 1006.100",
             "S", "records"),
    RuleInfo("US-13", "No discrimination in collection procedures", "Reg B 1002.2(m), 1002.4(a)",
             "S", "process"),
    RuleInfo("US-14", "Collection contact pauses during a complaint, a hardship pause, a grace "
             "period or a do-not-contact flag, until lifted", "12 CFR 1006.6(c); lender policy",
             "S", "guard"),
)

CN = Profile("cn", CN_RULES, CnParameters())
US_REGF = Profile("us-regf", REGF_RULES, RegfParameters())

PROFILES: dict[str, Profile] = {CN.name: CN, US_REGF.name: US_REGF}


def get_profile(name: str) -> Profile:
    """The built-in profile called `name`; an unknown name lists the known ones."""
    try:
        return PROFILES[name]
    except KeyError:
        known = ", ".join(sorted(PROFILES))
        raise InvalidInput(
            f"unknown compliance profile {name!r}; known profiles: {known}"
        ) from None
