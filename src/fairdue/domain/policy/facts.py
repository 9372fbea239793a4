"""What a policy condition may read about a case: the facts, their kinds, and what it may not.

`CaseFacts` carries everything the daily run knows about one open case on one business
date. Nothing protected (S18: gender, birth date or age, occupation, ethnicity, ...) is in
it, and a condition naming a protected attribute is refused when the policy is loaded.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from operator import attrgetter

#: The channels a contact can take; the keys of the per-channel facts.
CHANNELS: tuple[str, ...] = ("sms", "email", "push", "call", "visit")

#: Attributes no policy may read (S18, Reg B 1002.2(m)); compared without regard to case.
PROTECTED_ATTRIBUTES: frozenset[str] = frozenset({
    "gender", "sex", "birth_date", "date_of_birth", "dob", "age", "occupation", "ethnicity",
    "race", "religion", "marital_status", "social_status", "national_origin", "nationality",
})


@dataclass(frozen=True, slots=True)
class CaseFacts:
    """Everything a condition may read about one open case on one business date."""

    case_id: str
    borrower_id: str
    dpd: int
    bucket: str
    amount_due_minor: int
    currency: str
    principal_outstanding_minor: int
    loans: int  # loans in arrears in the case
    case_age_days: int  # days since the case opened (0 on the first day)
    days_since_rpc: int | None  # last right-party contact; None = never
    consecutive_failures: Mapping[str, int]  # per channel: failed attempts since the last success
    failed_attempts_total: int  # consecutive failed attempts over all channels
    days_unreachable: int | None  # days every channel has failed in a row; None when reachable
    days_since_last: Mapping[str, int | None]  # per channel, last contact planned or made; None = never
    promises_kept: int
    promises_broken: int
    refusals: int
    active_plan: bool
    grace: bool
    open_dispute: bool
    open_complaint: bool
    has_phone: bool
    has_email: bool
    has_app: bool
    opted_out: frozenset[str]  # channels the borrower opted out of
    preferred_channels: frozenset[str]  # empty = no preference
    # Days until the next installment of the active, on-track plan; None = no such date.
    days_to_plan_due: int | None = None


class Kind(StrEnum):
    """The kind of a fact's value, which decides the operators a condition may apply to it."""

    NUMBER = "number"
    FLAG = "flag"
    TEXT = "text"
    CHANNELS = "channels"


@dataclass(frozen=True, slots=True)
class FactInfo:
    """One readable fact: its kind, how a missing value (None) compares, and what it means.

    `none_as` is the number a None stands for in comparisons: infinity for "never"
    (`days_since_*`), 0 for "reachable" (`days_unreachable`); None when the fact is never None.
    """

    name: str
    kind: Kind
    meaning: str
    read: Callable[[CaseFacts], object]
    none_as: float | None = None


def _field(name: str) -> Callable[[CaseFacts], object]:
    read: Callable[[CaseFacts], object] = attrgetter(name)  # C speed: read on every decision
    return read


def _per_channel(name: str, channel: str, missing: int | None) -> Callable[[CaseFacts], object]:
    def read(facts: CaseFacts) -> object:
        return getattr(facts, name).get(channel, missing)

    read.__name__ = f"read_{name}_{channel}"
    return read


_NEVER = float("inf")
_PLAIN: tuple[tuple[str, Kind, str, float | None], ...] = (
    ("dpd", Kind.NUMBER, "days past due of the oldest unpaid installment", None),
    ("bucket", Kind.TEXT, "the DPD bucket, e.g. M1", None),
    ("amount_due_minor", Kind.NUMBER, "amount due in minor units (fen, cents)", None),
    ("currency", Kind.TEXT, "ISO 4217 currency of the amounts, e.g. CNY", None),
    ("principal_outstanding_minor", Kind.NUMBER, "principal outstanding in minor units", None),
    ("loans", Kind.NUMBER, "loans in arrears in the case", None),
    ("case_age_days", Kind.NUMBER, "days since the case opened; 0 on its first day", None),
    ("days_since_rpc", Kind.NUMBER,
     "days since the last right-party contact; never counts as longer than any number", _NEVER),
    ("failed_attempts_total", Kind.NUMBER, "consecutive failed attempts over all channels", None),
    ("days_unreachable", Kind.NUMBER,
     "days every channel has failed in a row; 0 when reachable", 0.0),
    ("promises_kept", Kind.NUMBER, "promises to pay kept", None),
    ("promises_broken", Kind.NUMBER, "promises to pay broken", None),
    ("refusals", Kind.NUMBER, "conversations in which the borrower refused to pay", None),
    ("active_plan", Kind.FLAG, "a repayment plan is active and on track (nothing missed)", None),
    ("days_to_plan_due", Kind.NUMBER,
     "days until the next installment of the repayment plan on track; none counts as longer "
     "than any number", _NEVER),
    ("grace", Kind.FLAG, "a grace period is in force", None),
    ("open_dispute", Kind.FLAG, "the borrower disputes the debt and it is not answered", None),
    ("open_complaint", Kind.FLAG, "a complaint is open", None),
    ("has_phone", Kind.FLAG, "a phone number is known (SMS, calls)", None),
    ("has_email", Kind.FLAG, "an email address is known", None),
    ("has_app", Kind.FLAG, "the borrower has the app (push)", None),
    ("opted_out", Kind.CHANNELS, "channels the borrower opted out of", None),
    ("preferred_channels", Kind.CHANNELS, "channels the borrower prefers; empty = none", None),
)


def _build_facts() -> dict[str, FactInfo]:
    facts = {name: FactInfo(name, kind, meaning, _field(name), none_as)
             for name, kind, meaning, none_as in _PLAIN}
    for channel in CHANNELS:
        name = f"consecutive_failures.{channel}"
        facts[name] = FactInfo(name, Kind.NUMBER, f"failed {channel} attempts since the last success",
                               _per_channel("consecutive_failures", channel, 0))
        name = f"days_since_last.{channel}"
        facts[name] = FactInfo(
            name, Kind.NUMBER,
            f"days since the last {channel} planned or made; never counts as longer than any number",
            _per_channel("days_since_last", channel, None), _NEVER)
    return facts


#: Every fact a condition may read, by the name a policy file uses.
FACTS: Mapping[str, FactInfo] = _build_facts()

#: What each action kind needs the borrower to have; `visit` and `pause` need nothing.
CHANNEL_NEEDS: Mapping[str, str] = {"sms": "has_phone", "call": "has_phone", "email": "has_email",
                                    "push": "has_app"}


def is_protected(name: str, extra: frozenset[str] = frozenset()) -> bool:
    """Whether a fact name (or the part before its dot) names a protected attribute."""
    base = name.split(".", 1)[0].lower()
    return base in PROTECTED_ATTRIBUTES or base in extra or name.lower() in extra


def fact_value_for_record(value: object) -> object:
    """A fact's value as a decision records it: sets as sorted tuples, the rest unchanged."""
    if isinstance(value, frozenset):
        return tuple(sorted(value))
    return value
